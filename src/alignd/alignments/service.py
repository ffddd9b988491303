"""Rules of alignment projects: create, read, list and the dataset view."""

import shutil
from pathlib import Path
from typing import Any

from sqlalchemy.orm import Session

from alignd.alignments.models import AlignmentProject, ModelStatus, ProjectStatus
from alignd.alignments.repository import ProjectRepository
from alignd.alignments.schemas import CreateProjectRequest, ProjectOut
from alignd.auth.models import User
from alignd.benchmarks.models import BenchmarkStatus
from alignd.benchmarks.repository import BenchmarkRepository
from alignd.catalog.service import resolve_base_model
from alignd.config import Settings
from alignd.documents.repository import DocumentRepository
from alignd.documents.storage import read_text
from alignd.errors import BadRequest, NotFound
from alignd.ids import aligned_model_id, new_id
from alignd.jobs.models import JobKind
from alignd.training.defaults import check_for_model
from alignd.training.generators import check_generator
from alignd.jobs.service import enqueue
from alignd.logging import get_logger

log = get_logger(__name__)

SOURCES_DIR = "sources"


class ProjectNotFound(NotFound):
    code = "alignment_not_found"


class DocumentNotFound(NotFound):
    code = "document_not_found"


class BenchmarkNotFound(NotFound):
    code = "benchmark_not_found"


def _check_benchmark(session: Session, user: User, benchmark_id: str) -> None:
    benchmark = BenchmarkRepository(session).get_for_user(user.id, benchmark_id)
    if benchmark is None:
        raise BenchmarkNotFound(f"Benchmark '{benchmark_id}' not found.")
    if benchmark.status != BenchmarkStatus.READY:
        raise BadRequest(
            f"Benchmark '{benchmark_id}' is {benchmark.status}, not READY; wait until its questions are ready.",
            code="benchmark_not_ready",
        )


def _snapshot_documents(settings: Settings, user: User, project_dir: Path, documents: list[Any]) -> None:
    """Copy each document's text into the project, so deleting a document never changes it."""
    sources = project_dir / SOURCES_DIR
    sources.mkdir(parents=True, exist_ok=True)
    for document in documents:
        (sources / f"{document.id}.txt").write_text(read_text(settings, user.id, document.id), encoding="utf-8")


def create_project(session: Session, settings: Settings, user: User, body: CreateProjectRequest) -> AlignmentProject:
    base = resolve_base_model(settings, body.base_model)

    documents_repo = DocumentRepository(session)
    documents = []
    for document_id in body.document_ids:
        document = documents_repo.get_for_user(user.id, document_id)
        if document is None:
            raise DocumentNotFound(f"Document '{document_id}' not found.")
        if document not in documents:
            documents.append(document)
    if body.benchmark_id is not None:
        _check_benchmark(session, user, body.benchmark_id)
    check_generator(settings, body.data_generator)
    hyperparameters = body.hyperparameters.model_dump(exclude_none=True) if body.hyperparameters else {}
    check_for_model(hyperparameters, base.context_length)

    project_id = new_id("alignment")
    project = AlignmentProject(
        id=project_id,
        user_id=user.id,
        name=body.name,
        description=body.description,
        base_model=base.id,
        status=ProjectStatus.PROCESSING,
        progress=0.0,
        documents=[{"id": doc.id, "filename": doc.filename} for doc in documents],
        workflow_id=body.workflow_id,
        benchmark_id=body.benchmark_id,
        data_generator=body.data_generator,
        hyperparameters=hyperparameters,
        model_id=aligned_model_id(body.name, project_id),
        model_status=ModelStatus.UNDEPLOYED,
    )
    ProjectRepository(session).add(project)

    project_dir = settings.project_dir(project_id)
    try:
        _snapshot_documents(settings, user, project_dir, documents)
    except BaseException:
        shutil.rmtree(project_dir, ignore_errors=True)
        raise
    enqueue(session, user_id=user.id, kind=JobKind.ALIGN, target_id=project_id)
    log.info("alignment.created", alignment_id=project_id, user_id=user.id, base_model=base.id,
             document_count=len(documents))
    return project


def get_project(session: Session, user: User, project_id: str) -> AlignmentProject:
    project = ProjectRepository(session).get_for_user(user.id, project_id)
    if project is None:
        raise ProjectNotFound(f"Alignment project '{project_id}' not found.")
    return project


def list_projects(session: Session, user: User, limit: int, offset: int) -> tuple[list[AlignmentProject], int]:
    return ProjectRepository(session).list_for_user(user.id, limit, offset)


def to_out(project: AlignmentProject, creator_email: str) -> ProjectOut:
    deployed = project.model_status == ModelStatus.DEPLOYED
    return ProjectOut(
        id=project.id,
        alignment_id=project.id,
        name=project.name,
        description=project.description,
        base_model=project.base_model,
        status=project.status,
        progress=round(project.progress, 2),
        created_date=project.created_at,
        completed_date=project.completed_at,
        documents=[entry["id"] for entry in project.documents],
        document_count=len(project.documents),
        creator=creator_email,
        model_id=project.model_id,
        deployment_status="DEPLOYED" if deployed else "UNDEPLOYED",
        performance_metrics=project.performance_metrics or {},
        estimated_completion=project.estimated_completion,
        error=project.error,
        evaluation_id=project.evaluation_id,
        workflow_id=project.workflow_id,
        benchmark_id=project.benchmark_id,
        hyperparameters=project.hyperparameters or {},
        data_generator=project.data_generator,
        dataset=project.dataset_stats or {},
        training=project.training_state or {},
    )


def read_project_dataset(settings: Settings, project: AlignmentProject, limit: int, offset: int) -> tuple[list[dict[str, Any]], int]:
    from alignd.training.dataset import read_dataset

    path = settings.project_dir(project.id) / "dataset.jsonl"
    if not path.exists():
        return [], 0
    return read_dataset(path, limit=limit, offset=offset)
