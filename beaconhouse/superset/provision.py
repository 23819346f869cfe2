"""Apply the repo's Superset assets through the REST API, idempotently.

Each object is looked up by its name (the database by name, datasets by table, charts
by name, dashboards by slug), created when missing, updated only when it differs from
the files, and left alone otherwise: a second run changes nothing and says so.
Objects Superset holds that the files do not name are left alone too.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any, Literal
from urllib.parse import quote, urlsplit

from beaconhouse.config import Settings
from beaconhouse.superset.api import SupersetApi
from beaconhouse.superset.assets import (
    SINGLE_METRIC,
    TIMESERIES,
    Assets,
    ChartAsset,
    DashboardAsset,
    DatasetAsset,
)

Action = Literal["created", "updated", "unchanged"]


@dataclass
class ProvisionReport:
    """What a run did to each object, and the ids of the objects."""

    actions: list[tuple[str, str, Action]] = field(default_factory=list)
    database_id: int = 0
    dataset_ids: dict[str, int] = field(default_factory=dict)
    chart_ids: dict[str, int] = field(default_factory=dict)
    dashboard_ids: dict[str, int] = field(default_factory=dict)

    def record(self, kind: str, name: str, action: Action) -> None:
        self.actions.append((kind, name, action))

    @property
    def changed(self) -> list[tuple[str, str, Action]]:
        return [a for a in self.actions if a[2] != "unchanged"]


def database_uri(settings: Settings) -> str:
    """The read-only connection's SQLAlchemy URL (clickhouse-connect's dialect)."""
    url = urlsplit(settings.warehouse.url)
    secure = url.scheme == "https"
    host = url.hostname or "127.0.0.1"
    port = url.port or (8443 if secure else 8123)
    user = quote(settings.superset.database_user, safe="")
    password = quote(settings.superset.database_password, safe="")
    query = "?secure=true" if secure else ""
    return f"clickhousedb://{user}:{password}@{host}:{port}/{settings.warehouse.marts_database}{query}"


def provision(api: SupersetApi, assets: Assets, settings: Settings) -> ProvisionReport:
    """Make Superset hold what ``assets`` describe; returns what changed."""
    report = ProvisionReport()
    report.database_id = _database(api, assets, settings, report)
    schema = settings.warehouse.marts_database
    for dataset in assets.datasets:
        report.dataset_ids[dataset.table] = _dataset(api, dataset, report.database_id, schema, report)
    for dashboard in assets.dashboards:
        report.dashboard_ids[dashboard.slug] = _dashboard_shell(api, dashboard, report)
    for chart in assets.charts:
        dashboards = [
            report.dashboard_ids[d.slug] for d in assets.dashboards if any(chart.name in r for r in d.rows)
        ]
        report.chart_ids[chart.name] = _chart(
            api, chart, report.dataset_ids[chart.dataset], sorted(dashboards), report
        )
    for dashboard in assets.dashboards:
        _dashboard_layout(api, dashboard, report.dashboard_ids[dashboard.slug], report)
    return report


def _one(found: list[dict[str, Any]], kind: str, name: str) -> dict[str, Any] | None:
    if len(found) > 1:
        raise ValueError(f"Superset holds {len(found)} {kind}s named {name!r}; remove all but one")
    return found[0] if found else None


def _database(api: SupersetApi, assets: Assets, settings: Settings, report: ProvisionReport) -> int:
    name = assets.database.name
    uri = database_uri(settings)
    body: dict[str, Any] = {
        "database_name": name,
        "sqlalchemy_uri": uri,
        "expose_in_sqllab": assets.database.expose_in_sqllab,
        "allow_dml": False,
        "allow_ctas": False,
        "allow_cvas": False,
        "allow_file_upload": False,
    }
    existing = _one(api.find("database", "database_name", name), "database", name)
    if existing is None:
        created = api.post("/api/v1/database/", body)
        report.record("database", name, "created")
        return int(created["id"])
    database_id = int(existing["id"])
    current = api.get(f"/api/v1/database/{database_id}/connection")["result"]
    # Superset masks the stored password; compare the rest of the URL and the flags,
    # and send the password only when something else changes.
    same = _mask_password(current["sqlalchemy_uri"]) == _mask_password(uri) and all(
        current.get(key) == value for key, value in body.items() if key != "sqlalchemy_uri"
    )
    if same:
        report.record("database", name, "unchanged")
    else:
        api.put(f"/api/v1/database/{database_id}", body)
        report.record("database", name, "updated")
    return database_id


def _mask_password(uri: str) -> str:
    parts = urlsplit(uri)
    if parts.password is None:
        return uri
    netloc = f"{parts.username}:***@{parts.hostname}" + (f":{parts.port}" if parts.port else "")
    return parts._replace(netloc=netloc).geturl()


def _dataset(
    api: SupersetApi, dataset: DatasetAsset, database_id: int, schema: str, report: ProvisionReport
) -> int:
    found = [
        d
        for d in api.find("dataset", "table_name", dataset.table)
        if d["database"]["id"] == database_id and d.get("schema") == schema
    ]
    existing = _one(found, "dataset", dataset.table)
    action: Action = "unchanged"
    if existing is None:
        created = api.post(
            "/api/v1/dataset/", {"database": database_id, "schema": schema, "table_name": dataset.table}
        )
        dataset_id = int(created["id"])
        action = "created"
    else:
        dataset_id = int(existing["id"])
    current = api.get(f"/api/v1/dataset/{dataset_id}")["result"]
    current_metrics = {m["metric_name"]: m for m in current["metrics"]}
    wanted_metrics: list[dict[str, Any]] = [
        {
            "metric_name": m.name,
            "expression": m.expression,
            "verbose_name": m.label,
            "d3format": m.d3format,
        }
        for m in dataset.metrics
    ]
    same_metrics = len(current_metrics) == len(wanted_metrics) and all(
        m["metric_name"] in current_metrics
        and all(current_metrics[m["metric_name"]].get(k) == v for k, v in m.items())
        for m in wanted_metrics
    )
    same_table = (current.get("description") or "") == dataset.description and current.get(
        "main_dttm_col"
    ) == dataset.main_dttm_col
    if not (same_metrics and same_table):
        # Metrics with the id of an existing one update it; the rest are created, and
        # metrics not in the list are deleted (Superset's DatasetDAO.update_metrics).
        metrics = [dict(m) for m in wanted_metrics]
        for metric in metrics:
            if metric["metric_name"] in current_metrics:
                metric["id"] = current_metrics[metric["metric_name"]]["id"]
        api.put(
            f"/api/v1/dataset/{dataset_id}",
            {"description": dataset.description, "main_dttm_col": dataset.main_dttm_col, "metrics": metrics},
        )
        if action == "unchanged":
            action = "updated"
    report.record("dataset", dataset.table, action)
    return dataset_id


def form_data(chart: ChartAsset, dataset_id: int) -> dict[str, Any]:
    """The chart's form data (``params``), as Superset's explore view would save it."""
    data: dict[str, Any] = {
        "datasource": f"{dataset_id}__table",
        "viz_type": chart.viz_type,
        "adhoc_filters": [],
        "time_range": "No filter",
        "row_limit": chart.row_limit,
    }
    if chart.viz_type in SINGLE_METRIC:
        data["metric"] = chart.metrics[0]
    else:
        data["metrics"] = list(chart.metrics)
    data["groupby"] = list(chart.groupby)
    if chart.viz_type in TIMESERIES:
        data["x_axis"] = chart.x_axis
        if chart.time_grain:
            data["time_grain_sqla"] = chart.time_grain
    if chart.viz_type == "table":
        data["query_mode"] = "aggregate"
    if chart.order_by:
        data["timeseries_limit_metric"] = chart.order_by
        data["order_desc"] = True
        if chart.viz_type == "pie":
            data["sort_by_metric"] = True
        if chart.viz_type in TIMESERIES:
            data["x_axis_sort"] = chart.order_by
            data["x_axis_sort_asc"] = False
    return {**data, **chart.options}


def query_context(chart: ChartAsset, dataset_id: int) -> dict[str, Any]:
    """The saved query ``GET /api/v1/chart/{id}/data/`` runs: the chart's rows, unpivoted."""
    columns: list[Any] = []
    if chart.x_axis:
        axis: dict[str, Any] = {
            "columnType": "BASE_AXIS",
            "sqlExpression": chart.x_axis,
            "label": chart.x_axis,
            "expressionType": "SQL",
        }
        if chart.time_grain:
            axis["timeGrain"] = chart.time_grain
        columns.append(axis)
    columns += list(chart.groupby)
    query = {
        "columns": columns,
        "metrics": list(chart.metrics),
        "orderby": [[chart.order_by, False]] if chart.order_by else [],
        "row_limit": chart.row_limit,
        "filters": [],
        "extras": {"having": "", "where": ""},
        "time_range": "No filter",
        "series_limit": 0,
        "annotation_layers": [],
        "applied_time_extras": {},
        "url_params": {},
        "custom_params": {},
        "custom_form_data": {},
    }
    return {
        "datasource": {"id": dataset_id, "type": "table"},
        "force": False,
        "queries": [query],
        "form_data": form_data(chart, dataset_id),
        "result_format": "json",
        "result_type": "full",
    }


def _chart(
    api: SupersetApi, chart: ChartAsset, dataset_id: int, dashboards: list[int], report: ProvisionReport
) -> int:
    params = form_data(chart, dataset_id)
    query = query_context(chart, dataset_id)
    body = {
        "slice_name": chart.name,
        "viz_type": chart.viz_type,
        "datasource_id": dataset_id,
        "datasource_type": "table",
        "params": json.dumps(params, sort_keys=True),
        "query_context": json.dumps(query, sort_keys=True),
        "dashboards": dashboards,
    }
    existing = _one(api.find("chart", "slice_name", chart.name), "chart", chart.name)
    if existing is None:
        created = api.post("/api/v1/chart/", body)
        report.record("chart", chart.name, "created")
        return int(created["id"])
    chart_id = int(existing["id"])
    current = api.get(f"/api/v1/chart/{chart_id}")["result"]
    same = (
        current["viz_type"] == chart.viz_type
        and _json(current.get("params")) == params
        and _json(current.get("query_context")) == query
        and sorted(d["id"] for d in current.get("dashboards", [])) == dashboards
    )
    if same:
        report.record("chart", chart.name, "unchanged")
    else:
        api.put(f"/api/v1/chart/{chart_id}", body)
        report.record("chart", chart.name, "updated")
    return chart_id


def _json(text: str | None) -> Any:
    return json.loads(text) if text else None


def _dashboard_shell(api: SupersetApi, dashboard: DashboardAsset, report: ProvisionReport) -> int:
    """The dashboard, found by slug or created empty (its layout needs the charts' ids)."""
    existing = _one(api.find("dashboard", "slug", dashboard.slug), "dashboard", dashboard.slug)
    if existing is not None:
        return int(existing["id"])
    created = api.post(
        "/api/v1/dashboard/", {"dashboard_title": dashboard.title, "slug": dashboard.slug, "published": True}
    )
    report.record("dashboard", dashboard.slug, "created")
    return int(created["id"])


def position_json(dashboard: DashboardAsset, chart_ids: dict[str, int]) -> dict[str, Any]:
    """The dashboard's layout: a grid of rows of charts (Superset's v2 layout format)."""
    layout: dict[str, Any] = {
        "DASHBOARD_VERSION_KEY": "v2",
        "ROOT_ID": {"type": "ROOT", "id": "ROOT_ID", "children": ["GRID_ID"]},
        "GRID_ID": {"type": "GRID", "id": "GRID_ID", "children": [], "parents": ["ROOT_ID"]},
        "HEADER_ID": {"type": "HEADER", "id": "HEADER_ID", "meta": {"text": dashboard.title}},
    }
    for number, row in enumerate(dashboard.rows, start=1):
        row_id = f"ROW-{number}"
        layout["GRID_ID"]["children"].append(row_id)
        width = 12 // len(row)
        children = []
        for name in row:
            chart_id = chart_ids[name]
            key = f"CHART-{chart_id}"
            children.append(key)
            layout[key] = {
                "type": "CHART",
                "id": key,
                "children": [],
                "parents": ["ROOT_ID", "GRID_ID", row_id],
                "meta": {
                    "chartId": chart_id,
                    "width": width,
                    "height": dashboard.row_height,
                    "sliceName": name,
                },
            }
        layout[row_id] = {
            "type": "ROW",
            "id": row_id,
            "children": children,
            "parents": ["ROOT_ID", "GRID_ID"],
            "meta": {"background": "BACKGROUND_TRANSPARENT"},
        }
    return layout


def _dashboard_layout(
    api: SupersetApi, dashboard: DashboardAsset, dashboard_id: int, report: ProvisionReport
) -> None:
    layout = position_json(dashboard, report.chart_ids)
    current = api.get(f"/api/v1/dashboard/{dashboard_id}")["result"]
    same = (
        current["dashboard_title"] == dashboard.title
        and current.get("published") is True
        and _json(current.get("position_json")) == layout
    )
    if same:
        if not any(a[:2] == ("dashboard", dashboard.slug) for a in report.actions):
            report.record("dashboard", dashboard.slug, "unchanged")
        return
    api.put(
        f"/api/v1/dashboard/{dashboard_id}",
        {
            "dashboard_title": dashboard.title,
            "slug": dashboard.slug,
            "published": True,
            "position_json": json.dumps(layout, sort_keys=True),
        },
    )
    if not any(a[:2] == ("dashboard", dashboard.slug) for a in report.actions):
        report.record("dashboard", dashboard.slug, "updated")
