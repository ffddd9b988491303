"""The alignment pipeline interface: documents in, LoRA adapter out.

The job code in ``alignd.alignments.tasks`` calls ``run_alignment`` inside a child process
and turns progress reports into database updates.
"""

import shutil
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import structlog

from alignd.config import Settings
from alignd.logging import get_logger

log = get_logger(__name__)


@dataclass
class SourceDocument:
    id: str
    filename: str
    text: str


@dataclass
class AlignmentSpec:
    project_id: str
    base_model: str
    documents: list[SourceDocument]
    # User-given hyperparameters; missing keys are chosen from the data size and device.
    hyperparameters: dict[str, Any]
    data_generator: str  # "extractive" or "teacher"
    # The project's folder: everything the pipeline writes goes below it.
    output_dir: Path
    # Benchmark questions of the project: pairs asking any of them are left out of training.
    exclude_questions: list[str] = field(default_factory=list)


@dataclass
class TrainingProgress:
    fraction: float  # 0.0 to 1.0 over data preparation and training
    step: int
    total_steps: int
    train_loss: float | None
    eval_loss: float | None
    eta_seconds: float | None
    phase: str  # "preparing_data", "training", "saving"


@dataclass
class AlignmentResult:
    adapter_dir: Path
    dataset_path: Path
    hyperparameters: dict[str, Any]  # every value used, defaults included
    dataset_stats: dict[str, Any]  # counts: documents, chunks, pairs, raw texts, train/validation
    metrics: dict[str, Any] = field(default_factory=dict)  # train_loss, eval_loss_before, eval_loss_after


class AlignmentStopped(Exception):
    """Raised when ``should_stop()`` turned true; nothing more is written after it."""


class EmptyDataset(ValueError):
    """The documents gave no training example."""


ProgressCallback = Callable[[TrainingProgress], None]
StopCheck = Callable[[], bool]


def run_alignment(
    settings: Settings, spec: AlignmentSpec, report: ProgressCallback, should_stop: StopCheck
) -> AlignmentResult:
    """Build the training data from the documents, train a LoRA adapter and save it below ``spec.output_dir``.

    Files of an earlier run in the same folder are replaced. Raises AlignmentStopped when
    ``should_stop()`` turns true, checked between chunks and between training steps.
    """
    from alignd.training.phases import run_phases

    with structlog.contextvars.bound_contextvars(alignment_id=spec.project_id):
        started = time.monotonic()
        log.info("training.started", base_model=spec.base_model, documents=len(spec.documents),
                 data_generator=spec.data_generator)
        result = run_phases(settings, spec, report, should_stop)
        log.info("training.saved", adapter_dir=str(result.adapter_dir), seconds=round(time.monotonic() - started, 1))
        return result


OUTPUT_NAMES = ("dataset.jsonl", "validation.jsonl", "checkpoints", "adapter", "adapter.tmp")


def clear_outputs(output_dir: Path) -> None:
    """Remove what an earlier, interrupted run of the pipeline wrote, and nothing else."""
    for name in OUTPUT_NAMES:
        path = output_dir / name
        if path.is_dir():
            shutil.rmtree(path)
        elif path.exists():
            path.unlink()
