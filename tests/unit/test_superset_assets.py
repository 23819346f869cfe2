"""The Superset asset files: they load, point at things that exist, and become queries."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from beaconhouse.cli import main
from beaconhouse.config import ConfigError, Settings
from beaconhouse.superset.assets import ASSETS_DIR, load_assets
from beaconhouse.superset.provision import database_uri, form_data, position_json, query_context

pytestmark = pytest.mark.unit


def test_the_repo_assets_load_and_every_chart_is_on_a_dashboard():
    assets = load_assets()
    placed = {name for d in assets.dashboards for row in d.rows for name in row}
    assert placed == {c.name for c in assets.charts}
    assert len(assets.charts) >= 9


@pytest.mark.parametrize(
    ("file", "old", "new", "message"),
    [
        ("charts.yaml", "dataset: site_daily", "dataset: nowhere", "no dataset 'nowhere'"),
        ("charts.yaml", "metrics: [total_sessions]", "metrics: [sessions]", "has no metric 'sessions'"),
        ("dashboards.yaml", "[Sessions, Bounce rate", "[Session, Bounce rate", "no chart 'Session'"),
        ("charts.yaml", "viz_type: pie", "viz_type: sunburst", "viz_type"),
        ("datasets.yaml", "- table: dim_websites", "- table: site_daily", "two datasets named site_daily"),
    ],
)
def test_a_broken_reference_is_one_line_naming_it(tmp_path: Path, file, old, new, message):
    directory = tmp_path / "assets"
    shutil.copytree(ASSETS_DIR, directory)
    text = (directory / file).read_text()
    assert old in text
    (directory / file).write_text(text.replace(old, new, 1))
    with pytest.raises(ConfigError, match=message) as caught:
        load_assets(directory)
    assert "\n" not in str(caught.value)


def test_a_time_series_query_groups_by_its_time_grain_and_stores_no_pivot():
    chart = next(c for c in load_assets().charts if c.name == "Page views and visitors over time")
    context = query_context(chart, 7)
    (query,) = context["queries"]
    assert query["columns"] == [
        {
            "columnType": "BASE_AXIS",
            "sqlExpression": "local_date",
            "label": "local_date",
            "expressionType": "SQL",
            "timeGrain": "P1D",
        }
    ]
    assert query["metrics"] == ["total_pageviews", "unique_visitors"]
    assert "post_processing" not in query
    assert context["datasource"] == {"id": 7, "type": "table"}
    assert context["form_data"] == form_data(chart, 7)
    assert context["form_data"]["datasource"] == "7__table"


def test_single_metric_charts_use_superset_s_metric_key():
    pie = next(c for c in load_assets().charts if c.viz_type == "pie")
    data = form_data(pie, 1)
    assert data["metric"] == pie.metrics[0]
    assert "metrics" not in data
    assert query_context(pie, 1)["queries"][0]["orderby"] == [[pie.order_by, False]]


def test_the_layout_places_every_chart_once_in_its_row():
    assets = load_assets()
    dashboard = assets.dashboards[0]
    ids = {c.name: n for n, c in enumerate(assets.charts, start=100)}
    layout = position_json(dashboard, ids)
    charts = [v for v in layout.values() if isinstance(v, dict) and v.get("type") == "CHART"]
    assert sorted(c["meta"]["chartId"] for c in charts) == sorted(ids.values())
    for row_id in layout["GRID_ID"]["children"]:
        widths = [layout[child]["meta"]["width"] for child in layout[row_id]["children"]]
        assert sum(widths) <= 12


def test_the_connection_url_is_the_read_only_user_on_the_marts():
    settings = Settings.model_validate(
        {
            "warehouse": {"url": "https://ch.example:9443", "marts_database": "analytics"},
            "superset": {"database_user": "bi reader", "database_password": "p@ss/word"},
        }
    )
    assert database_uri(settings) == (
        "clickhousedb://bi%20reader:p%40ss%2Fword@ch.example:9443/analytics?secure=true"
    )


def test_bad_superset_arguments_are_one_line(capsys):
    assert main(["superset", "up", "--port", "0"]) == 2
    assert main(["superset", "nothing"]) == 2
    errors = capsys.readouterr().err.strip().splitlines()
    assert len(errors) == 2
    assert all(line.startswith("error: ") for line in errors)


def test_superset_up_without_the_read_only_password_says_which_setting(capsys, monkeypatch, tmp_path):
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("BEACONHOUSE_SUPERSET__DATABASE_PASSWORD", raising=False)
    assert main(["superset", "up"]) == 2
    assert "superset.database_password" in capsys.readouterr().err
