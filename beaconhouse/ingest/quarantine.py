"""Quarantine: why an input could not become a raw event, in a fixed vocabulary.

Every reason is a short stable code (for dashboards and alerts) plus a detail that
says exactly what was wrong and where (for the person fixing the sender).
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import StrEnum
from typing import TYPE_CHECKING

if TYPE_CHECKING:  # events_builder imports this module
    from beaconhouse.ingest.events_builder import Lineage


class Reason(StrEnum):
    """Quarantine reason codes. Documented in docs/ingestion.md."""

    INVALID_UTF8 = "invalid_utf8"
    PAYLOAD_TOO_LARGE = "payload_too_large"
    EMPTY_PAYLOAD = "empty_payload"
    MALFORMED_JSON = "malformed_json"
    NOT_AN_OBJECT = "not_an_object"
    EMPTY_BATCH = "empty_batch"
    BATCH_TOO_LARGE = "batch_too_large"
    MISSING_FIELD = "missing_field"
    WRONG_TYPE = "wrong_type"
    INVALID_VALUE = "invalid_value"
    UNKNOWN_FIELD = "unknown_field"
    UNSUPPORTED_VERSION = "unsupported_version"
    UNKNOWN_WEBSITE = "unknown_website"
    WEBSITE_MISMATCH = "website_mismatch"
    TIMESTAMP_WITHOUT_OFFSET = "timestamp_without_offset"
    TIMESTAMP_IN_FUTURE = "timestamp_in_future"
    TIMESTAMP_TOO_OLD = "timestamp_too_old"
    INVALID_IP = "invalid_ip"
    INVALID_URL = "invalid_url"
    MALFORMED_LOG_LINE = "malformed_log_line"
    INVALID_PARQUET_ROW = "invalid_parquet_row"
    UNREADABLE_FILE = "unreadable_file"


@dataclass(frozen=True, slots=True)
class Rejection:
    """One input that did not become an event."""

    reason: Reason
    detail: str
    raw_payload: bytes
    source_line: int | None
    #: the file, or topic/partition, it came from
    lineage: Lineage
    website_id: int | None = None
    event_id: str | None = None


def reason_from_validation_message(message: str) -> tuple[Reason, str]:
    """Map a msgspec ValidationError message to a reason code and a detail.

    msgspec messages look like ``Expected `str | null`, got `int` - at `$.page.url```.
    """
    text, _, path = message.partition(" - at `")
    path = path.rstrip("`")
    where = f" at {path}" if path else ""
    if text.startswith("Object missing required field"):
        field = text.split("`")[1]
        prefix = path + "." if path else "$."
        return Reason.MISSING_FIELD, f"required field {prefix}{field} is missing"
    if text.startswith("Object contains unknown field"):
        field = text.split("`")[1]
        prefix = path + "." if path else "$."
        return Reason.UNKNOWN_FIELD, f"unknown field {prefix}{field} (free data belongs in properties)"
    if path == "$.v":
        return Reason.UNSUPPORTED_VERSION, f"contract version must be 1: {text}"
    if text.startswith("Expected `object`") and not path:
        return Reason.NOT_AN_OBJECT, f"payload is not an event object: {text}"
    if text.startswith("Expected `") and ", got `" in text:
        return Reason.WRONG_TYPE, text + where
    return Reason.INVALID_VALUE, text + where
