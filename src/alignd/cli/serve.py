"""``alignd serve``: run the HTTP API with the embedded job runner and serving engine."""

import typer
import uvicorn

from alignd.app import create_app
from alignd.config import get_settings


def serve(
    host: str = typer.Option("127.0.0.1", "--host", help="Address to listen on."),
    port: int = typer.Option(8000, "--port", help="TCP port to listen on."),
) -> None:
    """Start the alignd API server."""
    app = create_app(get_settings())
    uvicorn.run(app, host=host, port=port, log_level="warning")
