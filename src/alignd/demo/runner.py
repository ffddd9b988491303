"""The demo's steps: start, upload, align, deploy, compare answers, clean up."""

import time
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.console import Console

from alignd.auth.service import create_key
from alignd.config import get_settings
from alignd.db.engine import session_scope
from alignd.demo.client import DemoClient, DemoError
from alignd.demo.render import answers_table, metrics_table, progress_detail, training_progress
from alignd.demo.server import InProcessServer

DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
DEMO_USER = "demo@alignd.local"
ANSWER_TOKENS = 60

console = Console(stderr=True)
out = Console()


def sample_documents() -> list[Path]:
    folder = files("alignd.demo") / "samples"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".md"))


def run_demo(docs: list[Path], base_model: str, max_steps: int, questions: int, benchmark: Path | None) -> int:
    settings = get_settings()
    paths = docs or sample_documents()
    console.print(f"alignd home: {settings.home_dir}")
    with InProcessServer(settings) as server:
        with session_scope(settings) as session:
            api_key = create_key(session, DEMO_USER, name="demo").raw_key
        client = DemoClient(server.base_url, api_key)
        try:
            _run_steps(client, paths, base_model, max_steps, questions, benchmark)
        except DemoError as exc:
            console.print(f"[red]Demo failed:[/red] {exc}")
            return 1
    return 0


def _run_steps(client: DemoClient, paths: list[Path], base_model: str, max_steps: int, questions: int,
               benchmark: Path | None) -> None:
    console.print(f"Uploading {len(paths)} document(s): {', '.join(p.name for p in paths)}")
    document_ids = client.upload(paths)
    benchmark_id = client.upload_benchmark(benchmark, document_ids[0]) if benchmark else None

    hyperparameters = {"max_steps": max_steps}
    project = client.create_project("alignd demo", base_model, document_ids, hyperparameters, benchmark_id)
    project = _follow_training(client, project["id"])
    if project["status"] != "READY":
        raise DemoError(f"Alignment failed: {project['error']}")

    model_id = project["model_id"]
    try:
        console.print(f"Deploying {model_id}")
        client.deploy(model_id)
        rows = _compare_answers(client, project, base_model, questions)
        out.print(answers_table(rows))
        table = metrics_table(project.get("performance_metrics") or {})
        if table is not None:
            out.print(table)
        console.print("Undeploying and deleting the project")
        client.undeploy(model_id)
    finally:
        client.delete_project(project["id"])
        for document_id in document_ids:
            client.delete_document(document_id)
    console.print("Done: the project, its model and the uploaded documents are deleted.")


def _follow_training(client: DemoClient, project_id: str) -> dict[str, Any]:
    with training_progress(console) as progress:
        task = progress.add_task("Aligning", total=100, detail="preparing")
        while True:
            project = client.project(project_id)
            progress.update(task, completed=project["progress"], detail=progress_detail(project),
                            description="Evaluating" if project["status"] == "EVALUATING" else "Aligning")
            if project["status"] in ("READY", "FAILED"):
                return project
            time.sleep(1.0)


def _question_pairs(client: DemoClient, project_id: str, count: int) -> list[tuple[str, str]]:
    """Pick instruction pairs from the training data, spread over the dataset."""
    pairs = []
    for example in client.dataset(project_id):
        messages = example.get("messages") or []
        user = next((m["content"] for m in messages if m.get("role") == "user"), None)
        assistant = next((m["content"] for m in messages if m.get("role") == "assistant"), None)
        if user and assistant:
            pairs.append((user, assistant))
    if len(pairs) <= count:
        return pairs
    stride = len(pairs) / count
    return [pairs[int(index * stride)] for index in range(count)]


def _compare_answers(client: DemoClient, project: dict[str, Any], base_model: str,
                     count: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for question, reference in _question_pairs(client, project["id"], count):
        console.print(f"Asking: {question}")
        base_answer = client.ask(base_model, question, ANSWER_TOKENS)
        aligned_answer = client.ask(project["model_id"], question, ANSWER_TOKENS)
        rows.append((question, reference, base_answer, aligned_answer))
    return rows
