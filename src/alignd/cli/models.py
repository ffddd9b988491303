"""``alignd models``: list base models and register local ones."""

from pathlib import Path

import typer
from rich.console import Console
from rich.table import Table

from alignd.catalog.service import list_base_models
from alignd.catalog.user_models import add_user_model, remove_user_model
from alignd.config import get_settings
from alignd.errors import AlignError

models_app = typer.Typer(help="List base models and register local ones.", no_args_is_help=True)
err = Console(stderr=True)


@models_app.command("list")
def list_models() -> None:
    """List every base model: built-in and registered, with whether it can be aligned."""
    table = Table("id", "aliases", "source", "alignable", "architecture", "context", "note")
    for info in list_base_models(get_settings()):
        table.add_row(
            info.id,
            ", ".join(info.aliases),
            info.source,
            "yes" if info.supports_alignment else "no",
            info.architecture,
            str(info.context_length),
            info.reason or "",
        )
    Console(width=200).print(table)


@models_app.command("add")
def add(
    name: str = typer.Argument(..., help="Name to register; pass it as base_model when creating a project."),
    path: Path = typer.Argument(..., help="A local Hugging Face checkpoint folder or a .gguf file."),
    description: str = typer.Option("", "--description", help="Text shown in the model list."),
) -> None:
    """Register a local model as a base model. It is loaded fully first; a model that fails is rejected."""
    settings = get_settings()
    err.print(f"Loading {path} to check it ...")
    try:
        model = add_user_model(settings, name, path, description)
    except AlignError as exc:
        err.print(f"[red]Rejected: {exc.detail}[/red]")
        raise typer.Exit(1) from None
    err.print(
        f"Added base model {model.id}: {model.architecture}, {model.parameter_count:,} parameters, "
        f"context {model.context_length} tokens."
    )


@models_app.command("remove")
def remove(name: str = typer.Argument(..., help="Name of a registered model.")) -> None:
    """Remove a registered model from the catalog. Its files and existing adapters stay on disk."""
    try:
        remove_user_model(get_settings(), name)
    except AlignError as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    err.print(f"Removed base model {name}.")
