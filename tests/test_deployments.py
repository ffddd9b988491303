"""Aligned models: listing, deploy and undeploy with their status routes, and inference on them."""

from fastapi.testclient import TestClient

from lifecycle import create_project, deploy, ready_project, upload_document


def test_full_lifecycle_over_http(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    model_id = project["model_id"]

    aligned = client.get("/api/v3/models/aligned", headers=auth).json()["domain_aligned_models"]
    assert [m["id"] for m in aligned] == [model_id]
    assert aligned[0]["status"] == "UNDEPLOYED"
    assert aligned[0]["deployment_status"] == "UNDEPLOYED"
    assert aligned[0]["alignment_id"] == project["id"]

    status = deploy(client, auth, model_id)
    assert status["status"] == "COMPLETED"
    assert status["model_id"] == model_id
    assert status["result"]["endpoint_url"]
    assert status["start_time"] is not None
    assert status["end_time"] is not None
    model = client.get(f"/api/v3/models/aligned/{model_id}", headers=auth).json()
    assert model["status"] == "DEPLOYED"
    assert model["deployment_status"] == "DEPLOYED"
    assert client.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).json()["deployment_status"] == "DEPLOYED"

    answer = client.post("/api/v3/inference/chat/completions", headers=auth, json={
        "model": model_id, "messages": [{"role": "user", "content": "What is the speed limit?"}], "max_tokens": 8})
    assert answer.status_code == 200, answer.text
    assert answer.json()["usage"]["completion_tokens"] > 0
    assert 0.0 <= answer.json()["confidence_score"] <= 1.0
    used = client.get(f"/api/v3/models/aligned/{model_id}", headers=auth).json()
    assert used["usage_count"] == 1
    assert used["last_used"] is not None

    undeploy = client.delete(f"/api/v3/models/undeploy-model/{model_id}", headers=auth)
    assert undeploy.status_code == 200
    assert undeploy.json() == model_id
    undeploy_status = client.get(f"/api/v3/models/undeploy-model/{model_id}/status", headers=auth).json()
    assert undeploy_status["status"] == "COMPLETED"
    assert not client.app.state.runtime.engine.is_loaded(model_id)
    after = client.post("/api/v3/inference/chat/completions", headers=auth, json={
        "model": model_id, "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    assert after.status_code == 404

    assert client.delete(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 200
    assert client.get("/api/v3/models/aligned", headers=auth).json()["domain_aligned_models"] == []


def test_deploy_returns_model_id_string(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    response = client.post(f"/api/v3/models/deploy-model/{project['model_id']}", headers=auth)
    assert response.status_code == 200
    assert response.json() == project["model_id"]


def test_deploy_twice_is_400(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    deploy(client, auth, project["model_id"])
    again = client.post(f"/api/v3/models/deploy-model/{project['model_id']}", headers=auth)
    assert again.status_code == 400
    assert again.json()["code"] == "model_already_deployed"


def test_deploy_before_ready_is_400(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    created = create_project(client, auth, [document_id], max_steps=20000)
    response = client.post(f"/api/v3/models/deploy-model/{created['model_id']}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "alignment_not_ready"
    assert client.delete(f"/api/v3/alignment-project/{created['id']}", headers=auth).status_code == 200


def test_undeploy_undeployed_is_400(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    response = client.delete(f"/api/v3/models/undeploy-model/{project['model_id']}", headers=auth)
    assert response.status_code == 400
    assert response.json()["code"] == "model_not_deployed"


def test_status_without_task_is_404(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    for kind in ("deploy", "undeploy"):
        response = client.get(f"/api/v3/models/{kind}-model/{project['model_id']}/status", headers=auth)
        assert response.status_code == 404
        assert response.json()["code"] == "task_not_found"


def test_failed_project_is_not_listed_as_aligned(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    created = create_project(client, auth, [document_id], max_steps=20000)
    assert client.get("/api/v3/models/aligned", headers=auth).json()["domain_aligned_models"] == []
    assert client.delete(f"/api/v3/alignment-project/{created['id']}", headers=auth).status_code == 200


def test_conversation_saving_switch(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    url = f"/api/v3/models/aligned/{project['model_id']}"
    assert client.get(url, headers=auth).json()["conversation_saving_enabled"] is False
    response = client.patch(url, headers=auth, json={"conversation_saving_enabled": True})
    assert response.status_code == 200
    assert client.get(url, headers=auth).json()["conversation_saving_enabled"] is True
    bad = client.patch(url, headers=auth, json={"conversation_saving_enabled": "maybe"})
    assert bad.status_code == 422


def test_deployment_survives_restart(settings) -> None:  # type: ignore[no-untyped-def]
    from alignd.app import create_app
    from alignd.auth.service import create_key
    from alignd.db.engine import session_scope

    with TestClient(create_app(settings)) as first:
        with session_scope(settings) as session:
            headers = {"Authorization": f"Bearer {create_key(session, 'restart@example.com').raw_key}"}
        project = ready_project(first, headers)
        deploy(first, headers, project["model_id"])
    with TestClient(create_app(settings)) as second:
        model = second.get(f"/api/v3/models/aligned/{project['model_id']}", headers=headers).json()
        assert model["deployment_status"] == "DEPLOYED"
        assert second.app.state.runtime.engine.is_loaded(project["model_id"])
