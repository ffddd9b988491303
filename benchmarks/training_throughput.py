"""Training throughput: alignd's training path against a plain Trainer + peft baseline.

Run: .venv/bin/python benchmarks/training_throughput.py [--model tiny-random-llama] [--steps 30]
     [--batch-size 4] [--max-seq-length 256] [--repeats 3] [--output FILE]

Both contenders train the same LoRA configuration (rank, alpha, dropout, target modules,
learning rate, batch size, steps and seed) on the same examples. These are the training split
that alignd's extractive generator builds from the Markdown corpus shipped with the tiny
model (``catalog/assets/tiny_corpus.txt``), cut into one document per top-level heading.

- alignd: ``run_alignment``, which packs the tokenized examples into full blocks of
  ``--max-seq-length`` tokens.
- baseline: the transformers ``Trainer`` with peft, one example per row, padded to
  ``--max-seq-length`` (longer examples truncated), padding masked out of the loss.

The figure is training tokens per second: tokens that are not padding and that the model
trains on, divided by the time ``Trainer.train`` takes. The script reports it per
wall-clock second and per CPU second of this process, because on a shared machine
wall-clock time also counts waiting for a core. Runs alternate between the contenders so
that load from other processes hits them alike. Each figure is the median over ``--repeats``,
and the best run (highest tokens per second) is reported too.
"""

import argparse
import json
import statistics
import sys
import tempfile
import time
from dataclasses import asdict, dataclass
from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from torch.utils.data import Dataset
from transformers import AutoModelForCausalLM, AutoTokenizer, PrinterCallback, Trainer, TrainingArguments, set_seed

from alignd.catalog import tiny
from alignd.catalog.service import ensure_checkpoint
from alignd.config import Settings
from alignd.logging import configure_logging
from alignd.training.dataset import Example
from alignd.training.packing import ensure_chat_template, tokenize_example
from alignd.training.pipeline import AlignmentSpec, SourceDocument, run_alignment
from alignd.training.trainer import LORA_DROPOUT


@dataclass
class Measurement:
    contender: str
    tokens: int
    seconds: float
    cpu_seconds: float

    @property
    def tokens_per_second(self) -> float:
        return self.tokens / self.seconds

    @property
    def tokens_per_cpu_second(self) -> float:
        return self.tokens / self.cpu_seconds


def corpus_documents() -> list[SourceDocument]:
    text = tiny.CORPUS_PATH.read_text(encoding="utf-8")
    sections = ["# " + part if not part.startswith("# ") else part for part in text.split("\n# ") if part.strip()]
    return [
        SourceDocument(id=f"doc_{index:03d}", filename=f"section-{index:03d}.md", text=section)
        for index, section in enumerate(sections)
    ]


def run_alignd(settings: Settings, model: str, hyperparameters: dict, work_dir: Path) -> tuple[Measurement, Path]:
    spec = AlignmentSpec(
        project_id="alignment_benchmark",
        base_model=model,
        documents=corpus_documents(),
        hyperparameters=hyperparameters,
        data_generator="extractive",
        output_dir=work_dir,
    )
    result = run_alignment(settings, spec, lambda _progress: None, lambda: False)
    metrics = result.metrics
    measurement = Measurement(
        "alignd (packed blocks)", metrics["train_tokens"], metrics["train_seconds"], metrics["train_cpu_seconds"]
    )
    return measurement, result.dataset_path


class PaddedDataset(Dataset):
    """One example per row, padded to a fixed length, padding left out of the loss."""

    def __init__(self, token_lists: list[list[int]], length: int, pad_id: int) -> None:
        self.rows = []
        for ids in token_lists:
            ids = ids[:length]
            padding = length - len(ids)
            self.rows.append(
                {
                    "input_ids": torch.tensor(ids + [pad_id] * padding),
                    "attention_mask": torch.tensor([1] * len(ids) + [0] * padding),
                    "labels": torch.tensor(ids + [-100] * padding),
                }
            )

    def __len__(self) -> int:
        return len(self.rows)

    def __getitem__(self, index: int) -> dict[str, torch.Tensor]:
        return self.rows[index]


def run_baseline(checkpoint: Path, dataset_path: Path, hyperparameters: dict, work_dir: Path) -> Measurement:
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    ensure_chat_template(tokenizer)
    records = [json.loads(line) for line in dataset_path.read_text(encoding="utf-8").splitlines()]
    examples = [Example(**record) for record in records if record["split"] == "train"]
    token_lists = [tokenize_example(tokenizer, example) for example in examples]
    dataset = PaddedDataset(token_lists, hyperparameters["max_seq_length"], tokenizer.pad_token_id)

    set_seed(hyperparameters["seed"])
    model = AutoModelForCausalLM.from_pretrained(checkpoint, dtype=torch.float32)
    lora = LoraConfig(
        r=hyperparameters["lora_r"],
        lora_alpha=hyperparameters["lora_alpha"],
        lora_dropout=LORA_DROPOUT,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    model = get_peft_model(model, lora)

    trained_tokens = 0

    def count_tokens(module, args, kwargs):  # type: ignore[no-untyped-def]
        nonlocal trained_tokens
        if module.training:
            trained_tokens += int(kwargs["attention_mask"].sum())

    model.register_forward_pre_hook(count_tokens, with_kwargs=True)
    arguments = TrainingArguments(
        output_dir=str(work_dir),
        per_device_train_batch_size=hyperparameters["batch_size"],
        max_steps=hyperparameters["max_steps"],
        learning_rate=hyperparameters["learning_rate"],
        lr_scheduler_type="cosine",
        logging_steps=1,
        save_strategy="no",
        seed=hyperparameters["seed"],
        use_cpu=not torch.cuda.is_available(),
        report_to="none",
        disable_tqdm=True,
    )
    trainer = Trainer(model=model, args=arguments, train_dataset=dataset)
    trainer.remove_callback(PrinterCallback)
    started, cpu_started = time.monotonic(), time.process_time()
    trainer.train()
    return Measurement(
        "baseline (padded, no packing)", trained_tokens, time.monotonic() - started, time.process_time() - cpu_started
    )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--model", default="tiny-random-llama", help="Base model name from the catalog.")
    parser.add_argument("--steps", type=int, default=30, help="Optimizer steps per run.")
    parser.add_argument("--batch-size", type=int, default=4, help="Sequences per step.")
    parser.add_argument(
        "--max-seq-length", type=int, default=256, help="Block length (alignd) and padded length (baseline), in tokens."
    )
    parser.add_argument("--repeats", type=int, default=3, help="Runs of each contender; the median is reported.")
    parser.add_argument("--output", type=Path, default=None, help="Write the results as JSON to this file.")
    args = parser.parse_args()

    configure_logging("WARNING")
    settings = Settings()
    checkpoint = ensure_checkpoint(settings, args.model)
    hyperparameters = {
        "max_steps": args.steps, "batch_size": args.batch_size, "max_seq_length": args.max_seq_length,
        "learning_rate": 2e-4, "lora_r": 8, "lora_alpha": 16, "seed": 42,
    }
    runs: dict[str, list[Measurement]] = {"alignd": [], "baseline": []}
    with tempfile.TemporaryDirectory(prefix="alignd-bench-") as temp:
        for repeat in range(args.repeats):
            measured, dataset_path = run_alignd(settings, args.model, hyperparameters, Path(temp) / f"alignd-{repeat}")
            runs["alignd"].append(measured)
            baseline = run_baseline(checkpoint, dataset_path, hyperparameters, Path(temp) / f"baseline-{repeat}")
            runs["baseline"].append(baseline)
            print(f"repeat {repeat + 1}: " + ", ".join(
                f"{name} {runs[name][-1].tokens_per_second:.0f} tok/s" for name in runs), file=sys.stderr)

    summary = {}
    for name, measurements in runs.items():
        summary[name] = {
            "tokens_per_run": measurements[0].tokens,
            "tokens_per_second": statistics.median(m.tokens_per_second for m in measurements),
            "tokens_per_cpu_second": statistics.median(m.tokens_per_cpu_second for m in measurements),
            "best_tokens_per_second": max(m.tokens_per_second for m in measurements),
            "runs": [asdict(m) for m in measurements],
        }
    summary["ratio_wall"] = summary["alignd"]["tokens_per_second"] / summary["baseline"]["tokens_per_second"]
    summary["ratio_best"] = summary["alignd"]["best_tokens_per_second"] / summary["baseline"]["best_tokens_per_second"]
    summary["ratio_cpu"] = summary["alignd"]["tokens_per_cpu_second"] / summary["baseline"]["tokens_per_cpu_second"]
    summary["settings"] = {
        "model": args.model, "repeats": args.repeats, "torch_threads": torch.get_num_threads(), **hyperparameters
    }

    print(
        "| contender | training tokens per run | tokens/s (wall, median) | tokens/s (wall, best) "
        "| tokens/s (CPU, median) |"
    )
    print("|---|---|---|---|---|")
    for name in ("alignd", "baseline"):
        row = summary[name]
        print(
            f"| {runs[name][0].contender} | {row['tokens_per_run']} | {row['tokens_per_second']:.0f} "
            f"| {row['best_tokens_per_second']:.0f} | {row['tokens_per_cpu_second']:.0f} |"
        )
    print(
        f"\nalignd / baseline: {summary['ratio_wall']:.2f}x (wall, median), {summary['ratio_best']:.2f}x (wall, best), "
        f"{summary['ratio_cpu']:.2f}x (CPU, median)"
    )
    if args.output:
        args.output.write_text(json.dumps(summary, indent=2))


if __name__ == "__main__":
    main()
