"""Superset against the embedded warehouse: provisioning, chart data, a dashboard screenshot.

One module-scoped setup: 2 sites x 2 days of generated traffic ingested and built into
the marts; Superset (its own venv, see docs/superset.md) set up in a temporary home,
started on a free port, and provisioned twice from superset/assets. The database
connection logs in as the warehouse's read-only user ``analyst``.

Superset's venv and Debian's chromium are prepared by `make superset` and .ci/run;
when they are missing these tests fail, saying so: they are part of CI.
"""

from __future__ import annotations

import datetime as dt
import json
import math
import subprocess
from pathlib import Path
from typing import Any

import pytest

from beaconhouse.config import Settings
from beaconhouse.superset.api import SupersetApi
from beaconhouse.superset.assets import load_assets
from beaconhouse.superset.provision import ProvisionReport, provision
from beaconhouse.superset.runtime import REPO, SupersetRuntime, SupersetServer
from beaconhouse.transform import dbt_command, run_dbt
from beaconhouse.warehouse.process import free_port
from tests.conftest import USERS
from tests.generated_marts import generate_traffic, isolated_settings, load_traffic

pytestmark = pytest.mark.server

SUPERSET_VENV = REPO / ".superset-venv"
CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
ARTIFACT = REPO / ".beaconhouse" / "artifacts" / "superset-dashboard.png"
GOALS = [
    {"name": "Purchase", "kind": "destination", "page_path": "/checkout/confirmation"},
    {"name": "Engaged", "kind": "duration", "min_duration_seconds": 300},
]

#: each chart's figures computed straight from the fact tables, without any limit:
#: (SQL, the chart's columns in order)
DIRECT = {
    "Page views and visitors over time": """
        SELECT p.local_date, p.pageviews, s.visitors
        FROM (SELECT local_date, count() AS pageviews FROM {m}.fct_page_views GROUP BY ALL) AS p
        INNER JOIN (SELECT local_date, uniqExact(visitor_id) AS visitors FROM {m}.fct_sessions GROUP BY ALL)
            AS s USING (local_date)""",
    "Sessions": "SELECT count() FROM {m}.fct_sessions",
    "Bounce rate": "SELECT countIf(is_bounce) / count() FROM {m}.fct_sessions",
    "Avg. session duration (s)": "SELECT avg(duration_ms) / 1000 FROM {m}.fct_sessions",
    "Top pages": """
        SELECT page_path, count(), uniqExact(visitor_id), countIf(is_entrance)
        FROM {m}.fct_page_views GROUP BY page_path""",
    "Sessions by channel": """
        SELECT traffic_channel, count(), uniqExact(visitor_id) FROM {m}.fct_sessions GROUP BY ALL""",
    "Page views by device": "SELECT device_type, count() FROM {m}.fct_page_views GROUP BY ALL",
    "Page views by country": "SELECT country_code, count() FROM {m}.fct_page_views GROUP BY ALL",
    "Conversions by goal": """
        SELECT c.goal_name, c.conversions, c.conversions / s.sessions
        FROM (SELECT website_id, goal_name, count() AS conversions FROM {m}.fct_goal_conversions GROUP BY ALL)
            AS c
        INNER JOIN (SELECT website_id, count() AS sessions FROM {m}.fct_sessions GROUP BY ALL) AS s
            USING (website_id)""",
}


class Deployment:
    def __init__(
        self, warehouse: Any, settings: Settings, client: Any, api: SupersetApi, server: SupersetServer
    ) -> None:
        self.warehouse = warehouse
        self.settings = settings
        self.client = client
        self.api = api
        self.server = server
        self.reports: list[ProvisionReport] = []

    def rows(self, sql: str) -> list[tuple[Any, ...]]:
        return [
            tuple(r)
            for r in self.client.query(sql.format(m=self.settings.warehouse.marts_database)).result_rows
        ]


def _require_superset() -> None:
    missing = [str(p) for p in (SUPERSET_VENV / "bin" / "superset", CHROMIUM, CHROMEDRIVER) if not p.exists()]
    if missing:
        pytest.fail(
            f"missing {', '.join(missing)}: run `make superset-venv` and `apt-get install -y chromium "
            "chromium-driver` (.ci/run does both)",
            pytrace=False,
        )


@pytest.fixture(scope="module")
def deployment(warehouse, tmp_path_factory) -> Any:
    _require_superset()
    tmp = tmp_path_factory.mktemp("superset")
    traffic = generate_traffic(tmp, sites=2, days=2, start=dt.date(2026, 10, 24), visitors=100, seed=7)
    traffic.sites[0]["goals"] = GOALS
    password, role = USERS["analyst"]
    assert role == "readonly"
    settings = isolated_settings(
        warehouse,
        traffic.sites,
        superset={
            "venv": str(SUPERSET_VENV),
            "home": str(tmp / "home"),
            "database_user": "analyst",
            "database_password": password,
        },
    )
    load_traffic(warehouse, settings, traffic, tmp)
    client = warehouse.client()
    build = run_dbt(
        settings,
        dbt_command(
            "run", variables={"late_data_lookback_days": 3650}, extra=["--target-path", str(tmp / "t")]
        ),
        capture=True,
        timeout=600,
    )
    assert build.returncode == 0, build.stdout[-3000:]

    runtime = SupersetRuntime(settings.superset)
    runtime.setup()
    with SupersetServer(runtime, free_port()) as server:
        api = SupersetApi(server.url, settings.superset.admin_user, runtime.admin_password())
        deployed = Deployment(warehouse, settings, client, api, server)
        assets = load_assets()
        deployed.reports.append(provision(api, assets, settings))
        deployed.reports.append(provision(api, assets, settings))
        yield deployed


def _counts(api: SupersetApi) -> dict[str, list[int]]:
    return {
        kind: sorted(o["id"] for o in api.get(f"/api/v1/{kind}/", q="(page_size:100)")["result"])
        for kind in ("database", "dataset", "chart", "dashboard")
    }


def test_provisioning_creates_everything_once_and_a_rerun_changes_nothing(deployment):
    first, second = deployment.reports
    assets = load_assets()
    created = {(kind, name) for kind, name, action in first.actions if action == "created"}
    assert len(created) == 1 + len(assets.datasets) + len(assets.charts) + len(assets.dashboards)
    assert second.changed == []
    assert (second.database_id, second.dataset_ids, second.chart_ids, second.dashboard_ids) == (
        first.database_id,
        first.dataset_ids,
        first.chart_ids,
        first.dashboard_ids,
    )
    before = _counts(deployment.api)
    third = provision(deployment.api, assets, deployment.settings)
    assert third.changed == []
    assert _counts(deployment.api) == before
    assert [len(before[k]) for k in ("database", "dataset", "chart", "dashboard")] == [1, 9, 9, 1]


def test_every_mart_has_a_dataset_and_no_metric_is_named_like_a_column(deployment):
    marts = {p.stem for p in (REPO / "dbt_project" / "models" / "marts").glob("*.sql")}
    assets = load_assets()
    assert {d.table for d in assets.datasets} == marts
    columns: dict[str, set[str]] = {}
    for table, column in deployment.rows("SELECT table, name FROM system.columns WHERE database = '{m}'"):
        columns.setdefault(table, set()).add(column)
    for dataset in assets.datasets:
        clashes = {m.name for m in dataset.metrics} & columns[dataset.table]
        assert not clashes, f"{dataset.table}: metric names equal to columns: {clashes}"


def test_the_connection_is_the_read_only_warehouse_user(deployment):
    database_id = deployment.reports[0].database_id
    uri = deployment.api.get(f"/api/v1/database/{database_id}/connection")["result"]["sqlalchemy_uri"]
    assert uri.startswith("clickhousedb://analyst:")
    # through Superset's SQL Lab: DML is off for the connection, and the user cannot write
    body = {
        "database_id": database_id,
        "sql": "SELECT count() AS n FROM fct_sessions",
        "schema": deployment.settings.warehouse.marts_database,
        "runAsync": False,
    }
    result = deployment.api.post("/api/v1/sqllab/execute/", body)
    assert result["data"][0]["n"] == deployment.rows("SELECT count() FROM {m}.fct_sessions")[0][0] > 0
    analyst = deployment.warehouse.client("analyst", USERS["analyst"][0])
    with pytest.raises(Exception, match="READONLY"):
        analyst.command(
            f"CREATE TABLE {deployment.settings.warehouse.marts_database}.x (a Int8) ENGINE = Memory"
        )


def _close(a: Any, b: Any) -> bool:
    if isinstance(a, float) or isinstance(b, float):
        return math.isclose(float(a), float(b), rel_tol=1e-9)
    return bool(a == b)


def _normalise(value: Any) -> Any:
    if isinstance(value, dt.date):
        return value.isoformat()
    return value


def test_every_chart_shows_what_the_warehouse_computes(deployment):
    assets = load_assets()
    assert set(DIRECT) == {c.name for c in assets.charts}
    for chart in assets.charts:
        chart_id = deployment.reports[0].chart_ids[chart.name]
        result = deployment.api.get(f"/api/v1/chart/{chart_id}/data/")["result"][0]
        columns = result["colnames"]
        got = []
        for row in result["data"]:
            values = [row[c] for c in columns]
            if chart.x_axis and chart.time_grain:  # temporal axis: epoch milliseconds
                values[0] = dt.datetime.fromtimestamp(values[0] / 1000, dt.UTC).date().isoformat()
            got.append(tuple(values))
        expected = [tuple(_normalise(v) for v in row) for row in deployment.rows(DIRECT[chart.name])]
        assert expected, chart.name
        assert len(got) == min(chart.row_limit, len(expected)), chart.name
        by_key = {row[: -len(chart.metrics)] or (): row for row in expected}
        for row in got:
            key = row[: -len(chart.metrics)] or ()
            assert key in by_key, (chart.name, row)
            assert all(_close(a, b) for a, b in zip(row, by_key[key], strict=True)), (
                chart.name,
                row,
                by_key[key],
            )
        if chart.order_by:
            at = len(columns) - len(chart.metrics) + list(chart.metrics).index(chart.order_by)
            shown = [r[at] for r in got]
            assert shown == sorted(shown, reverse=True), chart.name
            left_out = [
                r[at]
                for r in expected
                if r[: -len(chart.metrics)] not in {g[: -len(chart.metrics)] for g in got}
            ]
            assert all(v <= shown[-1] for v in left_out), chart.name


def test_the_dashboard_renders_every_chart_in_headless_chromium(deployment):
    ARTIFACT.parent.mkdir(parents=True, exist_ok=True)
    ARTIFACT.unlink(missing_ok=True)
    settings = deployment.settings.superset
    run = subprocess.run(
        [
            str(SUPERSET_VENV / "bin" / "python"),
            str(Path(__file__).parent / "dashboard_screenshot.py"),
            deployment.server.url,
            settings.admin_user,
            SupersetRuntime(settings).admin_password(),
            "traffic-overview",
            str(ARTIFACT),
        ],
        capture_output=True,
        text=True,
        timeout=300,
        check=False,
    )
    assert run.returncode == 0, run.stderr[-3000:]
    page = json.loads(run.stdout.strip().splitlines()[-1])
    charts = [c.name for c in load_assets().charts]
    assert page["charts"] == len(charts)
    assert set(charts) <= set(page["titles"])
    assert page["errors"] == []
    # a blank page or a login form has a few colours on white; the charts bring many
    assert page["distinct_colours"] > 200
    assert page["foreground_share"] > 0.05
    assert ARTIFACT.stat().st_size > 50_000


def test_superset_up_refuses_a_warehouse_user_that_can_write(deployment):
    from beaconhouse.config import ConfigError
    from beaconhouse.superset.commands import check_read_only_user

    check_read_only_user(deployment.settings)  # analyst: read-only, accepted
    loader = deployment.settings.model_copy(
        update={
            "superset": deployment.settings.superset.model_copy(
                update={"database_user": "loader", "database_password": USERS["loader"][0]}
            )
        }
    )
    with pytest.raises(ConfigError, match="loader can write"):
        check_read_only_user(loader)
