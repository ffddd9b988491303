"""``alignd demo``: the whole lifecycle on sample documents or your own files."""

from pathlib import Path

import typer

from alignd.demo.runner import DEFAULT_BASE_MODEL, DEMO_HYPERPARAMETERS, DEMO_MAX_STEPS, run_demo


def demo(
    docs: list[Path] = typer.Option(
        None, "--docs", help="Documents to align on (text, Markdown, HTML, PDF, JSON, CSV). Default: the samples.",
        exists=True, dir_okay=False, readable=True,
    ),
    base_model: str = typer.Option(DEFAULT_BASE_MODEL, "--base-model", help="Catalog name of the base model."),
    max_steps: int = typer.Option(
        DEMO_MAX_STEPS, "--max-steps", min=1,
        help=f"Training steps (optimizer updates), each on {DEMO_HYPERPARAMETERS['batch_size']} blocks of "
        f"{DEMO_HYPERPARAMETERS['max_seq_length']} tokens.",
    ),
    questions: int = typer.Option(3, "--questions", min=1, max=20, help="Questions asked to both models."),
    benchmark: Path | None = typer.Option(
        None, "--benchmark", exists=True, dir_okay=False,
        help="JSON array of {question_num, question, answer}: evaluate before and after alignment.",
    ),
) -> None:
    """Align a model on documents, compare its answers with the base model's, then clean up."""
    raise typer.Exit(run_demo(docs or [], base_model, max_steps, questions, benchmark))
