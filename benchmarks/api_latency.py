"""API latency: p50 and p99 of get and delete on alignd against a bare FastAPI route.

Run: .venv/bin/python benchmarks/api_latency.py [--projects 10000] [--requests 1000] [--big-gb 1]

alignd runs as `alignd serve` in its own process with SQLite, the bare app under uvicorn in
another; this process sends sequential requests over one keep-alive connection each.
"""

import argparse
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

import httpx
from sqlalchemy import insert

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "tests"))
from server_process import ServerProcess, alignd_env, create_key, free_port  # noqa: E402

from alignd.alignments.models import AlignmentProject  # noqa: E402
from alignd.auth.models import User  # noqa: E402
from alignd.config import Settings  # noqa: E402
from alignd.db.engine import get_engine, session_scope  # noqa: E402
from alignd.timeutil import utcnow  # noqa: E402


def percentile(samples: list[float], fraction: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, int(fraction * len(ordered)))]


def time_requests(client: httpx.Client, method: str, paths: list[str]) -> list[float]:
    timings = []
    for path in paths:
        start = time.perf_counter()
        response = client.request(method, path)
        timings.append((time.perf_counter() - start) * 1000)
        assert response.status_code == 200, response.text
    return timings


def seed_projects(settings: Settings, email: str, count: int) -> list[str]:
    with session_scope(settings) as session:
        user_id = session.query(User).filter_by(email=email).one().id
    ids = [f"alignment_BENCH{index:021d}" for index in range(count)]
    rows = [
        {"id": project_id, "user_id": user_id, "name": f"bench {index}", "base_model": "tiny-random-llama",
         "status": "READY", "progress": 100.0, "documents": [], "hyperparameters": {}, "performance_metrics": {},
         "dataset_stats": {}, "training_state": {}, "data_generator": "extractive",
         "model_id": f"model_bench_{index}_{project_id.lower()}", "model_status": "UNDEPLOYED",
         "usage_count": 0, "conversation_saving_enabled": False, "deleting": False, "created_at": utcnow()}
        for index, project_id in enumerate(ids)
    ]
    with get_engine(settings).begin() as connection:
        connection.execute(insert(AlignmentProject), rows)
    for project_id in ids:
        (settings.project_dir(project_id) / "adapter").mkdir(parents=True, exist_ok=True)
        (settings.project_dir(project_id) / "adapter" / "weights.bin").write_bytes(b"\0" * 4096)
    return ids


def fill_big_project(settings: Settings, project_id: str, gigabytes: float) -> None:
    folder = settings.project_dir(project_id) / "checkpoints"
    folder.mkdir(parents=True, exist_ok=True)
    chunk = os.urandom(64 * 1024 * 1024)
    for index in range(int(gigabytes * 16)):
        (folder / f"shard-{index:03d}.bin").write_bytes(chunk)


def summary(name: str, samples: list[float]) -> str:
    return (f"| {name} | {len(samples)} | {percentile(samples, 0.5):.2f} | {percentile(samples, 0.99):.2f} | "
            f"{statistics.mean(samples):.2f} |")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--projects", type=int, default=10_000, help="projects in the database")
    parser.add_argument("--requests", type=int, default=1000, help="requests per measured route")
    parser.add_argument("--big-gb", type=float, default=1.0, help="artifact size of the big project, in GB")
    args = parser.parse_args()

    home = Path(tempfile.mkdtemp(prefix="alignd-bench-"))
    env = alignd_env(home)
    key = create_key(env, "bench@example.com")
    settings = Settings(home=home)
    ids = seed_projects(settings, "bench@example.com", args.projects)
    fill_big_project(settings, ids[-1], args.big_gb)

    server = ServerProcess(env, home / "server.log")
    server.start()
    bare_port = free_port()
    bare = subprocess.Popen([sys.executable, "-m", "uvicorn", "bare_app:app", "--port", str(bare_port),
                             "--log-level", "warning"], cwd=Path(__file__).parent)
    try:
        time.sleep(3)
        headers = {"Authorization": f"Bearer {key}"}
        measured = ids[: args.requests]
        with httpx.Client(base_url=server.base_url, headers=headers, timeout=120) as client:
            alignd_get = time_requests(client, "GET", [f"/api/v3/alignment-project/{i}" for i in measured])
            alignd_delete = time_requests(client, "DELETE", [f"/api/v3/alignment-project/{i}" for i in measured])
            start = time.perf_counter()
            response = client.delete(f"/api/v3/alignment-project/{ids[-1]}")
            big_delete_ms = (time.perf_counter() - start) * 1000
            assert response.status_code == 200, response.text
        with httpx.Client(base_url=f"http://127.0.0.1:{bare_port}", timeout=60) as client:
            bare_get = time_requests(client, "GET", [f"/items/item_{i}" for i in range(args.requests)])
            bare_delete = time_requests(client, "DELETE", [f"/items/item_{i}" for i in range(args.requests)])
    finally:
        server.stop()
        bare.terminate()

    print(f"projects in database: {args.projects}, requests per route: {args.requests}")
    print("| route | requests | p50 ms | p99 ms | mean ms |")
    print("|---|---|---|---|---|")
    for name, samples in [("alignd GET /alignment-project/{id}", alignd_get), ("bare FastAPI GET", bare_get),
                          ("alignd DELETE /alignment-project/{id}", alignd_delete),
                          ("bare FastAPI DELETE", bare_delete)]:
        print(summary(name, samples))
    print(f"delete of a project holding {args.big_gb:g} GB of artifacts: {big_delete_ms:.0f} ms")


if __name__ == "__main__":
    main()
