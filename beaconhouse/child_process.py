"""Servers beaconhouse runs as child processes (the embedded warehouse, Superset):
waiting until one answers over HTTP, and the end of its log for error messages."""

from __future__ import annotations

import subprocess
import time
import urllib.error
import urllib.request
from pathlib import Path


def log_tail(path: Path, lines: int = 5) -> str:
    """The last ``lines`` lines of a log file on one line, or "" if it cannot be read."""
    try:
        return " | ".join(path.read_text(errors="replace").strip().splitlines()[-lines:])
    except OSError:
        return ""


def answers_within(
    process: subprocess.Popen[bytes], url: str, timeout: float, *, request_timeout: float, pause: float
) -> bool:
    """True once ``url`` answers 200, False when ``timeout`` passes first.

    Raises :class:`ChildExitedError` if the process exits while we wait: no point waiting on.
    """
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise ChildExitedError(process.returncode)
        try:
            with urllib.request.urlopen(url, timeout=request_timeout) as response:  # noqa: S310 - our child
                if response.status == 200:
                    return True
        except (urllib.error.URLError, OSError):
            time.sleep(pause)
    return False


class ChildExitedError(RuntimeError):
    """The child process exited before it answered."""

    def __init__(self, returncode: int) -> None:
        super().__init__(f"exited with {returncode}")
        self.returncode = returncode
