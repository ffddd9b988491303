"""Helpers for the serving and inference tests: LoRA adapters and deployed model rows."""

from pathlib import Path

import torch
from peft import LoraConfig, get_peft_model
from sqlalchemy import select
from transformers import AutoModelForCausalLM

from alignd.alignments.models import AlignmentProject, ModelStatus, ProjectStatus
from alignd.auth.models import User
from alignd.config import Settings
from alignd.db.engine import session_scope
from alignd.ids import aligned_model_id, new_id

TINY = "tiny-random-llama"


def make_adapter(checkpoint: Path, target: Path, seed: int) -> Path:
    """Save a LoRA adapter for the checkpoint with random, non-zero lora_B weights.

    peft starts lora_B at zero, so every adapter would generate the same text as the base model.
    """
    model = AutoModelForCausalLM.from_pretrained(checkpoint)
    peft_model = get_peft_model(model, LoraConfig(r=4, lora_alpha=8, target_modules=["q_proj", "v_proj"]))
    generator = torch.Generator().manual_seed(seed)
    with torch.no_grad():
        for name, parameter in peft_model.named_parameters():
            if "lora_B" in name:
                parameter.copy_(torch.randn(parameter.shape, generator=generator) * 0.5)
    peft_model.save_pretrained(target)
    return target


def user_id(settings: Settings, email: str) -> str:
    with session_scope(settings) as session:
        found = session.scalar(select(User.id).where(User.email == email))
    assert found is not None, f"no user {email}"
    return found


def insert_project(
    settings: Settings,
    owner_id: str,
    name: str = "Harbor rules",
    model_status: str = ModelStatus.DEPLOYED,
    conversation_saving: bool = False,
    deleting: bool = False,
) -> tuple[str, str]:
    """Insert a READY project row with the given model status; return (project id, model id).

    Stands in for the alignment and deploy routes, so the inference routes can be tested alone.
    """
    project_id = new_id("alignment")
    model_id = aligned_model_id(name, project_id)
    with session_scope(settings) as session:
        session.add(
            AlignmentProject(
                id=project_id,
                user_id=owner_id,
                name=name,
                base_model=TINY,
                status=ProjectStatus.READY,
                model_id=model_id,
                model_status=model_status,
                conversation_saving_enabled=conversation_saving,
                deleting=deleting,
            )
        )
    return project_id, model_id


def project_row(settings: Settings, project_id: str) -> AlignmentProject:
    with session_scope(settings) as session:
        project = session.get(AlignmentProject, project_id)
        assert project is not None
        session.expunge(project)
    return project


def build_test_adapters(model_cache_dir: Path, scratch_home: Path) -> dict[str, Path]:
    """Return two adapters for tiny-random-llama, built once per model cache; keys "first" and "second"."""
    from alignd.catalog.service import ensure_checkpoint

    models_dir = scratch_home / "models"
    if not models_dir.exists():
        scratch_home.mkdir(parents=True, exist_ok=True)
        models_dir.symlink_to(model_cache_dir, target_is_directory=True)
    checkpoint = ensure_checkpoint(Settings(home=scratch_home), TINY)
    adapters = {}
    for name, seed in (("first", 1), ("second", 2)):
        target = model_cache_dir / "test-adapters" / f"{TINY}-{checkpoint.name}-seed{seed}"
        if not (target / "adapter_config.json").is_file():
            make_adapter(checkpoint, target, seed)
        adapters[name] = target
    return adapters
