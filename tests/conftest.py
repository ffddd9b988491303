"""Shared fixtures: a fresh alignd home per test, a running app, and users with API keys."""

import os
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from alignd.app import create_app
from alignd.auth.service import create_key
from alignd.config import Settings
from alignd.db.engine import dispose_engines, session_scope

# Tests never reach a model hub.
os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


@pytest.fixture(scope="session")
def model_cache_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """One model cache for the whole run, so built and converted checkpoints are reused."""
    return tmp_path_factory.mktemp("model-cache")


@pytest.fixture
def settings(tmp_path: Path, model_cache_dir: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[Settings]:
    home = tmp_path / "home"
    home.mkdir()
    (home / "models").symlink_to(model_cache_dir, target_is_directory=True)
    values = {"home": home, "job_heartbeat_seconds": 0.5, "job_stop_timeout_seconds": 60}
    database_url = os.environ.get("ALIGND_TEST_DATABASE_URL")
    if database_url:
        values["database_url"] = database_url
    settings = Settings(**values)
    yield settings
    dispose_engines()


@pytest.fixture
def client(settings: Settings) -> Iterator[TestClient]:
    with TestClient(create_app(settings)) as test_client:
        yield test_client


@pytest.fixture
def make_user(client: TestClient, settings: Settings) -> Callable[[str], dict[str, str]]:
    """Create a user with a key; return the Authorization header for it."""

    def _make(email: str) -> dict[str, str]:
        with session_scope(settings) as session:
            created = create_key(session, email)
        return {"Authorization": f"Bearer {created.raw_key}"}

    return _make


@pytest.fixture
def auth(make_user: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return make_user("alice@example.com")


@pytest.fixture
def other_auth(make_user: Callable[[str], dict[str, str]]) -> dict[str, str]:
    return make_user("bob@example.com")
