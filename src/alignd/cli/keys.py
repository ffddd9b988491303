"""``alignd keys``: create, list and revoke API keys."""

import sys

import typer
from rich.console import Console
from rich.table import Table

from alignd.auth.repository import AuthRepository
from alignd.auth.service import create_key, revoke_key
from alignd.cli.context import open_database
from alignd.errors import NotFound

keys_app = typer.Typer(help="Manage API keys.", no_args_is_help=True)
err = Console(stderr=True)


@keys_app.command("create")
def create(
    user: str = typer.Option(..., "--user", help="E-mail of the key's user; the user is created if new."),
    name: str = typer.Option("default", "--name", help="Label that helps you recognise the key later."),
) -> None:
    """Create an API key. The key is printed once, as the last line of standard output."""
    with open_database() as session:
        created = create_key(session, user.strip(), name)
    err.print(f"Created key {created.key_id} for {created.email}. Store it now: it is not shown again.")
    sys.stdout.write(created.raw_key + "\n")


@keys_app.command("list")
def list_keys() -> None:
    """List API keys (ids and prefixes, never the keys)."""
    with open_database() as session:
        rows = AuthRepository(session).list_keys()
    table = Table()
    # Ids must stay whole, even in a narrow or piped terminal, so they can be passed to revoke.
    table.add_column("id", no_wrap=True, min_width=30)
    for column in ("user", "name", "prefix", "created", "revoked"):
        table.add_column(column, overflow="fold")
    for key, user in rows:
        table.add_row(
            key.id, user.email, key.name, key.prefix + "…", key.created_at.isoformat(),
            key.revoked_at.isoformat() if key.revoked_at else "",
        )
    Console().print(table)


@keys_app.command("revoke")
def revoke(key_id: str = typer.Argument(..., help="Id of the key, as 'alignd keys list' shows it.")) -> None:
    """Revoke an API key; requests with it get 401 from then on."""
    try:
        with open_database() as session:
            revoke_key(session, key_id)
    except NotFound as exc:
        err.print(f"[red]{exc.detail}[/red]")
        raise typer.Exit(1) from None
    err.print(f"Revoked key {key_id}.")
