"""Build a checkpoint folder in the model cache once, also when several processes ask at once."""

import json
import os
import shutil
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

from filelock import FileLock

from alignd.logging import get_logger

log = get_logger(__name__)

MARKER_FILE = "alignd-checkpoint.json"


def cached_checkpoint(
    cache_dir: Path, folder: str, build: Callable[[Path], None], info: dict[str, Any] | None = None
) -> Path:
    """Return ``cache_dir / folder``, calling ``build(temp_dir)`` first when it does not exist yet.

    ``build`` writes into a fresh folder that is renamed to its final name when it returns,
    so the final folder is complete whenever it exists. A file lock makes every other
    process wait for the one that builds, and then reuse its result.
    """
    target = cache_dir / folder
    if target.is_dir():
        return target

    cache_dir.mkdir(parents=True, exist_ok=True)
    with FileLock(str(cache_dir / f".{folder}.lock")):
        if target.is_dir():
            log.info("catalog.checkpoint_reused", folder=folder)
            return target

        # Only the lock owner builds, so any temp folder found now was left by a process that was killed.
        for stale in cache_dir.glob(f".{folder}.tmp-*"):
            shutil.rmtree(stale, ignore_errors=True)

        started = time.monotonic()
        log.info("catalog.checkpoint_build_started", folder=folder, pid=os.getpid())
        temp_dir = Path(tempfile.mkdtemp(prefix=f".{folder}.tmp-", dir=cache_dir))
        try:
            build(temp_dir)
            marker = {"folder": folder, "built_by_pid": os.getpid(), "built_at": time.time(), **(info or {})}
            (temp_dir / MARKER_FILE).write_text(json.dumps(marker, indent=2), encoding="utf-8")
            # mkdtemp creates the folder private to its owner; the cache is read by every alignd process.
            temp_dir.chmod(0o755)
            os.rename(temp_dir, target)
        except BaseException:
            shutil.rmtree(temp_dir, ignore_errors=True)
            raise

    log.info(
        "catalog.checkpoint_built", folder=folder, pid=os.getpid(), seconds=round(time.monotonic() - started, 1)
    )
    return target
