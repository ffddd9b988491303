"""The demo's steps: start, upload, align, deploy, compare answers, clean up."""

import os
import time
import warnings
from importlib.resources import files
from pathlib import Path
from typing import Any

from rich.console import Console

from alignd.auth.service import create_key
from alignd.config import Settings, get_settings
from alignd.db.engine import session_scope
from alignd.demo.client import DemoClient, DemoError
from alignd.demo.questions import pick_questions
from alignd.demo.render import answers_table, metrics_table, progress_detail, training_progress, training_summary
from alignd.demo.server import InProcessServer

DEFAULT_BASE_MODEL = "smollm2-135m-instruct"
DEMO_USER = "demo@alignd.local"
ANSWER_TOKENS = 60

# The demo's own hyperparameters. With the service defaults (learning rate 2e-4, LoRA rank 8), 40 steps left
# SmolLM2-135M answering the sample questions in generic words. With 2e-3 and rank 16 it repeats the sample
# documents' facts after about 30 steps. The blocks are packed once, so a question-answer pair that a block
# boundary cuts never trains whole. 512-token blocks have half as many boundaries as 256-token blocks.
# 40 steps train on 40,960 tokens: about 4.5 minutes on two idle cores at about 150 tokens/s (an estimate).
DEMO_HYPERPARAMETERS = {"learning_rate": 2e-3, "lora_r": 16, "lora_alpha": 32, "max_seq_length": 512, "batch_size": 2}
DEMO_MAX_STEPS = 40

console = Console(stderr=True)
out = Console()


def sample_documents() -> list[Path]:
    folder = files("alignd.demo") / "samples"
    return sorted(Path(str(entry)) for entry in folder.iterdir() if entry.name.endswith(".md"))


def _quiet_libraries() -> None:
    """Keep progress bars and deprecation warnings of the model libraries out of the demo's output.

    The environment variables reach the job child processes, which start after this call. TQDM_DISABLE
    also covers the GGUF conversion bar, which uses tqdm directly in transformers 5.25.
    """
    os.environ.setdefault("HF_HUB_DISABLE_PROGRESS_BARS", "1")
    os.environ.setdefault("TQDM_DISABLE", "1")
    from transformers.utils import logging as transformers_logging

    # The server thread of this process loads the deployed model.
    transformers_logging.disable_progress_bar()
    warnings.filterwarnings("ignore", category=FutureWarning)


def _demo_settings() -> Settings:
    """Return the settings, with the service log at WARNING unless ALIGND_LOG_LEVEL is set.

    At INFO the service writes a line per HTTP request, one per second while the demo polls, and
    those lines would bury the progress bar.
    """
    settings = get_settings()
    if os.environ.get("ALIGND_LOG_LEVEL"):
        return settings
    return settings.model_copy(update={"log_level": "WARNING"})


def run_demo(docs: list[Path], base_model: str, max_steps: int, questions: int, benchmark: Path | None) -> int:
    settings = _demo_settings()
    _quiet_libraries()
    paths = docs or sample_documents()
    console.print(f"alignd home: {settings.home_dir}")
    if not os.environ.get("ALIGND_LOG_LEVEL"):
        console.print("Service log: warnings and errors only (set ALIGND_LOG_LEVEL=INFO for every line)")
    started = time.monotonic()
    with InProcessServer(settings) as server:
        with session_scope(settings) as session:
            api_key = create_key(session, DEMO_USER, name="demo").raw_key
        client = DemoClient(server.base_url, api_key)
        try:
            _run_steps(client, paths, base_model, max_steps, questions, benchmark)
        except DemoError as exc:
            console.print(f"[red]Demo failed:[/red] {exc}")
            return 1
    minutes, seconds = divmod(round(time.monotonic() - started), 60)
    console.print(f"The demo took {minutes} min {seconds} s.")
    return 0


def _run_steps(client: DemoClient, paths: list[Path], base_model: str, max_steps: int, questions: int,
               benchmark: Path | None) -> None:
    console.print(f"Uploading {len(paths)} document(s): {', '.join(p.name for p in paths)}")
    document_ids = client.upload(paths)
    benchmark_id = client.upload_benchmark(benchmark, document_ids[0]) if benchmark else None

    hyperparameters = {**DEMO_HYPERPARAMETERS, "max_steps": max_steps}
    catalog_entry = client.base_model(base_model)
    if catalog_entry is not None:
        # A base model with a shorter context gets shorter blocks instead of a 400 on create.
        hyperparameters["max_seq_length"] = min(hyperparameters["max_seq_length"], catalog_entry["context_length"])
    console.print(
        f"Aligning {base_model}: {max_steps} steps, learning rate {hyperparameters['learning_rate']:g}, "
        f"LoRA rank {hyperparameters['lora_r']}"
    )
    project = client.create_project("alignd demo", base_model, document_ids, hyperparameters, benchmark_id)
    project = _follow_training(client, project["id"])
    if project["status"] != "READY":
        raise DemoError(f"Alignment failed: {project['error']}")
    summary = training_summary(project)
    if summary:
        console.print(summary)

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


def _compare_answers(client: DemoClient, project: dict[str, Any], base_model: str,
                     count: int) -> list[tuple[str, str, str, str]]:
    rows = []
    for pair in pick_questions(client.dataset(project["id"]), count):
        console.print(f"Asking: {pair.question}")
        base_answer = client.ask(base_model, pair.question, ANSWER_TOKENS)
        aligned_answer = client.ask(project["model_id"], pair.question, ANSWER_TOKENS)
        rows.append((pair.question, pair.reference, base_answer, aligned_answer))
    return rows
