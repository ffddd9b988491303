"""A representative part of the core suite, run on a fresh PostgreSQL database per test.

Any other test runs on PostgreSQL the same way with the ``pg`` plugin, which gives each test
a new database: ``PYTHONPATH=tests .venv/bin/pytest -p pg tests/test_delete_contract.py``.
"""

import pytest
from fastapi.testclient import TestClient

from alignd.config import Settings
from alignd.db.engine import get_engine
from lifecycle import upload_document
from pg import fresh_postgres_database  # noqa: F401 - the autouse fixture that creates each test's database
from test_alignments import (  # noqa: F401 - imported tests run again here, on PostgreSQL
    test_alignment_trains_to_ready,
    test_create_missing_document_is_404_naming_it,
    test_create_returns_both_ids_and_processing,
    test_list_is_newest_first_with_limit_and_offset,
    test_weird_ids_are_404,
)
from test_delete_contract import (  # noqa: F401
    test_delete_queued_project_cancels_job,
    test_delete_ready_project_removes_everything,
    test_delete_while_deployed_is_400,
    test_delete_while_training_stops_job_first,
    test_deploy_delete_race_has_two_clean_outcomes,
    test_second_delete_is_same_404_as_unknown,
    test_undeploy_then_delete_at_once_succeeds,
)
from test_health_auth import test_unknown_key_is_401  # noqa: F401

pytestmark = pytest.mark.postgres


def test_settings_use_postgres(client: TestClient, settings: Settings) -> None:
    assert get_engine(settings).dialect.name == "postgresql"


def test_upload_with_long_unicode_filename(client: TestClient, auth: dict[str, str]) -> None:
    # SQLite ignores VARCHAR lengths; PostgreSQL enforces them.
    filename = "ü" * 200 + ".md"
    document_id = upload_document(client, auth, filename=filename)
    documents = client.get("/api/v3/documents", headers=auth).json()["documents"]
    assert [d["filename"] for d in documents if d["id"] == document_id] == [filename]
