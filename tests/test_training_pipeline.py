"""Real LoRA alignments of the tiny model (and of SmolLM2, marked slow) through ``run_alignment``."""

import json
import math
from pathlib import Path

import pytest
import torch
from peft import PeftModel
from safetensors.torch import load_file
from transformers import AutoModelForCausalLM, AutoTokenizer

from alignd.catalog import tiny
from alignd.catalog.service import ensure_checkpoint
from alignd.catalog.user_models import add_user_model
from alignd.config import Settings
from alignd.training.generators import TeacherNotConfigured
from alignd.training.teacher import TeacherFailed
from alignd.training.pipeline import (
    AlignmentResult,
    AlignmentSpec,
    AlignmentStopped,
    EmptyDataset,
    SourceDocument,
    TrainingProgress,
    run_alignment,
)
from teacher_server import run_teacher
from training_child import align_in_forkserver_child

HANDBOOK = """# Leave Policy

Every full-time employee receives twenty-five days of paid annual leave per calendar year.
Requests for leave are submitted at least two weeks before the first day of absence.

## Sick Leave

Sick leave is reported to the manager before the start of the working day. A medical certificate
is required when an absence lasts longer than three consecutive days.

## Carry-over

1. Up to five unused days may be carried over into the first quarter of the next year.
2. Days that are not used by the end of March expire.
3. Managers may approve exceptions in writing.
"""

SAFETY = """Safety Rules
============

A hazard is anything that can cause harm, such as chemicals, electricity or working at height.

1. Wear protective glasses in the laboratory at all times.
2. Store chemicals in labelled containers in the ventilated cabinet.
3. Report every accident to the safety officer on the same day.

In case of fire, leave the building by the nearest exit and gather at the assembly point in the car park.
Do not use the lifts. The fire wardens check that every room is empty.
"""

DOCUMENTS = [
    SourceDocument(id="doc_handbook", filename="handbook.md", text=HANDBOOK),
    SourceDocument(id="doc_safety", filename="safety.txt", text=SAFETY),
]


class ProgressLog:
    def __init__(self) -> None:
        self.reports: list[TrainingProgress] = []

    def __call__(self, progress: TrainingProgress) -> None:
        self.reports.append(progress)


def align(
    settings: Settings,
    output_dir: Path,
    hyperparameters: dict,
    base_model: str = "tiny-random-llama",
    generator: str = "extractive",
    documents: list[SourceDocument] | None = None,
    should_stop=lambda: False,  # type: ignore[no-untyped-def]
    progress: ProgressLog | None = None,
) -> AlignmentResult:
    spec = AlignmentSpec(
        project_id="alignment_test",
        base_model=base_model,
        documents=documents or DOCUMENTS,
        hyperparameters=hyperparameters,
        data_generator=generator,
        output_dir=output_dir,
    )
    return run_alignment(settings, spec, progress or ProgressLog(), should_stop)


@pytest.fixture(scope="module")
def module_settings(tmp_path_factory: pytest.TempPathFactory, model_cache_dir: Path) -> Settings:
    home = tmp_path_factory.mktemp("training-home")
    (home / "models").symlink_to(model_cache_dir, target_is_directory=True)
    return Settings(home=home)


@pytest.fixture(scope="module")
def two_step_run(
    module_settings: Settings, tmp_path_factory: pytest.TempPathFactory
) -> tuple[AlignmentResult, ProgressLog, Path]:
    output_dir = tmp_path_factory.mktemp("two-step") / "project"
    progress = ProgressLog()
    result = align(module_settings, output_dir, {"max_steps": 2}, progress=progress)
    return result, progress, output_dir


def test_two_step_alignment_writes_adapter(two_step_run) -> None:  # type: ignore[no-untyped-def]
    result, _progress, output_dir = two_step_run
    assert result.adapter_dir == output_dir / "adapter"
    assert (result.adapter_dir / "adapter_model.safetensors").is_file()
    assert json.loads((result.adapter_dir / "adapter_config.json").read_text())["peft_type"] == "LORA"


def test_two_step_alignment_outputs_stay_in_folder(two_step_run) -> None:  # type: ignore[no-untyped-def]
    _result, _progress, output_dir = two_step_run
    names = sorted(path.name for path in output_dir.iterdir())
    assert names == ["adapter", "checkpoints", "dataset.jsonl", "validation.jsonl"]
    assert [path.name for path in (output_dir / "checkpoints").iterdir()] == ["checkpoint-2"]


def test_two_step_alignment_dataset(two_step_run) -> None:  # type: ignore[no-untyped-def]
    result, _progress, output_dir = two_step_run
    records = [json.loads(line) for line in result.dataset_path.read_text().splitlines()]
    assert {record["kind"] for record in records} == {"pair", "text"}
    assert {record["document_id"] for record in records} == {"doc_handbook", "doc_safety"}
    assert result.dataset_stats["pairs"] == sum(record["kind"] == "pair" for record in records)
    validation = (output_dir / "validation.jsonl").read_text().splitlines()
    assert len(validation) == result.dataset_stats["validation_examples"]
    assert result.dataset_stats["validation_held_out"] is True


def test_two_step_alignment_hyperparameters(two_step_run) -> None:  # type: ignore[no-untyped-def]
    result, _progress, _output_dir = two_step_run
    assert result.hyperparameters == {
        "epochs": 5, "max_steps": 2, "learning_rate": 2e-4, "lora_r": 8, "lora_alpha": 16,
        "batch_size": 4, "max_seq_length": 256, "seed": 42,
    }


def test_two_step_alignment_metrics(two_step_run) -> None:  # type: ignore[no-untyped-def]
    result, _progress, _output_dir = two_step_run
    for name in ("train_loss", "eval_loss_before", "eval_loss_after"):
        assert math.isfinite(result.metrics[name]), name
    assert result.metrics["train_steps"] == 2


def test_two_step_alignment_progress(two_step_run) -> None:  # type: ignore[no-untyped-def]
    _result, progress, _output_dir = two_step_run
    phases = [report.phase for report in progress.reports]
    assert phases[0] == "preparing_data"
    assert "training" in phases
    assert phases[-1] == "saving"
    fractions = [report.fraction for report in progress.reports]
    assert fractions == sorted(fractions)
    assert fractions[-1] == 1.0
    last_training = [report for report in progress.reports if report.phase == "training"][-1]
    assert (last_training.step, last_training.total_steps) == (2, 2)
    assert last_training.train_loss is not None
    assert last_training.eval_loss is not None


def test_adapter_loads_on_base_model(two_step_run, module_settings: Settings) -> None:  # type: ignore[no-untyped-def]
    result, _progress, _output_dir = two_step_run
    checkpoint = ensure_checkpoint(module_settings, "tiny-random-llama")
    model = PeftModel.from_pretrained(AutoModelForCausalLM.from_pretrained(checkpoint), result.adapter_dir)
    tokenizer = AutoTokenizer.from_pretrained(result.adapter_dir)
    inputs = tokenizer("Sick leave is", return_tensors="pt")
    output = model.generate(**inputs, max_new_tokens=3, do_sample=False)
    assert output.shape[1] == inputs["input_ids"].shape[1] + 3


def test_same_seed_same_adapter(  # type: ignore[no-untyped-def]
    two_step_run, module_settings: Settings, tmp_path: Path
) -> None:
    first, _progress, _output_dir = two_step_run
    second = align(module_settings, tmp_path / "again", {"max_steps": 2})
    first_weights = load_file(first.adapter_dir / "adapter_model.safetensors")
    second_weights = load_file(second.adapter_dir / "adapter_model.safetensors")
    assert all(torch.equal(first_weights[name], second_weights[name]) for name in first_weights)


def test_rerun_replaces_earlier_outputs(module_settings: Settings, tmp_path: Path) -> None:
    output_dir = tmp_path / "project"
    (output_dir / "checkpoints" / "checkpoint-99").mkdir(parents=True)
    (output_dir / "sources").mkdir()
    align(module_settings, output_dir, {"max_steps": 1})
    assert [path.name for path in (output_dir / "checkpoints").iterdir()] == ["checkpoint-1"]
    assert (output_dir / "sources").is_dir()


def test_stop_between_training_steps(module_settings: Settings, tmp_path: Path) -> None:
    progress = ProgressLog()

    def stop_once_training() -> bool:
        return any(report.phase == "training" for report in progress.reports)

    with pytest.raises(AlignmentStopped, match="Stopped after training step 1 of 50"):
        align(
            module_settings, tmp_path / "project", {"max_steps": 50}, should_stop=stop_once_training, progress=progress
        )
    assert not (tmp_path / "project" / "adapter").exists()


def test_stop_while_preparing_data(module_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(AlignmentStopped, match="preparing the training data"):
        align(module_settings, tmp_path / "project", {"max_steps": 1}, should_stop=lambda: True)
    assert not (tmp_path / "project" / "dataset.jsonl").exists()


def test_empty_documents_fail(module_settings: Settings, tmp_path: Path) -> None:
    blank = [SourceDocument(id="doc_blank", filename="blank.txt", text="  \n\n ")]
    with pytest.raises(EmptyDataset):
        align(module_settings, tmp_path / "project", {"max_steps": 1}, documents=blank)


def test_teacher_without_endpoint_fails_fast(module_settings: Settings, tmp_path: Path) -> None:
    with pytest.raises(TeacherNotConfigured):
        align(module_settings, tmp_path / "project", {"max_steps": 1}, generator="teacher")
    assert not (tmp_path / "project").exists()


def test_teacher_alignment_uses_teacher_pairs(module_settings: Settings, tmp_path: Path) -> None:
    with run_teacher() as (url, log):
        teacher_settings = module_settings.model_copy(update={"teacher_url": url, "teacher_model": "teacher-1"})
        result = align(teacher_settings, tmp_path / "project", {"max_steps": 1}, generator="teacher")
    records = [json.loads(line) for line in result.dataset_path.read_text().splitlines()]
    assert {record["source"] for record in records if record["kind"] == "pair"} == {"teacher"}
    assert result.dataset_stats["pairs"] == len(log.requests)


def test_teacher_without_usable_pairs_fails(module_settings: Settings, tmp_path: Path) -> None:
    with run_teacher(content="Sorry, I cannot write questions today.") as (url, _log):
        teacher_settings = module_settings.model_copy(update={"teacher_url": url, "teacher_model": "teacher-1"})
        with pytest.raises(TeacherFailed, match="no usable question-answer pairs"):
            align(teacher_settings, tmp_path / "project", {"max_steps": 1}, generator="teacher")


def test_validation_loss_drops_after_training(module_settings: Settings, tmp_path: Path) -> None:
    hyperparameters = {"max_steps": 40, "learning_rate": 3e-3, "max_seq_length": 64, "batch_size": 4, "lora_r": 16}
    result = align(module_settings, tmp_path / "project", hyperparameters)
    assert result.metrics["eval_loss_after"] < result.metrics["eval_loss_before"] - 0.1


def test_registered_checkpoint_as_base_model(module_settings: Settings, tmp_path: Path) -> None:
    folder = tmp_path / "my-checkpoint"
    tiny.build_checkpoint(folder)
    add_user_model(module_settings, "house-model", folder)

    result = align(module_settings, tmp_path / "project", {"max_steps": 1}, base_model="house-model")

    adapter_config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"] == str(folder.resolve())


def test_alignment_in_forkserver_child(module_settings: Settings, tmp_path: Path) -> None:
    spec = AlignmentSpec(
        project_id="alignment_child",
        base_model="tiny-random-llama",
        documents=DOCUMENTS,
        hyperparameters={"max_steps": 1},
        data_generator="extractive",
        output_dir=tmp_path / "project",
    )
    exit_code = align_in_forkserver_child(module_settings, spec, tmp_path / "result.json")
    assert exit_code == 0
    result = json.loads((tmp_path / "result.json").read_text())
    assert Path(result["adapter_dir"], "adapter_model.safetensors").is_file()


@pytest.mark.slow
def test_smollm2_alignment_few_steps(module_settings: Settings, tmp_path: Path) -> None:
    hyperparameters = {"max_steps": 3, "max_seq_length": 64, "batch_size": 2}
    result = align(module_settings, tmp_path / "project", hyperparameters, base_model="nugen-flash-instruct")

    assert (result.adapter_dir / "adapter_model.safetensors").is_file()
    assert result.hyperparameters["max_steps"] == 3
    assert math.isfinite(result.metrics["eval_loss_after"])
    adapter_config = json.loads((result.adapter_dir / "adapter_config.json").read_text())
    assert adapter_config["base_model_name_or_path"].startswith(str(module_settings.model_cache_dir))
