"""Registry of job kinds: the function that runs each kind and the hook that records its failure."""

import importlib
from collections.abc import Callable
from typing import Any

from sqlalchemy.orm import Session

from alignd.config import Settings

# kind -> "module:function" of the job body, called in a child process as fn(settings, job_id).
RUNNERS: dict[str, str] = {
    "align": "alignd.alignments.tasks:run_alignment_job",
    "evaluate": "alignd.evaluations.tasks:run_evaluation_job",
    "benchmark": "alignd.benchmarks.tasks:run_benchmark_job",
}

# kind -> "module:function" called as fn(session, target_id, error) when a job of that kind
# fails outside its own body (its process died, or a restart found it interrupted).
FAILURE_HOOKS: dict[str, str] = {
    "align": "alignd.alignments.tasks:mark_alignment_failed",
    "evaluate": "alignd.evaluations.tasks:mark_evaluation_failed",
    "benchmark": "alignd.benchmarks.tasks:mark_benchmark_failed",
}


def _load(path: str) -> Callable[..., Any]:
    module_name, _, attribute = path.partition(":")
    return getattr(importlib.import_module(module_name), attribute)


def runner_for(kind: str) -> Callable[[Settings, str], None]:
    return _load(RUNNERS[kind])


def failure_hook_for(kind: str) -> Callable[[Session, str, str], None] | None:
    path = FAILURE_HOOKS.get(kind)
    if path is None:
        return None
    try:
        return _load(path)
    except (ImportError, AttributeError):
        return None
