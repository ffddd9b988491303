"""The ``alignd`` command line."""

import typer

from alignd.cli.keys import keys_app
from alignd.cli.serve import serve

app = typer.Typer(help="alignd: align language models to your documents, on your own machines.", no_args_is_help=True)
app.add_typer(keys_app, name="keys")
app.command("serve")(serve)


def _add_optional_commands() -> None:
    # Commands of packages that may be missing in a partial install stay optional.
    try:
        from alignd.cli.models import models_app

        app.add_typer(models_app, name="models")
    except ImportError:
        pass
    try:
        from alignd.cli.demo import demo

        app.command("demo")(demo)
    except ImportError:
        pass
    try:
        from alignd.cli.worker import worker

        app.command("worker")(worker)
    except ImportError:
        pass


_add_optional_commands()

if __name__ == "__main__":
    app()
