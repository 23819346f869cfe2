"""Generated traffic, loaded and sessionised in databases of its own: the setup that
every test of what sits on the marts (retention, Superset, Druid, the marts) needs."""

from __future__ import annotations

import datetime as dt
import tomllib
import uuid
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.generate.cli import GenerateOptions
from beaconhouse.generate.cli import run as generate
from beaconhouse.ingest.files_pipeline import ingest_files
from beaconhouse.site_metadata import sync_sites
from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations

#: the tables whose rows the tests compare before and after (marts, and the sessionised events)
MARTS = (
    "fct_sessions",
    "fct_page_views",
    "page_views_hourly",
    "page_views_daily",
    "traffic_sources_daily",
    "site_daily",
    "fct_goal_conversions",
    "goal_conversions_daily",
    "int_events_sessionised",
)


@dataclass
class GeneratedTraffic:
    landing: Path
    truth_dir: Path
    #: the generator's [[sites]], ready to edit (goals, retention) before loading
    sites: list[dict[str, Any]]


def generate_traffic(
    tmp: Path, *, sites: int, days: int, start: dt.date, visitors: int, seed: int
) -> GeneratedTraffic:
    landing = tmp / "landing"
    report = generate(
        Settings(),
        GenerateOptions(to=str(landing), sites=sites, days=days, start=start, visitors=visitors, seed=seed),
    )
    site_list = tomllib.loads((report.truth_dir / "sites.toml").read_text())["sites"]
    return GeneratedTraffic(landing, report.truth_dir, site_list)


def isolated_settings(warehouse: Any, sites: list[dict[str, Any]], **sections: Any) -> Settings:
    """Settings whose raw, meta and marts databases no other test uses."""
    suffix = uuid.uuid4().hex[:8]
    warehouse_section = {
        "url": warehouse.url,
        "raw_database": f"raw_{suffix}",
        "meta_database": f"meta_{suffix}",
        "marts_database": f"marts_{suffix}",
    }
    return Settings.model_validate({"warehouse": warehouse_section, "sites": sites, **sections})


def load_traffic(warehouse: Any, settings: Settings, traffic: GeneratedTraffic, tmp: Path) -> None:
    """Migrate the settings' databases, ingest the landing files and publish the sites."""
    client = warehouse.client()
    wh = settings.warehouse
    apply_migrations(
        client, SchemaContext(raw_db=wh.raw_database, meta_db=wh.meta_database, marts_db=wh.marts_database)
    )
    ingest_files(settings, str(traffic.landing), pipelines_dir=tmp / "dlt")
    sync_sites(client, settings)
