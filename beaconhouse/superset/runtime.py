"""Superset in its own virtual environment: its metadata, its admin, its server process.

Superset pins libraries far older than the rest of the stack (docs/superset.md), so it
never shares beaconhouse's environment: ``make superset`` installs it into
``superset.venv`` from superset/requirements.lock, and this module runs its ``superset``
command there, with superset/superset_config.py and ``SUPERSET_HOME`` set.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
from pathlib import Path
from types import TracebackType

from beaconhouse.child_process import ChildExitedError, answers_within, log_tail
from beaconhouse.config import SupersetSettings

REPO = Path(__file__).resolve().parents[2]
CONFIG_FILE = REPO / "superset" / "superset_config.py"


class SupersetMissingError(Exception):
    """Superset's virtual environment is not there; the message says how to make it."""


class SupersetRuntime:
    """Runs Superset's commands in its virtual environment, against its home."""

    def __init__(self, settings: SupersetSettings) -> None:
        self.settings = settings
        self.venv = settings.venv.resolve()
        self.home = settings.home.resolve()

    @property
    def executable(self) -> Path:
        return self.venv / "bin" / "superset"

    def check_installed(self) -> None:
        """Raise :class:`SupersetMissingError` unless ``superset`` is installed in the venv."""
        if not self.executable.exists():
            raise SupersetMissingError(
                f"Superset is not installed: {self.executable} does not exist; run `make superset`"
            )

    def environment(self) -> dict[str, str]:
        """The process environment Superset's commands run with."""
        env = {
            **os.environ,
            "SUPERSET_CONFIG_PATH": str(CONFIG_FILE),
            "SUPERSET_HOME": str(self.home),
            "FLASK_APP": "superset",
            # the venv's own tools first (celery, gunicorn are looked up on PATH)
            "PATH": f"{self.venv / 'bin'}{os.pathsep}{os.environ.get('PATH', '')}",
        }
        env.pop("VIRTUAL_ENV", None)
        return env

    def admin_password(self) -> str:
        """The configured admin password, else the one generated into the home."""
        if self.settings.admin_password:
            return self.settings.admin_password
        return _generated(self.home / "admin_password")

    def setup(self) -> None:
        """Create or upgrade the metadata database, the admin user and the default roles.

        Idempotent: each step leaves an existing setup as it is.
        """
        self.check_installed()
        self.home.mkdir(parents=True, exist_ok=True)
        if not os.environ.get("SUPERSET_SECRET_KEY"):
            _generated(self.home / "secret_key")
        self.run("db", "upgrade")
        # create-admin prints "user already exists" and exits 0 on a rerun
        self.run(
            "fab",
            "create-admin",
            "--username",
            self.settings.admin_user,
            "--firstname",
            "beaconhouse",
            "--lastname",
            "admin",
            "--email",
            f"{self.settings.admin_user}@beaconhouse.invalid",
            "--password",
            self.admin_password(),
        )
        self.run("init")

    def run(self, *arguments: str) -> None:
        """Run ``superset ARGUMENTS``; a failure raises with the end of its output."""
        result = subprocess.run(
            [str(self.executable), *arguments],
            env=self.environment(),
            capture_output=True,
            text=True,
            check=False,
        )
        if result.returncode != 0:
            tail = " | ".join((result.stdout + result.stderr).strip().splitlines()[-5:])
            raise RuntimeError(f"superset {' '.join(arguments[:2])} failed ({result.returncode}): {tail}")


def _generated(path: Path) -> str:
    """The secret stored in ``path``, created (readable by its owner only) if missing."""
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        path.touch(mode=0o600)
        path.write_text(secrets.token_urlsafe(42) + "\n")
    return path.read_text().strip()


class SupersetServer:
    """``superset run`` in a child process, ready when ``/health`` answers."""

    def __init__(self, runtime: SupersetRuntime, port: int, host: str = "127.0.0.1") -> None:
        self.runtime = runtime
        self.host = host
        self.port = port
        self.log_file = runtime.home / f"superset-{port}.log"
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://{self.host}:{self.port}"

    def start(self, timeout: float = 120.0) -> SupersetServer:
        self.runtime.check_installed()
        self.log_file.parent.mkdir(parents=True, exist_ok=True)
        with self.log_file.open("ab") as log:
            self.process = subprocess.Popen(
                [
                    str(self.runtime.executable),
                    "run",
                    "--host",
                    self.host,
                    "--port",
                    str(self.port),
                    "--with-threads",
                ],
                stdout=log,
                stderr=subprocess.STDOUT,
                env=self.runtime.environment(),
                start_new_session=True,
            )
        try:
            if answers_within(self.process, f"{self.url}/health", timeout, request_timeout=2, pause=0.5):
                return self
        except ChildExitedError as exc:
            raise RuntimeError(f"superset exited with {exc.returncode}: {self.log_tail()}") from None
        self.stop()
        raise RuntimeError(f"superset did not answer /health within {timeout:.0f}s: {self.log_tail()}")

    def log_tail(self, lines: int = 5) -> str:
        return log_tail(self.log_file, lines)

    def wait(self) -> int:
        """Block until the server exits (Ctrl-C stops it); its exit code."""
        assert self.process is not None
        return self.process.wait()

    def stop(self, timeout: float = 30.0) -> None:
        """SIGTERM to its process group (Flask's reloader-free server and its threads)."""
        if self.process is None or self.process.poll() is not None:
            return
        os.killpg(self.process.pid, signal.SIGTERM)
        try:
            self.process.wait(timeout)
        except subprocess.TimeoutExpired:
            os.killpg(self.process.pid, signal.SIGKILL)
            self.process.wait()

    def __enter__(self) -> SupersetServer:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
