"""Where payloads go: the target URL, and the hourly file layout of the landing zone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from pathlib import Path

HOUR_MS = 3_600_000


@dataclass(frozen=True)
class FolderTarget:
    path: Path

    def __str__(self) -> str:
        return str(self.path)


@dataclass(frozen=True)
class S3Target:
    bucket: str
    prefix: str

    def __str__(self) -> str:
        return f"s3://{self.bucket}/{self.prefix}".rstrip("/")


@dataclass(frozen=True)
class KafkaTarget:
    bootstrap_servers: str
    topic: str

    def __str__(self) -> str:
        return f"kafka://{self.bootstrap_servers}/{self.topic}"


Target = FolderTarget | S3Target | KafkaTarget


def parse_target(url: str) -> Target:
    """``kafka://host:port/topic``, ``s3://bucket/prefix`` or a folder (``file://`` optional)."""
    if url.startswith("kafka://"):
        rest = url.removeprefix("kafka://")
        servers, _, topic = rest.partition("/")
        if not servers or not topic or "/" in topic:
            raise ValueError(f"{url!r}: expected kafka://host:port/topic")
        return KafkaTarget(servers, topic)
    if url.startswith("s3://"):
        bucket, _, prefix = url.removeprefix("s3://").partition("/")
        if not bucket:
            raise ValueError(f"{url!r}: expected s3://bucket/prefix")
        return S3Target(bucket, prefix.strip("/"))
    if "://" in url and not url.startswith("file://"):
        raise ValueError(f"{url!r}: expected a folder, s3://bucket/prefix or kafka://host:port/topic")
    return FolderTarget(Path(url.removeprefix("file://")))


def hour_start(ms: int) -> int:
    """The start (epoch ms, UTC) of the hour containing ``ms``."""
    return ms - ms % HOUR_MS


def file_path(website_id: int, hour_ms: int) -> str:
    """The landing file of one site's payloads delivered in one UTC hour, relative to the prefix.

    ``site=<id>/date=YYYY-MM-DD/hour=HH/events-<id>-YYYY-MM-DDTHH.jsonl.gz``
    """
    t = dt.datetime.fromtimestamp(hour_ms / 1000, dt.UTC)
    date, hour = f"{t:%Y-%m-%d}", f"{t:%H}"
    return f"site={website_id}/date={date}/hour={hour}/events-{website_id}-{date}T{hour}.jsonl.gz"
