"""The Superset assets kept in the repo (superset/assets/*.yaml), read and cross-checked.

Four files: ``database.yaml`` (the connection to the marts), ``datasets.yaml`` (one
dataset per mart with its metrics), ``charts.yaml`` and ``dashboards.yaml``. Charts
name a dataset and its metrics; dashboards place charts by name in rows. A name that
points nowhere is an error naming it, found before anything reaches Superset.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError

from beaconhouse.config import ConfigError

ASSETS_DIR = Path(__file__).resolve().parents[2] / "superset" / "assets"

#: the chart types the provisioner knows how to turn into form data and a query
VizType = Literal["echarts_timeseries_line", "echarts_timeseries_bar", "big_number_total", "pie", "table"]
TIMESERIES = ("echarts_timeseries_line", "echarts_timeseries_bar")
SINGLE_METRIC = ("big_number_total", "pie")


class _Asset(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class DatabaseAsset(_Asset):
    #: the connection's name in Superset; its URL comes from the configuration
    name: str = Field(min_length=1)
    expose_in_sqllab: bool = True


class MetricAsset(_Asset):
    name: str = Field(min_length=1)
    #: a ClickHouse aggregate expression over the dataset's columns
    expression: str = Field(min_length=1)
    label: str | None = None
    d3format: str | None = None


class DatasetAsset(_Asset):
    #: the mart's table name (in the marts database)
    table: str = Field(min_length=1)
    description: str = ""
    main_dttm_col: str | None = None
    metrics: tuple[MetricAsset, ...] = ()


class ChartAsset(_Asset):
    name: str = Field(min_length=1)
    dataset: str
    viz_type: VizType
    #: metric names of the dataset (one for big_number_total and pie)
    metrics: tuple[str, ...] = Field(min_length=1)
    groupby: tuple[str, ...] = ()
    #: the x axis of a time series (a column), and its time grain (e.g. P1D)
    x_axis: str | None = None
    time_grain: str | None = None
    #: sort by this metric, largest first
    order_by: str | None = None
    row_limit: int = Field(default=1000, ge=1)
    #: more form data for the chart's look, passed to Superset as is
    options: dict[str, Any] = Field(default_factory=dict)


class DashboardAsset(_Asset):
    title: str = Field(min_length=1)
    slug: str = Field(pattern=r"^[a-z0-9-]+$")
    #: chart names, row by row; a row's charts share its width
    rows: tuple[tuple[str, ...], ...] = Field(min_length=1)
    row_height: int = Field(default=50, ge=10)


class Assets(_Asset):
    database: DatabaseAsset
    datasets: tuple[DatasetAsset, ...]
    charts: tuple[ChartAsset, ...]
    dashboards: tuple[DashboardAsset, ...]

    def dataset(self, table: str) -> DatasetAsset:
        return next(d for d in self.datasets if d.table == table)


def load_assets(directory: Path = ASSETS_DIR) -> Assets:
    """Read and check the four asset files; :class:`ConfigError` names what is wrong."""
    import yaml  # type: ignore[import-untyped]  # PyYAML ships no types; its stubs are not a dependency

    data: dict[str, Any] = {}
    for key, file in (
        ("database", "database.yaml"),
        ("datasets", "datasets.yaml"),
        ("charts", "charts.yaml"),
        ("dashboards", "dashboards.yaml"),
    ):
        path = directory / file
        try:
            data[key] = yaml.safe_load(path.read_text())
        except OSError as exc:
            raise ConfigError(f"{path}: cannot read: {exc.strerror}") from None
        except yaml.YAMLError as exc:
            raise ConfigError(f"{path}: invalid YAML: {str(exc).splitlines()[0]}") from None
    try:
        assets = Assets.model_validate(data)
    except ValidationError as exc:
        first = exc.errors()[0]
        where = ".".join(str(p) for p in first["loc"])
        raise ConfigError(f"{directory}: {where}: {first['msg']} ({exc.error_count()} error(s))") from None
    _check_references(assets)
    return assets


def _check_references(assets: Assets) -> None:
    for kind, names in (
        ("dataset", [d.table for d in assets.datasets]),
        ("chart", [c.name for c in assets.charts]),
        ("dashboard", [d.slug for d in assets.dashboards]),
    ):
        dupes = sorted({n for n in names if names.count(n) > 1})
        if dupes:
            raise ConfigError(f"superset assets: two {kind}s named {', '.join(dupes)}")
    datasets = {d.table: d for d in assets.datasets}
    for chart in assets.charts:
        where = f"superset assets: chart {chart.name!r}"
        if chart.dataset not in datasets:
            raise ConfigError(f"{where}: no dataset {chart.dataset!r} in datasets.yaml")
        known = {m.name for m in datasets[chart.dataset].metrics}
        for metric in (*chart.metrics, *([chart.order_by] if chart.order_by else [])):
            if metric not in known:
                raise ConfigError(f"{where}: dataset {chart.dataset} has no metric {metric!r}")
        if chart.viz_type in SINGLE_METRIC and len(chart.metrics) != 1:
            raise ConfigError(f"{where}: {chart.viz_type} shows exactly one metric")
        if chart.viz_type in TIMESERIES and not chart.x_axis:
            raise ConfigError(f"{where}: {chart.viz_type} needs an x_axis")
    charts = {c.name for c in assets.charts}
    for dashboard in assets.dashboards:
        for row in dashboard.rows:
            for name in row:
                if name not in charts:
                    raise ConfigError(f"superset assets: dashboard {dashboard.slug}: no chart {name!r}")
