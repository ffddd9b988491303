"""Run ``ensure_checkpoint`` in several processes at once, for the catalog's concurrency tests."""

import os
import subprocess
import sys
import time
from dataclasses import dataclass
from pathlib import Path

_SCRIPT = """
import os, sys, time
from pathlib import Path
from alignd.config import Settings
from alignd.logging import configure_logging
from alignd.catalog.service import ensure_checkpoint

configure_logging("INFO")
gate = Path(sys.argv[2])
(gate.parent / f"ready-{os.getpid()}").touch()
while not gate.exists():
    time.sleep(0.05)
print(ensure_checkpoint(Settings(), sys.argv[1]), flush=True)
"""


@dataclass
class ProcessResult:
    returncode: int
    stdout: str
    stderr: str


def ensure_in_processes(home: Path, model: str, count: int, timeout: float = 600) -> list[ProcessResult]:
    """Start ``count`` processes, release them together once all have imported alignd, and collect their output."""
    gate_dir = home / "gate"
    gate_dir.mkdir(parents=True)
    gate = gate_dir / "go"
    env = {**os.environ, "ALIGND_HOME": str(home), "HF_HUB_OFFLINE": "1", "OMP_NUM_THREADS": "1"}
    processes = [
        subprocess.Popen(
            [sys.executable, "-c", _SCRIPT, model, str(gate)],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(count)
    ]
    deadline = time.monotonic() + timeout
    while len(list(gate_dir.glob("ready-*"))) < count and time.monotonic() < deadline:
        if any(process.poll() is not None for process in processes):
            break
        time.sleep(0.1)
    gate.touch()

    results = []
    try:
        for process in processes:
            stdout, stderr = process.communicate(timeout=max(1.0, deadline - time.monotonic()))
            results.append(ProcessResult(process.returncode, stdout.strip(), stderr))
    finally:
        for process in processes:
            if process.poll() is None:
                process.kill()
                process.wait()
    return results
