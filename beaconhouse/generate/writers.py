"""Deliver hourly payloads: as JSONL.gz files to a folder or S3, or as Kafka messages.

Files are written whole, one per site per UTC hour of delivery, lines in delivery
order. The gzip header carries no name and no mtime, so the same payloads always give
the same bytes. Kafka gets one message per payload (key: the visitor id, timestamp:
the delivery time), all sites merged in delivery order.
"""

from __future__ import annotations

import gzip
import os
from collections.abc import Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from beaconhouse.config import Settings
from beaconhouse.generate.layout import FolderTarget, KafkaTarget, S3Target, Target
from beaconhouse.generate.ratelimit import TokenBucket
from beaconhouse.generate.records import Payload


@dataclass(frozen=True)
class HourFile:
    """One site's payloads of one delivery hour, in file order."""

    website_id: int
    hour_ms: int
    #: path relative to the target's prefix (see :func:`layout.file_path`)
    path: str
    payloads: Sequence[Payload]

    @property
    def weight(self) -> int:
        """Events it carries, counting a malformed payload as one (for the rate limit)."""
        return sum(p.events or 1 for p in self.payloads)


class Sink(Protocol):
    def deliver(self, files: Sequence[HourFile]) -> None:
        """Deliver one hour's files (all sites)."""

    def close(self) -> None:
        """Finish delivering; raise if anything failed."""

    @property
    def bytes_written(self) -> int: ...


def jsonl_gz(payloads: Sequence[Payload], level: int) -> bytes:
    """The file content: one payload per line, gzip without name or mtime."""
    body = b"\n".join(p.line for p in payloads) + b"\n"
    return gzip.compress(body, compresslevel=level, mtime=0)


class _FileSink:
    def __init__(self, level: int, bucket: TokenBucket | None) -> None:
        self.level = level
        self.bucket = bucket
        self._bytes = 0

    @property
    def bytes_written(self) -> int:
        return self._bytes

    def deliver(self, files: Sequence[HourFile]) -> None:
        for file in files:
            if self.bucket is not None:
                self.bucket.take(file.weight)
            data = jsonl_gz(file.payloads, self.level)
            self._write(file.path, data)
            self._bytes += len(data)

    def _write(self, path: str, data: bytes) -> None:
        raise NotImplementedError

    def close(self) -> None:
        pass


class FolderSink(_FileSink):
    """Files under a local folder; each written to a temporary name, then renamed."""

    def __init__(self, root: Path, level: int = 6, bucket: TokenBucket | None = None) -> None:
        super().__init__(level, bucket)
        self.root = root

    def _write(self, path: str, data: bytes) -> None:
        target = self.root / path
        target.parent.mkdir(parents=True, exist_ok=True)
        partial = target.with_name(f".{target.name}.partial")
        partial.write_bytes(data)
        os.replace(partial, target)


class S3Sink(_FileSink):
    """Objects under ``s3://bucket/prefix``, through s3fs, with the ``[s3]`` settings."""

    def __init__(
        self, target: S3Target, settings: Settings, level: int = 6, bucket: TokenBucket | None = None
    ) -> None:
        super().__init__(level, bucket)
        import s3fs

        s3 = settings.s3
        self.fs = s3fs.S3FileSystem(
            key=s3.access_key_id,
            secret=s3.secret_access_key,
            endpoint_url=s3.endpoint_url,
            client_kwargs={"region_name": s3.region},
        )
        self.base = f"{target.bucket}/{target.prefix}".rstrip("/")

    def _write(self, path: str, data: bytes) -> None:
        self.fs.pipe_file(f"{self.base}/{path}", data)


class KafkaSink:
    """One message per payload, key = visitor id, all sites merged in delivery order."""

    def __init__(self, target: KafkaTarget, settings: Settings, bucket: TokenBucket | None = None) -> None:
        from confluent_kafka import Producer

        kafka = settings.kafka
        config: dict[str, Any] = {
            "bootstrap.servers": target.bootstrap_servers,
            "security.protocol": kafka.security_protocol,
            "linger.ms": 20,
            "queue.buffering.max.messages": 500_000,
            "message.max.bytes": 2_000_000,
        }
        for key, value in (
            ("sasl.mechanism", kafka.sasl_mechanism),
            ("sasl.username", kafka.sasl_username),
            ("sasl.password", kafka.sasl_password),
            ("ssl.ca.location", kafka.ssl_ca_location),
        ):
            if value:
                config[key] = value
        self.topic = target.topic
        self.bucket = bucket
        self.producer = Producer(config)
        self.errors: list[str] = []
        self.sent = 0
        self._bytes = 0

    @property
    def bytes_written(self) -> int:
        return self._bytes

    def _on_delivery(self, error: Any, message: Any) -> None:
        if error is not None and len(self.errors) < 10:
            self.errors.append(str(error))

    def deliver(self, files: Sequence[HourFile]) -> None:
        merged = sorted(
            (p for file in files for p in file.payloads), key=lambda p: (p.delivered_at, p.website_id, p.seq)
        )
        for payload in merged:
            if self.bucket is not None:
                self.bucket.take(payload.events or 1)
            while True:
                try:
                    self.producer.produce(
                        self.topic,
                        value=payload.line,
                        key=payload.key,
                        timestamp=payload.delivered_at,
                        on_delivery=self._on_delivery,
                    )
                    break
                except BufferError:
                    self.producer.poll(0.1)
            self.producer.poll(0)
            self.sent += 1
            self._bytes += len(payload.line)
        if self.errors:
            raise RuntimeError(f"kafka delivery failed: {self.errors[0]}")

    def close(self) -> None:
        remaining = self.producer.flush(60)
        # release the client's threads and sockets now, not whenever it is collected:
        # a producer left open keeps reconnecting to a broker that has gone
        self.producer.close()
        if self.errors:
            raise RuntimeError(f"kafka delivery failed: {self.errors[0]}")
        if remaining:
            raise RuntimeError(f"kafka: {remaining} messages still undelivered after 60 s")


def open_sink(target: Target, settings: Settings, *, level: int, bucket: TokenBucket | None) -> Sink:
    """The sink for ``target``."""
    if isinstance(target, FolderTarget):
        return FolderSink(target.path, level, bucket)
    if isinstance(target, S3Target):
        return S3Sink(target, settings, level, bucket)
    return KafkaSink(target, settings, bucket)
