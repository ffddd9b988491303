"""Service configuration, read from ``ALIGND_*`` environment variables."""

from functools import lru_cache
from pathlib import Path

from pydantic import Field, computed_field
from pydantic_settings import BaseSettings, SettingsConfigDict


class Settings(BaseSettings):
    """Every setting of alignd. Each field maps to the variable ``ALIGND_<FIELD NAME>``."""

    model_config = SettingsConfigDict(env_prefix="ALIGND_", extra="ignore")

    home: Path = Field(
        default=Path("~/.alignd"),
        description="Folder that holds the SQLite database, artifacts, model cache and logs.",
    )
    database_url: str | None = Field(
        default=None,
        description="SQLAlchemy URL of the database. Default: SQLite file alignd.db under home, in WAL mode.",
    )
    artifact_url: Path | None = Field(
        default=None,
        description=(
            "Folder for project artifacts and uploaded documents, shared by every node in a cluster. "
            "Default: home/artifacts, with documents in home/documents."
        ),
    )
    job_backend: str = Field(
        default="embedded",
        description="Where jobs run: 'embedded' (threads and child processes of alignd serve) or 'celery'.",
    )
    broker_url: str = Field(
        default="redis://127.0.0.1:6379/0",
        description="Celery broker URL, used when job_backend is 'celery'.",
    )
    max_concurrent_jobs: int = Field(
        default=1, ge=1, description="Training or evaluation jobs the embedded runner runs at once."
    )
    job_heartbeat_seconds: float = Field(
        default=2.0, gt=0, description="Seconds between heartbeats that a running job writes."
    )
    job_stale_seconds: float = Field(
        default=60.0,
        gt=0,
        description="Seconds without a heartbeat after which a running job counts as dead and is failed.",
    )
    job_stop_timeout_seconds: float = Field(
        default=30.0, gt=0, description="Seconds a delete waits for a running job to stop."
    )
    celery_queue: str = Field(
        default="alignd",
        min_length=1,
        description="Celery queue that API nodes send jobs to and that 'alignd worker' consumes by default.",
    )
    model_sync_seconds: float = Field(
        default=5.0,
        gt=0,
        description=(
            "Seconds between passes in which an API node loads and unloads adapters so that its serving "
            "engine holds exactly the models deployed in the database. Runs only when job_backend is 'celery'."
        ),
    )
    model_task_timeout_seconds: float = Field(
        default=900.0,
        gt=0,
        description=(
            "Seconds after which a deploy or undeploy that is still in progress counts as interrupted, because "
            "its node died; the model then returns to UNDEPLOYED. Used when job_backend is 'celery'."
        ),
    )
    max_upload_bytes: int = Field(
        default=100 * 1024 * 1024, gt=0, description="Largest accepted document file, in bytes."
    )
    device: str = Field(
        default="auto", description="Torch device for training and serving: 'auto', 'cpu' or 'cuda'."
    )
    max_tokens_cap: int = Field(
        default=1024, ge=1, description="Largest max_tokens an inference request may ask for."
    )
    max_queued_requests: int = Field(
        default=16, ge=1, description="Inference requests waiting or running at once; more get 503."
    )
    max_concurrent_streams: int = Field(
        default=8, ge=1, description="Streaming inference responses open at once; more get 503."
    )
    teacher_url: str | None = Field(
        default=None,
        description="Base URL of an OpenAI-compatible chat endpoint for the 'teacher' data generator.",
    )
    teacher_model: str | None = Field(default=None, description="Model name sent to the teacher endpoint.")
    teacher_api_key: str | None = Field(default=None, description="API key sent to the teacher endpoint.")
    log_level: str = Field(default="INFO", description="Lowest level of log lines written.")
    log_json: bool = Field(default=False, description="Write log lines as JSON instead of key=value text.")
    eval_similarity_weight: float = Field(
        default=0.7,
        ge=0.0,
        le=1.0,
        description=(
            "Weight of semantic similarity in an evaluation answer's score, from 0 to 1. Token F1 gets the rest."
        ),
    )
    eval_accuracy_threshold: float = Field(
        default=0.6,
        ge=0.0,
        le=1.0,
        description="Lowest answer score, from 0 to 1, at which an evaluation counts the answer as correct.",
    )
    eval_domain_threshold: float = Field(
        default=0.3,
        ge=-1.0,
        le=1.0,
        description=(
            "Cosine similarity, from -1 to 1, that an answer must reach with at least one chunk of the "
            "source documents. An answer below it counts as a domain violation."
        ),
    )
    eval_max_tokens: int = Field(
        default=128, ge=1, description="Largest number of tokens a model may generate for one benchmark answer."
    )
    judge_url: str | None = Field(
        default=None,
        description=(
            "Base URL of an OpenAI-compatible chat endpoint that grades evaluation answers for the llm_judge "
            "metric. When unset, no answer is sent to a judge."
        ),
    )
    judge_model: str | None = Field(default=None, description="Model name sent to the judge endpoint.")
    judge_api_key: str | None = Field(default=None, description="API key sent to the judge endpoint.")
    judge_timeout_seconds: float = Field(
        default=60.0, gt=0, description="Seconds to wait for one answer of the judge endpoint."
    )

    @computed_field  # type: ignore[prop-decorator]
    @property
    def home_dir(self) -> Path:
        return self.home.expanduser().resolve()

    @property
    def resolved_database_url(self) -> str:
        if self.database_url:
            return self.database_url
        return f"sqlite:///{self.home_dir / 'alignd.db'}"

    @property
    def artifacts_dir(self) -> Path:
        if self.artifact_url is not None:
            return self.artifact_url.expanduser().resolve()
        return self.home_dir / "artifacts"

    @property
    def documents_dir(self) -> Path:
        # With a shared artifact folder, every node must read the documents that any node stored.
        if self.artifact_url is not None:
            return self.artifacts_dir / "documents"
        return self.home_dir / "documents"

    @property
    def model_cache_dir(self) -> Path:
        return self.home_dir / "models"

    @property
    def logs_dir(self) -> Path:
        return self.home_dir / "logs"

    def project_dir(self, project_id: str) -> Path:
        """Return the one folder that holds everything a project writes on disk."""
        return self.artifacts_dir / "projects" / project_id

    def ensure_dirs(self) -> None:
        for path in (self.home_dir, self.artifacts_dir, self.documents_dir, self.model_cache_dir, self.logs_dir):
            path.mkdir(parents=True, exist_ok=True)


@lru_cache
def get_settings() -> Settings:
    return Settings()
