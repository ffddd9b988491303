"""LoRA training with the transformers Trainer on packed blocks."""

import math
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from transformers import TrainerCallback

from alignd.logging import get_logger
from alignd.training.packing import PackedDataset

log = get_logger(__name__)

LORA_DROPOUT = 0.05
REPORT_INTERVAL_SECONDS = 0.5


@dataclass
class StepProgress:
    step: int
    total_steps: int
    train_loss: float | None
    eval_loss: float | None
    eta_seconds: float | None


@dataclass
class TrainOutcome:
    train_loss: float
    eval_loss_before: float
    eval_loss_after: float
    steps: int
    stopped: bool
    seconds: float
    # CPU time of this process (all threads) during training. On a shared machine it shows the
    # cost of training itself, because wall-clock seconds also count waiting for a core.
    cpu_seconds: float
    trained_tokens: int


class _ProgressCallback(TrainerCallback):
    """Reports each logged step (throttled) and stops training between steps when asked."""

    def __init__(self, on_step: Callable[[StepProgress], None], should_stop: Callable[[], bool]) -> None:
        self.on_step = on_step
        self.should_stop = should_stop
        self.stopped = False
        self.started = time.monotonic()
        self.last_report = 0.0
        self.last_loss: float | None = None
        self.eval_loss: float | None = None

    def on_train_begin(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        self.started = time.monotonic()

    def on_step_end(self, args, state, control, **kwargs):  # type: ignore[no-untyped-def]
        if self.should_stop():
            self.stopped = True
            control.should_training_stop = True
        return control

    def on_log(self, args, state, control, logs=None, **kwargs):  # type: ignore[no-untyped-def]
        if logs and "loss" in logs:
            self.last_loss = float(logs["loss"])
        now = time.monotonic()
        last_step = state.global_step >= state.max_steps
        if now - self.last_report < REPORT_INTERVAL_SECONDS and not last_step:
            return
        self.last_report = now
        elapsed = now - self.started
        eta = elapsed / state.global_step * (state.max_steps - state.global_step) if state.global_step else None
        self.on_step(StepProgress(state.global_step, state.max_steps, self.last_loss, self.eval_loss, eta))


def trained_token_count(blocks: int, block_size: int, batch_size: int, steps: int) -> int:
    """Return the tokens that ``steps`` optimizer steps process; an epoch's last batch may be smaller."""
    full, rest = divmod(blocks, batch_size)
    batches = [batch_size] * full + ([rest] if rest else [])
    return sum(batches[step % len(batches)] for step in range(steps)) * block_size


def training_arguments(output_dir: Path, hp: dict[str, Any], device: str, bf16: bool):  # type: ignore[no-untyped-def]
    from transformers import TrainingArguments

    max_steps = hp["max_steps"]
    return TrainingArguments(
        output_dir=str(output_dir),
        per_device_train_batch_size=hp["batch_size"],
        per_device_eval_batch_size=hp["batch_size"],
        num_train_epochs=hp["epochs"],
        max_steps=max_steps,
        learning_rate=hp["learning_rate"],
        lr_scheduler_type="cosine",
        warmup_steps=min(10, max_steps // 10),
        weight_decay=0.0,
        logging_strategy="steps",
        logging_steps=1,
        eval_strategy="no",
        save_strategy="steps",
        # The Trainer also saves at the last step, so short runs get one checkpoint.
        save_steps=max(25, math.ceil(max_steps / 4)),
        save_total_limit=2,
        seed=hp["seed"],
        data_seed=hp["seed"],
        use_cpu=device == "cpu",
        bf16=bf16,
        report_to="none",
        disable_tqdm=True,
        remove_unused_columns=False,
        dataloader_num_workers=0,
        dataloader_pin_memory=device == "cuda",
    )


def load_lora_model(checkpoint_dir: Path, hp: dict[str, Any], device: str):  # type: ignore[no-untyped-def]
    """Load the base model and wrap it with fresh LoRA adapters on every linear layer; return (model, bf16)."""
    import torch
    from peft import LoraConfig, get_peft_model
    from transformers import AutoModelForCausalLM, set_seed

    # NOTE: the CUDA branch (bf16 base weights, bf16 autocast) has not run on a GPU yet; tests cover CPU only.
    bf16 = device == "cuda" and torch.cuda.is_bf16_supported()
    set_seed(hp["seed"])
    model = AutoModelForCausalLM.from_pretrained(checkpoint_dir, dtype=torch.bfloat16 if bf16 else torch.float32)
    config = LoraConfig(
        r=hp["lora_r"],
        lora_alpha=hp["lora_alpha"],
        lora_dropout=LORA_DROPOUT,
        target_modules="all-linear",
        task_type="CAUSAL_LM",
    )
    return get_peft_model(model, config), bf16


def train_lora(
    model,  # type: ignore[no-untyped-def]
    bf16: bool,
    train_set: PackedDataset,
    eval_set: PackedDataset,
    hp: dict[str, Any],
    device: str,
    checkpoints_dir: Path,
    on_step: Callable[[StepProgress], None],
    should_stop: Callable[[], bool],
) -> TrainOutcome:
    """Measure validation loss, train, measure it again. Stops between steps when ``should_stop()`` is true."""
    from transformers import PrinterCallback, Trainer, default_data_collator

    callback = _ProgressCallback(on_step, should_stop)
    trainer = Trainer(
        model=model,
        args=training_arguments(checkpoints_dir, hp, device, bf16),
        train_dataset=train_set,
        eval_dataset=eval_set,
        data_collator=default_data_collator,
        callbacks=[callback],
    )
    # With tqdm disabled the Trainer prints every log dict to stdout; progress goes through the callback instead.
    trainer.remove_callback(PrinterCallback)

    eval_loss_before = float(trainer.evaluate()["eval_loss"])
    log.info("training.eval_before", eval_loss=round(eval_loss_before, 4))
    callback.eval_loss = eval_loss_before
    on_step(StepProgress(0, hp["max_steps"], None, eval_loss_before, None))

    started, cpu_started = time.monotonic(), time.process_time()
    output = trainer.train()
    seconds, cpu_seconds = time.monotonic() - started, time.process_time() - cpu_started
    steps = trainer.state.global_step
    if callback.stopped:
        return TrainOutcome(output.training_loss, eval_loss_before, math.nan, steps, True, seconds, cpu_seconds, 0)

    eval_loss_after = float(trainer.evaluate()["eval_loss"])
    trained_tokens = trained_token_count(len(train_set), len(train_set.blocks[0]), hp["batch_size"], steps)
    log.info(
        "training.finished",
        steps=steps,
        train_loss=round(output.training_loss, 4),
        eval_loss=round(eval_loss_after, 4),
        seconds=round(seconds, 2),
        tokens_per_second=round(trained_tokens / seconds, 1) if seconds > 0 else None,
    )
    return TrainOutcome(
        output.training_loss, eval_loss_before, eval_loss_after, steps, False, seconds, cpu_seconds, trained_tokens
    )
