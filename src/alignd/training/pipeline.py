"""The alignment pipeline interface: documents in, LoRA adapter out.

The job code in ``alignd.alignments.tasks`` calls ``run_alignment`` inside a child process
and turns progress reports into database updates.
"""

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from alignd.config import Settings


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


ProgressCallback = Callable[[TrainingProgress], None]
StopCheck = Callable[[], bool]


def run_alignment(
    settings: Settings, spec: AlignmentSpec, report: ProgressCallback, should_stop: StopCheck
) -> AlignmentResult:
    raise NotImplementedError  # TODO: replaced by the training implementation.
