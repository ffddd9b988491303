"""Run an alignment in a forkserver child process, as the job runner does."""

import json
import multiprocessing
from dataclasses import asdict
from pathlib import Path

from alignd.config import Settings
from alignd.training.pipeline import AlignmentSpec, SourceDocument, run_alignment


def _align(settings_json: str, spec_json: str, result_path: str) -> None:
    settings = Settings.model_validate_json(settings_json)
    values = json.loads(spec_json)
    values["documents"] = [SourceDocument(**document) for document in values["documents"]]
    values["output_dir"] = Path(values["output_dir"])
    result = run_alignment(settings, AlignmentSpec(**values), lambda _progress: None, lambda: False)
    Path(result_path).write_text(json.dumps({"adapter_dir": str(result.adapter_dir), "metrics": result.metrics}))


def align_in_forkserver_child(settings: Settings, spec: AlignmentSpec, result_path: Path, timeout: float = 600) -> int:
    """Run ``run_alignment`` in a forkserver child; return its exit code."""
    context = multiprocessing.get_context("forkserver")
    spec_values = {**asdict(spec), "output_dir": str(spec.output_dir)}
    arguments = (settings.model_dump_json(), json.dumps(spec_values), str(result_path))
    process = context.Process(target=_align, args=arguments)
    process.start()
    process.join(timeout)
    if process.is_alive():
        process.kill()
        process.join()
    return process.exitcode
