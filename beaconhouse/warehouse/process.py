"""Run the embedded warehouse server as a child process, and stop it cleanly.

Used by ``beaconhouse demo`` and by the tests: the server gets its own process, as
it would in production, and everything else talks to it over HTTP.
"""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
from pathlib import Path
from types import TracebackType

from beaconhouse.child_process import ChildExitedError, answers_within, log_tail


def free_port(host: str = "127.0.0.1") -> int:
    """A TCP port nothing listens on right now."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


class EmbeddedWarehouse:
    """``beaconhouse warehouse serve`` in a child process, ready when entered."""

    def __init__(
        self,
        data_dir: Path,
        port: int | None = None,
        host: str = "127.0.0.1",
        config: Path | None = None,
        env: dict[str, str] | None = None,
        log_file: Path | None = None,
    ) -> None:
        self.data_dir = data_dir
        self.host = host
        self.port = port or free_port(host)
        self.config = config
        self.env = env
        self.log_file = log_file or data_dir.parent / f"warehouse-{self.port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 60.0) -> EmbeddedWarehouse:
        command = [sys.executable, "-m", "beaconhouse"]
        if self.config is not None:
            command += ["--config", str(self.config)]
        command += [
            "warehouse",
            "serve",
            "--data-dir",
            str(self.data_dir),
            "--host",
            self.host,
            "--port",
            str(self.port),
        ]
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        log = self.log_file.open("ab")
        self.process = subprocess.Popen(
            command, stdout=log, stderr=subprocess.STDOUT, env={**os.environ, **(self.env or {})}
        )
        log.close()
        try:
            # always http://host:port
            if answers_within(self.process, f"{self.url}/ping", timeout, request_timeout=1, pause=0.05):
                return self
        except ChildExitedError as exc:
            raise RuntimeError(f"warehouse server exited with {exc.returncode}: {self.log_tail()}") from None
        self.stop()
        raise RuntimeError(f"warehouse server did not answer /ping within {timeout:.0f}s")

    def log_tail(self, lines: int = 5) -> str:
        return log_tail(self.log_file, lines)

    def stop(self, timeout: float = 60.0) -> int | None:
        """SIGTERM, wait for a clean exit; SIGKILL only if it hangs."""
        if self.process is None or self.process.poll() is not None:
            return None if self.process is None else self.process.returncode
        self.process.send_signal(signal.SIGTERM)
        try:
            return self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            self.process.kill()
            return self.process.wait()

    def __enter__(self) -> EmbeddedWarehouse:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
