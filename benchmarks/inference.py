"""Inference benchmark: alignd's serving engine against plain ``model.generate`` and llama.cpp.

Run: .venv/bin/python benchmarks/inference.py [--model smollm2-135m-instruct] [--max-tokens 128] [--repeats 5]

Measures the time to first token and the tokens per second on one prompt with greedy
decoding. The contenders are (a) alignd's TransformersEngine on the base model, (b) the same
engine through a LoRA adapter and (c) ``model.generate`` of transformers on the same
checkpoint. When llama-cpp-python is installed, (d) llama.cpp runs the GGUF file that the
checkpoint was converted from. Then the script reports the resident memory (RSS) of the
process with the base model alone, with one adapter and with five adapters deployed on it.

Runs alternate between the contenders so that load from other processes hits them alike;
each figure is the median of ``--repeats`` runs after one warm-up run.
"""

import argparse
import gc
import os
import statistics
import tempfile
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import psutil
import torch
from peft import LoraConfig, get_peft_model
from transformers import AutoModelForCausalLM, AutoTokenizer
from transformers.generation.streamers import BaseStreamer

from alignd.catalog.builtin import find_smollm2_gguf
from alignd.catalog.service import ensure_checkpoint, resolve_base_model
from alignd.config import Settings
from alignd.serving.engine import GenerationParams
from alignd.serving.transformers_engine import TransformersEngine

MESSAGES = [
    {"role": "system", "content": "You are a helpful assistant for the employees of a harbor company."},
    {"role": "user", "content": "Explain in a few sentences why mooring lines must be inspected regularly."},
]
MIB = 1024 * 1024


@dataclass
class Run:
    first_token_seconds: float
    tokens: int
    seconds: float
    # CPU time of this process until the first token and during the whole run. On a machine
    # shared with other work they show the cost of the run itself, where wall-clock time also
    # counts waiting for a core.
    first_token_cpu_seconds: float
    cpu_seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def tokens_per_cpu_second(self) -> float:
        return self.tokens / self.cpu_seconds


class FirstTokenTimer(BaseStreamer):
    """Records when ``generate`` pushes its first new token (its first ``put`` is the prompt)."""

    def __init__(self) -> None:
        self.calls = 0
        self.first_token_at: float | None = None
        self.first_token_cpu_at: float | None = None

    def put(self, value: torch.Tensor) -> None:
        self.calls += 1
        if self.calls == 2:
            self.first_token_at = time.perf_counter()
            self.first_token_cpu_at = time.process_time()

    def end(self) -> None:
        pass


def rss_mib() -> float:
    gc.collect()
    return psutil.Process().memory_info().rss / MIB


def make_adapters(checkpoint: Path, folder: Path, count: int, rank: int) -> list[Path]:
    """Save ``count`` LoRA adapters on every linear layer, like alignd's training, with random weights."""
    adapters = []
    for index in range(count):
        model = AutoModelForCausalLM.from_pretrained(checkpoint)
        config = LoraConfig(r=rank, lora_alpha=2 * rank, target_modules="all-linear")
        peft_model = get_peft_model(model, config)
        generator = torch.Generator().manual_seed(index)
        with torch.no_grad():
            for name, parameter in peft_model.named_parameters():
                if "lora_B" in name:
                    parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.01)
        target = folder / f"adapter-{index}"
        peft_model.save_pretrained(target)
        adapters.append(target)
        del model, peft_model
    return adapters


def run_engine(engine: TransformersEngine, model: str, max_tokens: int) -> Run:
    params = GenerationParams(max_tokens=max_tokens, temperature=0.0)
    cpu_start = time.process_time()
    start = time.perf_counter()
    first_token_at = first_token_cpu_at = None
    tokens = 0
    with engine.stream_chat(model, MESSAGES, params) as stream:
        for delta in stream:
            if first_token_at is None:
                first_token_at, first_token_cpu_at = time.perf_counter(), time.process_time()
            if delta.completion is not None:
                tokens = delta.completion.completion_tokens
    end, cpu_end = time.perf_counter(), time.process_time()
    return Run(
        (first_token_at or end) - start, tokens, end - start, (first_token_cpu_at or cpu_end) - cpu_start,
        cpu_end - cpu_start,
    )


def plain_generate_runner(checkpoint: Path, device: torch.device, max_tokens: int) -> Callable[[], Run]:
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    model = AutoModelForCausalLM.from_pretrained(checkpoint).to(device).eval()
    text = tokenizer.apply_chat_template(MESSAGES, add_generation_prompt=True, tokenize=False)
    inputs = tokenizer(text, add_special_tokens=False, return_tensors="pt").to(device)

    def run() -> Run:
        timer = FirstTokenTimer()
        cpu_start = time.process_time()
        start = time.perf_counter()
        with torch.inference_mode():
            output = model.generate(**inputs, max_new_tokens=max_tokens, do_sample=False, streamer=timer)
        end, cpu_end = time.perf_counter(), time.process_time()
        tokens = output.shape[1] - inputs["input_ids"].shape[1]
        return Run(
            (timer.first_token_at or end) - start, tokens, end - start,
            (timer.first_token_cpu_at or cpu_end) - cpu_start, cpu_end - cpu_start,
        )

    return run


def llama_cpp_runner(gguf: Path, max_tokens: int, threads: int) -> Callable[[], Run] | None:
    try:
        from llama_cpp import Llama
    except ImportError:
        print("llama.cpp: skipped, because llama-cpp-python is not installed (pip install llama-cpp-python).")
        return None
    llm = Llama(model_path=str(gguf), n_ctx=2048, n_threads=threads, verbose=False)

    def run() -> Run:
        cpu_start = time.process_time()
        start = time.perf_counter()
        first_token_at = first_token_cpu_at = None
        tokens = 0
        for chunk in llm.create_chat_completion(MESSAGES, max_tokens=max_tokens, temperature=0.0, stream=True):
            if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                if first_token_at is None:
                    first_token_at, first_token_cpu_at = time.perf_counter(), time.process_time()
                tokens += 1
        end, cpu_end = time.perf_counter(), time.process_time()
        # NOTE: llama-cpp-python streams one chunk per token, so counting chunks counts tokens.
        return Run(
            (first_token_at or end) - start, tokens, end - start, (first_token_cpu_at or cpu_end) - cpu_start,
            cpu_end - cpu_start,
        )

    return run


def median_run(runs: list[Run]) -> tuple[float, float, float, float, int]:
    return (
        statistics.median(run.first_token_seconds for run in runs),
        statistics.median(run.first_token_cpu_seconds for run in runs),
        statistics.median(run.tokens_per_second for run in runs),
        statistics.median(run.tokens_per_cpu_second for run in runs),
        round(statistics.median(run.tokens for run in runs)),
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--model", default="smollm2-135m-instruct", help="Catalog name of the base model.")
    parser.add_argument("--max-tokens", type=int, default=128, help="Tokens to generate per run.")
    parser.add_argument("--repeats", type=int, default=5, help="Measured runs per contender, after one warm-up.")
    parser.add_argument("--lora-rank", type=int, default=16, help="Rank of the benchmark's LoRA adapters.")
    parser.add_argument("--home", type=Path, default=None, help="alignd home (default: ALIGND_HOME or ~/.alignd).")
    args = parser.parse_args()

    settings = Settings(home=args.home) if args.home else Settings()
    settings.ensure_dirs()
    info = resolve_base_model(settings, args.model)
    checkpoint = ensure_checkpoint(settings, info.id)
    threads = torch.get_num_threads()
    print(f"model {info.id}, checkpoint {checkpoint}")
    print(f"torch {torch.__version__}, {threads} threads, {os.cpu_count()} CPUs, device {settings.device}")

    with tempfile.TemporaryDirectory(prefix="alignd-bench-") as scratch:
        adapters = make_adapters(checkpoint, Path(scratch), count=5, rank=args.lora_rank)
        adapter_mib = sum(f.stat().st_size for f in adapters[0].rglob("*") if f.is_file()) / MIB

        # Memory first, before this process loads a second copy of the model for model.generate.
        engine = TransformersEngine(settings)
        rss_empty = rss_mib()
        run_engine(engine, info.id, 8)
        rss_base = rss_mib()
        adapter_ids = [f"model_bench_{index}" for index in range(len(adapters))]
        engine.load_adapter(adapter_ids[0], info.id, adapters[0])
        run_engine(engine, adapter_ids[0], 8)
        rss_one = rss_mib()
        for model_id, folder in zip(adapter_ids[1:], adapters[1:], strict=True):
            engine.load_adapter(model_id, info.id, folder)
            run_engine(engine, model_id, 8)
        rss_five = rss_mib()

        contenders: dict[str, Callable[[], Run]] = {
            "alignd engine, base model": lambda: run_engine(engine, info.id, args.max_tokens),
            "alignd engine, LoRA adapter": lambda: run_engine(engine, adapter_ids[0], args.max_tokens),
            "transformers model.generate": plain_generate_runner(checkpoint, engine._store.device, args.max_tokens),
        }
        gguf = find_smollm2_gguf() if info.id == "smollm2-135m-instruct" else None
        llama = llama_cpp_runner(gguf, args.max_tokens, threads) if gguf else None
        if gguf is None:
            print("llama.cpp: skipped, because the model has no GGUF file.")
        if llama is not None:
            contenders["llama.cpp (llama-cpp-python)"] = llama

        runs: dict[str, list[Run]] = {name: [] for name in contenders}
        for name, run in contenders.items():
            run()  # warm-up
        for _ in range(args.repeats):
            for name, run in contenders.items():
                runs[name].append(run())
        engine.shutdown()

    _, _, plain_rate, plain_cpu_rate, _ = median_run(runs["transformers model.generate"])
    print()
    print(f"Speed: greedy, {args.max_tokens} new tokens at most, median of {args.repeats} runs")
    print()
    print("| contender | tokens | time to first token (ms) | CPU time to first token (ms) | tokens/s "
          "| ratio to model.generate | tokens per CPU second | ratio to model.generate |")
    print("|---|---|---|---|---|---|---|---|")
    for name, measured in runs.items():
        ttft, ttft_cpu, rate, cpu_rate, tokens = median_run(measured)
        print(f"| {name} | {tokens} | {ttft * 1000:.1f} | {ttft_cpu * 1000:.1f} | {rate:.1f} "
              f"| {rate / plain_rate:.2f} | {cpu_rate:.1f} | {cpu_rate / plain_cpu_rate:.2f} |")
    print()
    print(f"Memory: resident set size of the benchmark process; adapters of rank {args.lora_rank} on every linear "
          f"layer, {adapter_mib:.1f} MiB each on disk")
    print()
    print("| state | RSS (MiB) |")
    print("|---|---|")
    print(f"| engine constructed, nothing loaded | {rss_empty:.0f} |")
    print(f"| base model loaded | {rss_base:.0f} |")
    print(f"| base + 1 adapter | {rss_one:.0f} |")
    print(f"| base + 5 adapters | {rss_five:.0f} |")
    print(f"| cost per extra adapter | {(rss_five - rss_one) / 4:.1f} |")


if __name__ == "__main__":
    main()
