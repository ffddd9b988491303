"""The permanent delete of an alignment project, point by point."""

import threading
import time
from pathlib import Path

from fastapi.testclient import TestClient

from alignd.config import Settings
from lifecycle import create_project, deploy, ready_project, upload_document, wait_for, wait_project

DELETED = "Alignment project successfully deleted"


def _delete(client: TestClient, auth: dict[str, str], project_id: str):  # type: ignore[no-untyped-def]
    return client.delete(f"/api/v3/alignment-project/{project_id}", headers=auth)


def test_delete_ready_project_removes_everything(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    project = ready_project(client, auth)
    project_dir = settings.project_dir(project["id"])
    assert (project_dir / "adapter").is_dir()

    response = _delete(client, auth, project["id"])
    assert response.status_code == 200
    assert response.json() == {"alignment_id": project["id"], "message": DELETED}
    assert not project_dir.exists()
    assert client.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 404
    assert client.get(f"/api/v3/alignment-project/status/{project['id']}", headers=auth).status_code == 404
    listed = client.get("/api/v3/alignment-project", headers=auth).json()["alignment_projects"]
    assert listed == []
    aligned = client.get("/api/v3/models/aligned", headers=auth).json()["domain_aligned_models"]
    assert aligned == []


def test_delete_keeps_documents(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    assert _delete(client, auth, project["id"]).status_code == 200
    documents = client.get("/api/v3/documents", headers=auth).json()["documents"]
    assert [d["id"] for d in documents] == project["documents"]


def test_second_delete_is_same_404_as_unknown(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    assert _delete(client, auth, project["id"]).status_code == 200
    again = _delete(client, auth, project["id"])
    unknown = _delete(client, auth, "alignment_01HZZZZZZZZZZZZZZZZZZZZZZZ")
    assert again.status_code == 404
    assert again.json()["code"] == "alignment_not_found"
    assert again.json()["detail"].replace(project["id"], "ID") == unknown.json()["detail"].replace(
        "alignment_01HZZZZZZZZZZZZZZZZZZZZZZZ", "ID")


def test_delete_foreign_project_is_404_and_keeps_it(
    client: TestClient, auth: dict[str, str], other_auth: dict[str, str]
) -> None:
    project = ready_project(client, auth)
    response = _delete(client, other_auth, project["id"])
    assert response.status_code == 404
    assert response.json()["code"] == "alignment_not_found"
    assert client.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 200


def test_delete_while_deployed_is_400(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    assert deploy(client, auth, project["model_id"])["status"] == "COMPLETED"
    response = _delete(client, auth, project["id"])
    assert response.status_code == 400
    assert response.json()["code"] == "alignment_deployed"
    assert "undeploy" in response.json()["detail"].lower()
    assert client.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 200


def test_delete_while_deploying_is_400(client: TestClient, auth: dict[str, str]) -> None:
    project = ready_project(client, auth)
    assert client.post(f"/api/v3/models/deploy-model/{project['model_id']}", headers=auth).status_code == 200
    response = _delete(client, auth, project["id"])
    assert response.status_code == 400
    assert response.json()["code"] == "alignment_deployed"


def test_undeploy_then_delete_at_once_succeeds(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    project = ready_project(client, auth)
    deploy(client, auth, project["model_id"])
    undeploy = client.delete(f"/api/v3/models/undeploy-model/{project['model_id']}", headers=auth)
    assert undeploy.status_code == 200
    status = client.get(f"/api/v3/models/undeploy-model/{project['model_id']}/status", headers=auth).json()
    assert status["status"] == "COMPLETED"
    assert _delete(client, auth, project["id"]).status_code == 200
    assert not settings.project_dir(project["id"]).exists()
    inference = client.post("/api/v3/inference/chat/completions", headers=auth, json={
        "model": project["model_id"], "messages": [{"role": "user", "content": "hi"}], "max_tokens": 4})
    assert inference.status_code == 404


def test_delete_while_training_stops_job_first(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    document_id = upload_document(client, auth)
    created = create_project(client, auth, [document_id], max_steps=20000)
    project_id = created["id"]
    training = wait_for(
        lambda: client.get(f"/api/v3/alignment-project/{project_id}", headers=auth).json(),
        lambda body: body["training"].get("phase") == "training" or body["status"] != "PROCESSING",
    )
    assert training["status"] == "PROCESSING", training

    response = _delete(client, auth, project_id)
    assert response.status_code == 200
    project_dir = settings.project_dir(project_id)
    assert not project_dir.exists()
    time.sleep(3)
    assert not project_dir.exists(), "a file of the project was written after the delete answered"
    assert client.get(f"/api/v3/alignment-project/{project_id}", headers=auth).status_code == 404


def test_delete_queued_project_cancels_job(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    document_id = upload_document(client, auth)
    first = create_project(client, auth, [document_id], max_steps=20000)
    queued = create_project(client, auth, [document_id])
    assert _delete(client, auth, queued["id"]).status_code == 200
    assert _delete(client, auth, first["id"]).status_code == 200
    assert not settings.project_dir(queued["id"]).exists()


def test_deploy_delete_race_has_two_clean_outcomes(client: TestClient, auth: dict[str, str]) -> None:
    document_id = upload_document(client, auth)
    outcomes = set()
    for round_number in range(12):
        created = create_project(client, auth, [document_id], name=f"race {round_number}", max_steps=1)
        project = wait_project(client, auth, created["id"])
        assert project["status"] == "READY"
        results: dict[str, int] = {}
        barrier = threading.Barrier(2)

        def run(kind: str) -> None:
            barrier.wait()
            if kind == "deploy":
                results[kind] = client.post(f"/api/v3/models/deploy-model/{project['model_id']}", headers=auth).status_code
            else:
                results[kind] = _delete(client, auth, project["id"]).status_code

        threads = [threading.Thread(target=run, args=(kind,)) for kind in ("deploy", "delete")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        if results["delete"] == 200:
            assert results["deploy"] in (400, 404), results
            assert client.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 404
            assert client.get(f"/api/v3/models/deploy-model/{project['model_id']}/status", headers=auth).status_code == 404
            assert not client.app.state.runtime.engine.is_loaded(project["model_id"])
            outcomes.add("deleted")
        else:
            assert results == {"deploy": 200, "delete": 400}, results
            final = deploy_status_final(client, auth, project["model_id"])
            assert final["status"] == "COMPLETED"
            assert client.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 200
            client.delete(f"/api/v3/models/undeploy-model/{project['model_id']}", headers=auth)
            assert _delete(client, auth, project["id"]).status_code == 200
            outcomes.add("deployed")
    assert outcomes, "no round finished"


def deploy_status_final(client: TestClient, auth: dict[str, str], model_id: str) -> dict:
    return wait_for(
        lambda: client.get(f"/api/v3/models/deploy-model/{model_id}/status", headers=auth).json(),
        lambda body: body["status"] != "PENDING",
    )


def _tree_bytes(path: Path) -> int:
    return sum(p.stat().st_size for p in path.rglob("*") if p.is_file())


def test_disk_usage_returns_to_baseline(client: TestClient, auth: dict[str, str], settings: Settings) -> None:
    document_id = upload_document(client, auth)
    artifacts = settings.artifacts_dir
    baseline = _tree_bytes(artifacts)
    for round_number in range(3):
        created = create_project(client, auth, [document_id], name=f"cycle {round_number}")
        assert wait_project(client, auth, created["id"])["status"] == "READY"
        assert _tree_bytes(artifacts) > baseline
        assert _delete(client, auth, created["id"]).status_code == 200
        assert _tree_bytes(artifacts) == baseline
