"""Rich output of the demo: the training progress bar and the answer tables."""

from datetime import UTC, datetime
from typing import Any

from rich.console import Console
from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn, TimeElapsedColumn
from rich.table import Table


def training_progress(console: Console) -> Progress:
    return Progress(
        TextColumn("[bold]{task.description}"),
        BarColumn(),
        TaskProgressColumn(),
        TextColumn("{task.fields[detail]}"),
        TimeElapsedColumn(),
        console=console,
    )


def progress_detail(project: dict[str, Any]) -> str:
    training = project.get("training") or {}
    parts = []
    if training.get("total_steps"):
        parts.append(f"step {training.get('step', 0)}/{training['total_steps']}")
    if training.get("train_loss") is not None:
        parts.append(f"loss {training['train_loss']:.3f}")
    if project.get("estimated_completion"):
        eta = datetime.fromisoformat(project["estimated_completion"]) - datetime.now(UTC)
        parts.append(f"ETA {max(0, int(eta.total_seconds()))} s")
    if not parts and training.get("phase"):
        parts.append(training["phase"].replace("_", " "))
    return "  ".join(parts)


def training_summary(project: dict[str, Any]) -> str | None:
    """Return one line with the training steps, tokens and speed, or None when the metrics lack them."""
    metrics = project.get("performance_metrics") or {}
    seconds, tokens = metrics.get("train_seconds"), metrics.get("train_tokens")
    if not seconds or not tokens:
        return None
    return (
        f"Trained {metrics.get('train_steps', '?')} steps on {tokens:,} tokens in {seconds:.0f} s "
        f"({tokens / seconds:.0f} tokens/s); validation loss {metrics.get('eval_loss_before', 0):.2f} "
        f"-> {metrics.get('eval_loss_after', 0):.2f}"
    )


def answers_table(rows: list[tuple[str, str, str, str]]) -> Table:
    table = Table(title="Base model vs aligned model", show_lines=True, expand=True)
    table.add_column("Question", ratio=2)
    table.add_column("Reference (from the documents)", ratio=2)
    table.add_column("Base model", ratio=3)
    table.add_column("Aligned model", ratio=3)
    for row in rows:
        table.add_row(*row)
    return table


def metrics_table(metrics: dict[str, Any]) -> Table | None:
    names = ["accuracy", "uncertainty", "domain_violations"]
    if not any(f"{name}_before" in metrics for name in names):
        return None
    table = Table(title="Benchmark before and after alignment")
    table.add_column("Metric")
    table.add_column("Before", justify="right")
    table.add_column("After", justify="right")
    for name in names:
        before, after = metrics.get(f"{name}_before"), metrics.get(f"{name}_after")
        table.add_row(name, _fmt(before), _fmt(after))
    return table


def _fmt(value: Any) -> str:
    return f"{value:.3f}" if isinstance(value, (int, float)) else "-"
