"""The event contract and its published JSON Schema."""

import json
import subprocess
import sys
from pathlib import Path

import pytest

from beaconhouse.events.contract import EVENT_DECODER, json_schema

pytestmark = pytest.mark.unit
SCHEMA_FILE = Path(__file__).resolve().parents[2] / "schemas" / "event.v1.schema.json"


def test_published_schema_is_the_contract():
    assert json.loads(SCHEMA_FILE.read_text()) == json_schema(), (
        "schemas/event.v1.schema.json is stale: regenerate it with "
        "`beaconhouse events schema > schemas/event.v1.schema.json`"
    )


def test_cli_prints_the_schema():
    out = subprocess.run(
        [sys.executable, "-m", "beaconhouse", "events", "schema"], capture_output=True, text=True, check=True
    ).stdout
    assert json.loads(out) == json_schema()


def test_schema_describes_the_required_fields_and_the_batch_form():
    schema = json_schema()
    event = schema["$defs"]["Event"]
    assert set(event["required"]) == {"type", "ts"}
    assert set(event["properties"]["type"]["enum"]) == {"pageview", "event", "transaction"}
    assert event["additionalProperties"] is False
    assert schema["oneOf"][1]["maxItems"] == 20


def test_a_minimal_event_decodes():
    event = EVENT_DECODER.decode(b'{"type": "pageview", "ts": 1772366400000, "tracking_id": "BH-1"}')
    assert event.type == "pageview"
    assert event.ts == 1772366400000
