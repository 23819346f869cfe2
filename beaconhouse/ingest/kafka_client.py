"""Kafka clients for the loader: librdkafka settings, topic metadata, log ends.

Everything here talks to the broker; nothing here knows about the warehouse.
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from typing import Any

from beaconhouse.config import KafkaSettings
from beaconhouse.ingest.errors import IngestError

#: librdkafka's "no offset known" (OFFSET_INVALID), as get_watermark_offsets returns it
OFFSET_UNKNOWN = -1001


def security_config(kafka: KafkaSettings) -> dict[str, Any]:
    """Connection and authentication settings shared by every client of the loader."""
    config: dict[str, Any] = {
        "bootstrap.servers": kafka.bootstrap_servers,
        "security.protocol": kafka.security_protocol,
    }
    for key, value in (
        ("sasl.mechanism", kafka.sasl_mechanism),
        ("sasl.username", kafka.sasl_username),
        ("sasl.password", kafka.sasl_password),
        ("ssl.ca.location", kafka.ssl_ca_location),
        ("ssl.certificate.location", kafka.ssl_certificate_location),
        ("ssl.key.location", kafka.ssl_key_location),
        ("ssl.key.password", kafka.ssl_key_password),
    ):
        if value:
            config[key] = value
    return config


def consumer_config(kafka: KafkaSettings, group: str, client_id: str) -> dict[str, Any]:
    """The loader's consumer settings. Positions come from the warehouse, never from
    Kafka: nothing is committed automatically, and no position is ever guessed."""
    config = security_config(kafka)
    # Large fetches: librdkafka's defaults (1 MiB per partition per fetch) left the
    # consumer waiting on round trips (measured: 300k messages from Tansu in 1.7 s with
    # them, 1.0 s with these). The prefetch queue still caps memory at
    # queued.max.messages.kbytes (64 MiB by default).
    config.update({"max.partition.fetch.bytes": 8 << 20, "fetch.max.bytes": 64 << 20})
    config.update(kafka.consumer_options)
    config.update(
        {
            "group.id": group,
            "client.id": client_id,
            # Offsets are committed to the group by hand, after the warehouse has the data.
            "enable.auto.commit": False,
            "enable.auto.offset.store": False,
            # Every assignment gets an explicit offset. Should the broker still find one
            # out of range, fail rather than jump to either end: that would skip or replay.
            "auto.offset.reset": "error",
            # Eager rebalancing: every partition is revoked (and its in-flight load
            # finished) before any is handed to another member.
            "partition.assignment.strategy": "range",
            "enable.partition.eof": False,
            # Never read past an open transaction: aborted messages are not events.
            "isolation.level": "read_committed",
            "session.timeout.ms": kafka.session_timeout_ms,
            "heartbeat.interval.ms": kafka.heartbeat_interval_ms,
            "max.poll.interval.ms": kafka.max_poll_interval_ms,
            "topic.metadata.refresh.interval.ms": kafka.metadata_refresh_interval_ms,
        }
    )
    return config


@dataclass(frozen=True)
class TopicInfo:
    name: str
    partitions: tuple[int, ...]
    #: the broker's id of this incarnation of the topic ("" if the broker has none)
    topic_id: str


def describe_topic(kafka: KafkaSettings, topic: str, timeout: float = 10.0) -> TopicInfo:
    """The topic's partitions and id; :class:`IngestError` if it does not exist or
    the broker cannot be reached."""
    from confluent_kafka import KafkaError, KafkaException, TopicCollection
    from confluent_kafka.admin import AdminClient

    admin = AdminClient(security_config(kafka))
    try:
        # All topics, not just this one: a metadata request naming a missing topic may
        # create it on brokers that auto-create topics (Tansu does).
        metadata = admin.list_topics(timeout=timeout)
    except KafkaException as exc:
        raise IngestError(f"cannot reach Kafka at {kafka.bootstrap_servers}: {_reason(exc)}") from None
    found = metadata.topics.get(topic)
    error = found.error if found is not None else None
    if found is None or (error is not None and error.code() == KafkaError.UNKNOWN_TOPIC_OR_PART):
        raise IngestError(f"kafka topic {topic} does not exist on {kafka.bootstrap_servers}")
    if error is not None:
        raise IngestError(f"kafka topic {topic}: {error.str()}")
    topic_id = ""
    try:
        described = admin.describe_topics(TopicCollection([topic]))[topic].result(timeout)
        topic_id = str(described.topic_id or "")
    except KafkaException:
        pass  # brokers before KIP-516 have no topic ids; the position checks still apply
    if set(topic_id) <= {"A", "="}:  # the all-zero id means "none"
        topic_id = ""
    return TopicInfo(topic, tuple(sorted(found.partitions)), topic_id)


def _reason(exc: Exception) -> str:
    error = exc.args[0] if exc.args else exc
    text = error.str() if hasattr(error, "str") else str(error)
    return str(text)


def confirmed_log_end(
    kafka: KafkaSettings, topic: str, partition: int, start: int, timeout: float = 5.0
) -> int:
    """The partition's high watermark as a fetch response states it, or -1 if none came.

    Asked only when ListOffsets reports a log end below a recorded position, before
    calling that position invalid: a fetch answer is the broker's own view of its log.
    (Tansu 0.6 answers ListOffsets with the last record batch's base offset + 1, below
    the true end whenever that batch holds several records.)
    """
    from confluent_kafka import Consumer, TopicPartition

    probe = Consumer(
        {
            **security_config(kafka),
            "group.id": "beaconhouse-log-end-probe",  # never joined: the probe assigns
            "enable.auto.commit": False,
            "auto.offset.reset": "earliest",
        }
    )
    try:
        probe.assign([TopicPartition(topic, partition, start)])
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            probe.consume(num_messages=1, timeout=0.2)
            _, high = probe.get_watermark_offsets(TopicPartition(topic, partition), cached=True)
            if high >= 0:
                return int(high)
        return -1
    finally:
        probe.close()
