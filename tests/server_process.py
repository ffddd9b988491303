"""Run ``alignd`` commands and an ``alignd serve`` process, as a user would from a shell."""

import os
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

import httpx

ALIGND = [sys.executable, "-m", "alignd.cli.main"]


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def alignd_env(home: Path, **extra: str) -> dict[str, str]:
    env = dict(os.environ)
    env.update({"ALIGND_HOME": str(home), "HF_HUB_OFFLINE": "1", "ALIGND_JOB_HEARTBEAT_SECONDS": "0.5"})
    env.update(extra)
    return env


def create_key(env: dict[str, str], email: str) -> str:
    result = subprocess.run([*ALIGND, "keys", "create", "--user", email], env=env, capture_output=True,
                            text=True, check=True, timeout=120)
    return result.stdout.strip().splitlines()[-1]


class ServerProcess:
    def __init__(self, env: dict[str, str], log_path: Path) -> None:
        self.env = env
        self.port = free_port()
        self.base_url = f"http://127.0.0.1:{self.port}"
        self.log_path = log_path
        self.process: subprocess.Popen[bytes] | None = None

    def start(self, timeout: float = 120.0) -> None:
        log = self.log_path.open("ab")
        self.process = subprocess.Popen(
            [*ALIGND, "serve", "--host", "127.0.0.1", "--port", str(self.port)],
            env=self.env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"alignd serve exited early; see {self.log_path}")
            try:
                if httpx.get(f"{self.base_url}/healthz", timeout=1).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.3)
        raise TimeoutError(f"alignd serve did not become ready; see {self.log_path}")

    def kill(self) -> None:
        """SIGKILL the server alone, as a crash would; its job children must notice and exit."""
        assert self.process is not None
        self.process.send_signal(signal.SIGKILL)
        self.process.wait(timeout=30)

    def terminate(self) -> None:
        """SIGTERM the server alone, as an operator stopping the service would."""
        assert self.process is not None
        self.process.send_signal(signal.SIGTERM)
        self.process.wait(timeout=60)

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
