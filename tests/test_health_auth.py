"""Health check and API key authentication."""

from fastapi.testclient import TestClient


def test_healthz_needs_no_key(client: TestClient) -> None:
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["status"] == "ok"


def test_missing_key_is_401_with_bearer_challenge(client: TestClient) -> None:
    response = client.get("/api/v3/alignment-project")
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
    assert response.json()["code"] == "unauthorized"


def test_unknown_key_is_401(client: TestClient) -> None:
    response = client.get("/api/v3/alignment-project", headers={"Authorization": "Bearer ak_nope"})
    assert response.status_code == 401
    assert response.headers["www-authenticate"] == "Bearer"
