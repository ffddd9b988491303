"""The phases of an alignment run: prepare data, pack it, train, save the adapter."""

import os
import shutil
from collections import Counter
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from alignd.catalog.service import ensure_checkpoint, resolve_base_model
from alignd.config import Settings
from alignd.logging import get_logger
from alignd.training.chunking import chunk_document
from alignd.training.dataset import Example, pair_examples, split_validation, text_example, write_dataset
from alignd.training.defaults import choose_hyperparameters, chunk_token_budget, resolve_device, settle_max_steps
from alignd.training.generators import build_generator, check_generator
from alignd.training.packing import PackedDataset, ensure_chat_template, pack, tokenize_example
from alignd.training.pipeline import (
    AlignmentResult,
    AlignmentSpec,
    AlignmentStopped,
    EmptyDataset,
    ProgressCallback,
    StopCheck,
    TrainingProgress,
    clear_outputs,
)
from alignd.training.teacher import TeacherFailed

log = get_logger(__name__)

# Share of the progress fraction that each phase ends at.
DATA_DONE = 0.10
TRAINING_DONE = 0.95
HYPERPARAMETER_ORDER = (
    "epochs", "max_steps", "learning_rate", "lora_r", "lora_alpha", "batch_size", "max_seq_length", "seed"
)


@dataclass
class PreparedData:
    examples: list[Example]
    train: list[Example]
    validation: list[Example]
    held_out: bool
    chunks: int
    document_tokens: int
    hyperparameters: dict[str, Any]
    dataset_path: Path


def _progress(fraction: float, phase: str, step: int = 0, total: int = 0, **values: Any) -> TrainingProgress:
    return TrainingProgress(
        fraction=fraction,
        step=step,
        total_steps=total,
        train_loss=values.get("train_loss"),
        eval_loss=values.get("eval_loss"),
        eta_seconds=values.get("eta_seconds"),
        phase=phase,
    )


def prepare_data(  # type: ignore[no-untyped-def]
    settings: Settings,
    spec: AlignmentSpec,
    tokenizer,
    device: str,
    context_length: int,
    report: ProgressCallback,
    should_stop: StopCheck,
) -> PreparedData:
    """Chunk every document, generate pairs and raw texts, split off validation and write the JSONL files."""

    def count_tokens(text: str) -> int:
        return len(tokenizer(text, add_special_tokens=False)["input_ids"])

    document_tokens = sum(count_tokens(document.text) for document in spec.documents)
    hyperparameters = choose_hyperparameters(spec.hyperparameters, document_tokens, device, context_length)
    budget = chunk_token_budget(hyperparameters["max_seq_length"])

    generator = build_generator(settings, spec.data_generator)
    examples: list[Example] = []
    seen_questions: set[str] = set()
    chunk_total = 0
    try:
        for position, document in enumerate(spec.documents):
            chunks = chunk_document(document.id, document.text, count_tokens, budget)
            for chunk_position, chunk in enumerate(chunks, start=1):
                if should_stop():
                    raise AlignmentStopped("Stopped while preparing the training data.")
                pairs = generator.generate(chunk, document.filename)
                examples += pair_examples(chunk, pairs, spec.exclude_questions, seen_questions)
                examples.append(text_example(chunk, document.filename))
                chunk_total += 1
                done = (position + chunk_position / len(chunks)) / len(spec.documents)
                report(_progress(DATA_DONE * done, "preparing_data"))
    finally:
        generator.close()
    if not examples:
        raise EmptyDataset("The documents contain no text to train on.")
    if generator.name == "teacher" and not any(example.kind == "pair" for example in examples):
        raise TeacherFailed(
            f"The teacher model returned no usable question-answer pairs for any of {chunk_total} chunks. "
            "Check that it follows JSON instructions, or use the 'extractive' generator."
        )

    train, validation, held_out = split_validation(examples, hyperparameters["seed"])
    dataset_path = write_dataset(spec.output_dir, examples)
    log.info("training.data_ready", examples=len(examples), chunks=chunk_total, validation=len(validation))
    return PreparedData(
        examples, train, validation, held_out, chunk_total, document_tokens, hyperparameters, dataset_path
    )


def _dataset_stats(
    data: PreparedData, documents: int, train_set: PackedDataset, eval_set: PackedDataset
) -> dict[str, Any]:
    pairs = [example for example in data.examples if example.kind == "pair"]
    return {
        "documents": documents,
        "document_tokens": data.document_tokens,
        "chunks": data.chunks,
        "pairs": len(pairs),
        "raw_texts": len(data.examples) - len(pairs),
        "pairs_by_source": dict(Counter(example.source for example in pairs)),
        "train_examples": len(data.train),
        "validation_examples": len(data.validation),
        "validation_held_out": data.held_out,
        "train_blocks": len(train_set),
        "validation_blocks": len(eval_set),
        "block_size": len(train_set.blocks[0]),
        "train_tokens": train_set.token_count,
    }


def _save_adapter(model, tokenizer, output_dir: Path) -> Path:  # type: ignore[no-untyped-def]
    # Written beside and renamed, so an adapter folder that exists is always complete.
    adapter_dir, temp_dir = output_dir / "adapter", output_dir / "adapter.tmp"
    shutil.rmtree(temp_dir, ignore_errors=True)
    model.save_pretrained(temp_dir)
    tokenizer.save_pretrained(temp_dir)
    shutil.rmtree(adapter_dir, ignore_errors=True)
    os.rename(temp_dir, adapter_dir)
    return adapter_dir


def run_phases(
    settings: Settings, spec: AlignmentSpec, report: ProgressCallback, should_stop: StopCheck
) -> AlignmentResult:
    from transformers import AutoTokenizer

    from alignd.training.trainer import StepProgress, load_lora_model, train_lora

    report(_progress(0.0, "preparing_data"))
    check_generator(settings, spec.data_generator)
    info = resolve_base_model(settings, spec.base_model)
    device = resolve_device(settings.device)
    clear_outputs(spec.output_dir)
    checkpoint = ensure_checkpoint(settings, spec.base_model)
    tokenizer = AutoTokenizer.from_pretrained(checkpoint)
    ensure_chat_template(tokenizer)

    data = prepare_data(settings, spec, tokenizer, device, info.context_length, report, should_stop)
    seed = data.hyperparameters["seed"]
    block_size = data.hyperparameters["max_seq_length"]
    train_tokens = [tokenize_example(tokenizer, example) for example in data.train]
    validation_tokens = [tokenize_example(tokenizer, example) for example in data.validation]
    train_set = PackedDataset(pack(train_tokens, block_size, seed))
    eval_set = PackedDataset(pack(validation_tokens, block_size, seed))
    hyperparameters = settle_max_steps(data.hyperparameters, spec.hyperparameters, len(train_set), device)
    hyperparameters = {key: hyperparameters[key] for key in HYPERPARAMETER_ORDER}
    log.info("training.hyperparameters", device=device, **hyperparameters)

    def on_step(step: StepProgress) -> None:
        share = step.step / step.total_steps if step.total_steps else 0.0
        fraction = DATA_DONE + (TRAINING_DONE - DATA_DONE) * share
        report(_progress(fraction, "training", step.step, step.total_steps, train_loss=step.train_loss,
                         eval_loss=step.eval_loss, eta_seconds=step.eta_seconds))

    model, bf16 = load_lora_model(checkpoint, hyperparameters, device)
    outcome = train_lora(
        model, bf16, train_set, eval_set, hyperparameters, device, spec.output_dir / "checkpoints",
        on_step, should_stop,
    )
    if outcome.stopped:
        raise AlignmentStopped(f"Stopped after training step {outcome.steps} of {hyperparameters['max_steps']}.")

    total = hyperparameters["max_steps"]
    report(_progress(TRAINING_DONE, "saving", outcome.steps, total, train_loss=outcome.train_loss,
                     eval_loss=outcome.eval_loss_after, eta_seconds=0.0))
    adapter_dir = _save_adapter(model, tokenizer, spec.output_dir)
    metrics = {
        "train_loss": outcome.train_loss,
        "eval_loss_before": outcome.eval_loss_before,
        "eval_loss_after": outcome.eval_loss_after,
        "train_steps": outcome.steps,
        "train_seconds": round(outcome.seconds, 3),
        "train_cpu_seconds": round(outcome.cpu_seconds, 3),
        "train_tokens": outcome.trained_tokens,
        "train_tokens_per_second": round(outcome.trained_tokens / outcome.seconds, 1) if outcome.seconds > 0 else None,
    }
    report(_progress(1.0, "saving", outcome.steps, total, train_loss=outcome.train_loss,
                     eval_loss=outcome.eval_loss_after, eta_seconds=0.0))
    return AlignmentResult(
        adapter_dir=adapter_dir,
        dataset_path=data.dataset_path,
        hyperparameters=hyperparameters,
        dataset_stats=_dataset_stats(data, len(spec.documents), train_set, eval_set),
        metrics=metrics,
    )
