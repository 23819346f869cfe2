"""The dbt project follows its conventions: checked on dbt's own parse of it (no warehouse)."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest

from beaconhouse.config import Settings, WarehouseSettings
from beaconhouse.enrich.channels import CHANNELS
from beaconhouse.transform import DBT_PROJECT_DIR, dbt_command, dbt_environment, window_environment

pytestmark = pytest.mark.unit

#: each model's primary key: a column tested not_null + unique, or unique_combination columns
PRIMARY_KEYS = {
    "stg_events": "event_id",
    "stg_sites": "website_id",
    "stg_site_goals": ("website_id", "goal_name"),
    "stg_timezone_offsets": ("timezone", "valid_from"),
    "int_site_offsets_joined": ("website_id", "valid_from"),
    "int_events_sessionised": "event_id",
    "dim_websites": "website_id",
    "fct_sessions": "session_id",
    "fct_page_views": "page_view_id",
    "page_views_hourly": ("website_id", "hour_local", "page_path", "country_code", "device_type"),
    "page_views_daily": ("website_id", "local_date", "page_path", "country_code", "device_type"),
    "traffic_sources_daily": ("website_id", "local_date", "source", "medium", "campaign", "channel"),
    "site_daily": ("website_id", "local_date"),
    "fct_goal_conversions": ("session_id", "goal_name"),
    "goal_conversions_daily": ("website_id", "local_date", "goal_name"),
}


@pytest.fixture(scope="module")
def manifest(tmp_path_factory):
    target = tmp_path_factory.mktemp("dbt_target")
    env = {**os.environ, "DBT_PROFILES_DIR": str(DBT_PROJECT_DIR)}
    result = subprocess.run(
        [*dbt_command("parse")[:4], "--target-path", str(target)],
        env=env,
        cwd=DBT_PROJECT_DIR,
        capture_output=True,
        text=True,
        timeout=300,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return json.loads((target / "manifest.json").read_text())


def models(manifest):
    return {n["name"]: n for n in manifest["nodes"].values() if n["resource_type"] == "model"}


def data_tests_on(manifest, model_name):
    found = []
    for node in manifest["nodes"].values():
        if (
            node["resource_type"] == "test"
            and f"model.beaconhouse.{model_name}" in node["depends_on"]["nodes"]
        ):
            meta = node.get("test_metadata") or {}
            found.append((meta.get("name"), node.get("column_name"), meta.get("kwargs", {})))
    return found


def test_every_model_is_in_its_layer_and_described(manifest):
    for name, node in models(manifest).items():
        folder = Path(node["original_file_path"]).parts[1]
        prefix = {"staging": "stg_", "intermediate": "int_", "monitoring": ""}.get(folder)
        if prefix:
            assert name.startswith(prefix), name
        assert node["description"].strip(), f"{name} has no description"
    assert set(models(manifest)) == {*PRIMARY_KEYS, "int_visitors_first_seen", "late_data_days"}


@pytest.mark.parametrize(("model", "key"), PRIMARY_KEYS.items())
def test_every_primary_key_is_tested(manifest, model, key):
    tests = data_tests_on(manifest, model)
    if isinstance(key, str):
        kinds = {name for name, column, _ in tests if column == key}
        assert {"not_null", "unique"} <= kinds, (model, tests)
    else:
        combos = [kw.get("columns") for name, _, kw in tests if name == "unique_combination"]
        assert list(key) in combos, (model, combos)


def test_daily_models_replace_whole_site_local_days(manifest):
    for name, node in models(manifest).items():
        config = node["config"]
        if config["materialized"] != "incremental":
            continue
        if name == "int_visitors_first_seen":
            assert config["incremental_strategy"] == "append"
            assert "AggregatingMergeTree" in config["engine"]
            assert config["on_schema_change"] == "fail"
            continue
        assert config["incremental_strategy"] == "insert_overwrite", name
        # the project's insert_overwrite checks the columns (macros/insert_overwrite.sql);
        # dbt-clickhouse's check would plan the model a second time
        assert config["on_schema_change"] == "ignore", name
        assert config["partition_by"] == "local_date", name
        assert "in_build_window" in node["raw_code"], f"{name} must filter on the build window"


def test_channel_values_are_the_loaders_channels(manifest):
    for model in ("fct_sessions", "traffic_sources_daily"):
        values = [kw["values"] for name, _, kw in data_tests_on(manifest, model) if name == "accepted_values"]
        assert list(CHANNELS) in values, model


def test_sessionisation_edges_have_unit_tests(manifest):
    names = {n["name"] for n in manifest["unit_tests"].values()}
    assert {
        "session_continues_after_exactly_30_minutes_of_inactivity",
        "session_ends_at_site_local_midnight",
        "a_new_campaign_or_external_referrer_starts_a_session",
        "out_of_order_events_are_sessionised_in_time_then_id_order",
        "a_session_is_cut_after_24_hours_on_a_25_hour_day",
        "duplicate_events_are_dropped",
        "a_single_page_view_is_a_bounce",
    } <= names


def test_sources_declare_freshness(manifest):
    events = manifest["sources"]["source.beaconhouse.raw.events"]
    assert events["loaded_at_field"] == "loaded_at"
    assert events["freshness"]["warn_after"] == {"count": 2, "period": "hour"}


def test_exposures_are_the_superset_dashboards_and_their_marts(manifest):
    from beaconhouse.superset.assets import load_assets

    assets = load_assets()
    exposures = {e["url"]: e for e in manifest["exposures"].values()}
    dashboards = {f"http://127.0.0.1:8088/superset/dashboard/{d.slug}/": d for d in assets.dashboards}
    assert set(exposures) == set(dashboards)
    charts = {c.name: c for c in assets.charts}
    for url, exposure in exposures.items():
        assert exposure["type"] == "dashboard"
        assert exposure["description"].strip()
        tables = {charts[name].dataset for row in dashboards[url].rows for name in row}
        assert set(exposure["depends_on"]["nodes"]) == {f"model.beaconhouse.{t}" for t in tables}


def test_dbt_environment_follows_the_settings():
    settings = Settings(
        warehouse=WarehouseSettings(
            url="https://ch.example:9443", user="u", password="p", raw_database="r", marts_database="m"
        )
    )
    env = dbt_environment(settings, base={"PATH": "/bin"})
    assert env["PATH"] == "/bin"
    assert env["BEACONHOUSE_WAREHOUSE__URL"] == "https://ch.example:9443"
    assert (env["BEACONHOUSE_WAREHOUSE__USER"], env["BEACONHOUSE_WAREHOUSE__PASSWORD"]) == ("u", "p")
    assert (env["BEACONHOUSE_WAREHOUSE__RAW_DATABASE"], env["BEACONHOUSE_WAREHOUSE__MARTS_DATABASE"]) == (
        "r",
        "m",
    )
    assert env["BEACONHOUSE_WAREHOUSE__CLUSTER"] == ""
    assert env["DBT_PROFILES_DIR"] == str(DBT_PROJECT_DIR)


def test_build_window_travels_in_the_environment_not_in_vars():
    import datetime as dt

    day = dt.date(2026, 10, 19)
    assert window_environment(day, day) == {
        "DBT_VAR_MIN_DATE": "2026-10-19",
        "DBT_VAR_MAX_DATE": "2026-10-19",
    }
    # unbounded is explicit, so a window in the calling process cannot leak into the run
    assert window_environment() == {"DBT_VAR_MIN_DATE": "", "DBT_VAR_MAX_DATE": ""}
    with pytest.raises(ValueError, match="after it ends"):
        window_environment(day, day - dt.timedelta(days=1))
    command = dbt_command(
        "build", select=["fct_sessions+"], full_refresh=True, variables={"late_data_lookback_days": 3}
    )
    assert command[1:] == [
        "build",
        "--project-dir",
        str(DBT_PROJECT_DIR),
        "--vars",
        '{"late_data_lookback_days": 3}',
        "--select",
        "fct_sessions+",
        "--full-refresh",
    ]
