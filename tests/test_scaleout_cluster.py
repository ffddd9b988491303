"""Multi-node mode end to end: two ``alignd serve`` nodes and one ``alignd worker`` process.

The nodes share PostgreSQL, Redis and one artifact folder, and nothing else: each has its
own home folder, as separate machines would.
"""

import json
import threading
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from alignd.config import Settings
from alignd.db.engine import dispose_engines, session_scope
from alignd.jobs.models import JobStatus
from alignd.jobs.repository import JobRepository
from lifecycle import create_project, deploy, upload_document, wait_for, wait_project
from pg import REDIS_URL, WorkerProcess, delete_queue, require_postgres, require_redis, temporary_database, unique_queue
from server_process import ServerProcess, alignd_env, create_key

pytestmark = [pytest.mark.postgres, pytest.mark.redis, pytest.mark.slow]

STALE_SECONDS = 12


@dataclass
class Cluster:
    node_a: ServerProcess
    node_b: ServerProcess
    worker: WorkerProcess
    a: httpx.Client
    b: httpx.Client
    auth: dict[str, str]
    artifacts: Path
    settings: Settings  # for reading the database directly

    def project_dir(self, project_id: str) -> Path:
        return self.artifacts / "projects" / project_id


@pytest.fixture(scope="module")
def cluster(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Cluster]:
    require_postgres()
    require_redis()
    root = tmp_path_factory.mktemp("cluster")
    artifacts = root / "shared-artifacts"
    queue = unique_queue()
    with temporary_database() as url:
        shared = {
            "ALIGND_DATABASE_URL": url, "ALIGND_JOB_BACKEND": "celery", "ALIGND_BROKER_URL": REDIS_URL,
            "ALIGND_CELERY_QUEUE": queue, "ALIGND_ARTIFACT_URL": str(artifacts),
            "ALIGND_JOB_STALE_SECONDS": str(STALE_SECONDS), "ALIGND_MODEL_SYNC_SECONDS": "1",
            "ALIGND_JOB_STOP_TIMEOUT_SECONDS": "60", "ALIGND_LOG_JSON": "true",
        }
        env_a = alignd_env(root / "home-a", **shared)
        key = create_key(env_a, "cluster@example.com")
        node_a = ServerProcess(env_a, root / "node-a.log")
        node_b = ServerProcess(alignd_env(root / "home-b", **shared), root / "node-b.log")
        worker = WorkerProcess(alignd_env(root / "home-worker", **shared), root / "worker.log")
        settings = Settings(home=root / "home-test", database_url=url)
        try:
            with ThreadPoolExecutor(3) as pool:
                for started in [pool.submit(node_a.start), pool.submit(node_b.start), pool.submit(worker.start)]:
                    started.result()
            with httpx.Client(base_url=node_a.base_url, timeout=120) as a, \
                    httpx.Client(base_url=node_b.base_url, timeout=120) as b:
                yield Cluster(node_a, node_b, worker, a, b, {"Authorization": f"Bearer {key}"}, artifacts, settings)
        finally:
            for process in (worker, node_a, node_b):
                process.stop()
            dispose_engines()
            delete_queue(queue)


def _chat(client: httpx.Client, auth: dict[str, str], model_id: str) -> httpx.Response:
    return client.post("/api/v3/inference/chat/completions", headers=auth, json={
        "model": model_id, "messages": [{"role": "user", "content": "Which lines moor a vessel?"}], "max_tokens": 4})


def _logged(node: ServerProcess, event: str, model_id: str) -> bool:
    """Return whether the node's JSON log has ``event`` for ``model_id``."""
    for line in node.log_path.read_text().splitlines():
        try:
            entry = json.loads(line)
        except ValueError:
            continue
        if entry.get("event") == event and entry.get("model_id") == model_id:
            return True
    return False


def _delete(client: httpx.Client, auth: dict[str, str], project_id: str) -> httpx.Response:
    return client.delete(f"/api/v3/alignment-project/{project_id}", headers=auth)


def _ready_project(cluster: Cluster, document_id: str, name: str) -> dict[str, Any]:
    created = create_project(cluster.b, cluster.auth, [document_id], name=name, max_steps=1)
    project = wait_project(cluster.a, cluster.auth, created["id"])
    assert project["status"] == "READY", project
    return project


def _start_long_training(cluster: Cluster, name: str) -> str:
    document_id = upload_document(cluster.a, cluster.auth)
    project_id = create_project(cluster.a, cluster.auth, [document_id], name=name, max_steps=20000)["id"]
    training = wait_for(
        lambda: cluster.b.get(f"/api/v3/alignment-project/{project_id}", headers=cluster.auth).json(),
        lambda body: body["training"].get("phase") == "training" or body["status"] != "PROCESSING",
    )
    assert training["status"] == "PROCESSING", training
    return project_id


def _jobs_of(cluster: Cluster, project_id: str) -> list[tuple[str, str | None]]:
    with session_scope(cluster.settings) as session:
        return [(job.status, job.error) for job in JobRepository(session).list_for_target(project_id)]


def test_lifecycle_across_nodes(cluster: Cluster) -> None:
    auth = cluster.auth
    document_id = upload_document(cluster.a, auth)
    project = _ready_project(cluster, document_id, "Cluster lifecycle")
    model_id = project["model_id"]
    assert (cluster.project_dir(project["id"]) / "adapter" / "adapter_config.json").is_file()

    assert deploy(cluster.a, auth, model_id)["status"] == "COMPLETED"
    assert _chat(cluster.a, auth, model_id).status_code == 200
    # Node B serves the model at once: the request loads it if B's sync loop has not yet.
    on_b = _chat(cluster.b, auth, model_id)
    assert on_b.status_code == 200, on_b.text
    aligned_b = cluster.b.get("/api/v3/models/aligned", headers=auth).json()["domain_aligned_models"]
    assert [(m["id"], m["status"]) for m in aligned_b] == [(model_id, "DEPLOYED")]

    assert _delete(cluster.b, auth, project["id"]).json()["code"] == "alignment_deployed"
    assert cluster.b.delete(f"/api/v3/models/undeploy-model/{model_id}", headers=auth).status_code == 200
    undeploy_status = cluster.a.get(f"/api/v3/models/undeploy-model/{model_id}/status", headers=auth).json()
    assert undeploy_status["status"] == "COMPLETED"
    assert _chat(cluster.a, auth, model_id).status_code == 404
    assert _chat(cluster.b, auth, model_id).status_code == 404
    # Node A frees the adapter that node B undeployed, in its sync loop.
    unloaded = wait_for(lambda: _logged(cluster.node_a, "deploy.sync_unloaded", model_id), bool, timeout=30)
    assert unloaded

    response = _delete(cluster.a, auth, project["id"])
    assert response.status_code == 200, response.text
    assert not cluster.project_dir(project["id"]).exists()
    assert cluster.b.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 404
    assert _jobs_of(cluster, project["id"]) == []
    documents = cluster.b.get("/api/v3/documents", headers=auth).json()["documents"]
    assert [d["id"] for d in documents] == [document_id]


def test_deploy_delete_race_across_nodes(cluster: Cluster) -> None:
    auth = cluster.auth
    document_id = upload_document(cluster.a, auth)
    outcomes = []
    for round_number in range(6):
        project = _ready_project(cluster, document_id, f"race {round_number}")
        deployer, deleter = (cluster.a, cluster.b) if round_number % 2 == 0 else (cluster.b, cluster.a)
        barrier = threading.Barrier(2)
        results: dict[str, int] = {}

        def run(kind: str) -> None:
            barrier.wait()
            if kind == "deploy":
                results[kind] = deployer.post(f"/api/v3/models/deploy-model/{project['model_id']}",
                                              headers=auth).status_code
            else:
                results[kind] = _delete(deleter, auth, project["id"]).status_code

        threads = [threading.Thread(target=run, args=(kind,)) for kind in ("deploy", "delete")]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()

        if results["delete"] == 200:
            assert results["deploy"] in (400, 404), results
            for node in (cluster.a, cluster.b):
                assert node.get(f"/api/v3/alignment-project/{project['id']}", headers=auth).status_code == 404
                assert _chat(node, auth, project["model_id"]).status_code == 404
            assert not cluster.project_dir(project["id"]).exists()
            outcomes.append("deleted")
        else:
            assert results == {"deploy": 200, "delete": 400}, results
            final = wait_for(
                lambda: deleter.get(f"/api/v3/models/deploy-model/{project['model_id']}/status", headers=auth).json(),
                lambda body: body["status"] != "PENDING",
            )
            assert final["status"] == "COMPLETED", final
            assert deleter.delete(f"/api/v3/models/undeploy-model/{project['model_id']}",
                                  headers=auth).status_code == 200
            assert _delete(deployer, auth, project["id"]).status_code == 200
            assert not cluster.project_dir(project["id"]).exists()
            outcomes.append("deployed")
    assert len(outcomes) == 6


def test_delete_during_training_across_nodes(cluster: Cluster) -> None:
    project_id = _start_long_training(cluster, "delete while training")
    project_dir = cluster.project_dir(project_id)

    response = _delete(cluster.b, cluster.auth, project_id)
    assert response.status_code == 200, response.text
    assert not project_dir.exists()
    time.sleep(3)
    assert not project_dir.exists(), "the worker wrote a file of the project after the delete answered"
    assert cluster.a.get(f"/api/v3/alignment-project/{project_id}", headers=cluster.auth).status_code == 404


def test_killed_worker_fails_job_with_clear_error(cluster: Cluster) -> None:
    project_id = _start_long_training(cluster, "worker crash")
    project_dir = cluster.project_dir(project_id)
    cluster.worker.kill()
    try:
        # The job child notices that its supervisor died and stops writing.
        time.sleep(4)
        snapshot = sorted((path, path.stat().st_mtime) for path in project_dir.rglob("*"))
        time.sleep(3)
        assert sorted((path, path.stat().st_mtime) for path in project_dir.rglob("*")) == snapshot

        project = wait_project(cluster.b, cluster.auth, project_id, timeout=STALE_SECONDS * 6)
        assert project["status"] == "FAILED"
        assert "heartbeat" in project["error"]
        assert [status for status, _ in _jobs_of(cluster, project_id)] == [JobStatus.FAILED]
        assert _delete(cluster.a, cluster.auth, project_id).status_code == 200
    finally:
        cluster.worker.stop()
        cluster.worker.start()
