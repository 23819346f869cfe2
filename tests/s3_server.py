"""A real S3 endpoint for tests: moto's server, on a free port, in its own process."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from types import TracebackType

import requests

from beaconhouse.config import S3Settings
from beaconhouse.warehouse.process import free_port

ACCESS_KEY = "beaconhouse-test"
SECRET_KEY = "beaconhouse-test-secret"


class MotoS3:
    """``moto_server`` on 127.0.0.1; ``settings`` points beaconhouse's S3 clients at it."""

    def __init__(self) -> None:
        self.port = free_port()
        self.process: subprocess.Popen[bytes] | None = None

    @property
    def endpoint(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def settings(self) -> S3Settings:
        return S3Settings(
            endpoint_url=self.endpoint,
            region="us-east-1",
            access_key_id=ACCESS_KEY,
            secret_access_key=SECRET_KEY,
        )

    def start(self, timeout: float = 30.0) -> MotoS3:
        server = Path(sys.executable).parent / "moto_server"
        self.process = subprocess.Popen(
            [str(server), "-H", "127.0.0.1", "-p", str(self.port)],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            try:
                requests.get(self.endpoint, timeout=5)
                return self
            except (requests.ConnectionError, requests.Timeout):
                # not listening yet, or listening and still importing for its first
                # answer (over a second on a busy machine)
                time.sleep(0.1)
        self.stop()
        raise RuntimeError("moto_server did not start")

    def client(self):
        import boto3

        return boto3.client(
            "s3",
            endpoint_url=self.endpoint,
            region_name="us-east-1",
            aws_access_key_id=ACCESS_KEY,
            aws_secret_access_key=SECRET_KEY,
        )

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            self.process.wait(10)

    def __enter__(self) -> MotoS3:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()
