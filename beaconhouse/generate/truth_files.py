"""Write the ground truth folder: sites.toml, truth.json and CSV tables.

- ``sites.toml``: the simulated sites, as beaconhouse.toml ``[[sites]]`` tables;
- ``truth.json``: the run's parameters, the sites, and every table below;
- ``marts_daily.csv``: per site and site-local day (see :mod:`.truth`);
- ``raw_daily.csv``: per site and UTC day, one ``malformed_<kind>`` column per kind;
- ``malformed.csv``: every malformed payload, with its file, line, kind and reason.

Every file is a pure function of the run's options, so the same seed writes the same
bytes.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

import orjson

from beaconhouse.config import Site
from beaconhouse.generate.malformed import KINDS
from beaconhouse.generate.sites import sites_toml
from beaconhouse.generate.truth import MartDay, RawDay, Truth

EVENT_TYPES = ("pageview", "event", "transaction")
MART_COLUMNS = (
    "website_id",
    "date",
    "pageviews",
    "visitors",
    "sessions",
    "bounces",
    "conversions",
    "revenue",
    "currency",
)
RAW_COLUMNS = (
    "website_id",
    "date",
    *EVENT_TYPES,
    "bot_events",
    "late_events",
    "duplicate_deliveries",
    "malformed",
    *(f"malformed_{kind}" for kind in KINDS),
    "payload_lines",
)
MALFORMED_COLUMNS = ("website_id", "path", "line", "kind", "reason", "detail", "received_at", "bytes")


def mart_row(day: MartDay) -> dict[str, Any]:
    return {
        "website_id": day.website_id,
        "date": day.date.isoformat(),
        "pageviews": day.pageviews,
        "visitors": day.visitors,
        "sessions": day.sessions,
        "bounces": day.bounces,
        "conversions": day.conversions,
        "revenue": float(day.revenue),
        "currency": day.currency,
    }


def raw_row(day: RawDay) -> dict[str, Any]:
    return {
        "website_id": day.website_id,
        "date": day.date.isoformat(),
        "events": {t: day.events.get(t, 0) for t in EVENT_TYPES},
        "bot_events": day.bot_events,
        "late_events": day.late_events,
        "duplicate_deliveries": day.duplicate_deliveries,
        "malformed": dict(sorted(day.malformed.items())),
        "payload_lines": day.payload_lines,
    }


def totals(truth: Truth) -> dict[int, dict[str, Any]]:
    """Per-site totals over the whole run."""
    out: dict[int, dict[str, Any]] = {}
    for raw in truth.raw:
        t = out.setdefault(
            raw.website_id,
            {
                "payload_lines": 0,
                "events": 0,
                "bot_events": 0,
                "late_events": 0,
                "duplicate_deliveries": 0,
                "malformed": 0,
            },
        )
        t["payload_lines"] += raw.payload_lines
        t["events"] += sum(raw.events.values())
        t["bot_events"] += raw.bot_events
        t["late_events"] += raw.late_events
        t["duplicate_deliveries"] += raw.duplicate_deliveries
        t["malformed"] += sum(raw.malformed.values())
    for mart in truth.marts:
        t = out.setdefault(mart.website_id, {})
        for key in ("pageviews", "sessions", "bounces", "conversions"):
            t[key] = t.get(key, 0) + getattr(mart, key)
    return dict(sorted(out.items()))


def write_truth(
    folder: Path, truth: Truth, sites: Sequence[Site], generator: Mapping[str, Any]
) -> list[Path]:
    """Write the truth files into ``folder``; returns their paths."""
    folder.mkdir(parents=True, exist_ok=True)
    marts = [mart_row(day) for day in truth.marts]
    raws = [raw_row(day) for day in truth.raw]
    malformed = [{c: getattr(m, c) for c in MALFORMED_COLUMNS} for m in truth.malformed]
    document = {
        "generator": dict(generator),
        "sites": [site.model_dump() for site in sites],
        "totals": {str(k): v for k, v in totals(truth).items()},
        "marts_daily": marts,
        "raw_daily": raws,
        "malformed": malformed,
    }
    flat_raws = []
    for row in raws:
        flat = {k: v for k, v in row.items() if k not in ("events", "malformed")}
        flat.update(row["events"])
        flat["malformed"] = sum(row["malformed"].values())
        flat.update({f"malformed_{kind}": row["malformed"].get(kind, 0) for kind in KINDS})
        flat_raws.append(flat)
    files = {
        "sites.toml": sites_toml(sites).encode(),
        "truth.json": orjson.dumps(document, option=orjson.OPT_INDENT_2) + b"\n",
        "marts_daily.csv": _csv(MART_COLUMNS, marts),
        "raw_daily.csv": _csv(RAW_COLUMNS, flat_raws),
        "malformed.csv": _csv(MALFORMED_COLUMNS, malformed),
    }
    written = []
    for name, data in files.items():
        path = folder / name
        path.write_bytes(data)
        written.append(path)
    return written


def _csv(columns: Sequence[str], rows: Sequence[Mapping[str, Any]]) -> bytes:
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    writer.writeheader()
    for row in rows:
        writer.writerow({c: row[c] for c in columns})
    return buffer.getvalue().encode()
