"""Druid's daily totals (pydruid timeseries and topN) against the ClickHouse marts.

Sums (page views, bounces, time on page) must be equal. Visitors and sessions are
theta-sketch estimates in Druid and exact in the marts: they may differ by
``druid.distinct_tolerance`` (relative). The marts' side is ``page_views_daily``,
whose visitors and sessions are those with a page view, as Druid's are.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.druid.overlord import DruidError
from beaconhouse.druid.spec import day_interval

ADDITIVE = ("pageviews", "bounces", "time_on_page_ms")
DISTINCT = ("visitors", "sessions")
MEASURES = ADDITIVE + DISTINCT
#: topN returns the top sites only; no deployment has more sites than this
MAX_SITES = 100_000


@dataclass(frozen=True)
class Difference:
    """One measure of one site (``None``: all sites) that does not agree."""

    website_id: int | None
    measure: str
    druid: float | None
    marts: float | None

    def __str__(self) -> str:
        where = "all sites" if self.website_id is None else f"site {self.website_id}"
        return f"{where} {self.measure}: druid {_show(self.druid)}, marts {_show(self.marts)}"


def _show(value: float | None) -> str:
    return "none" if value is None else f"{value:g}"


@dataclass(frozen=True)
class Comparison:
    """Druid's totals of a day beside the marts'."""

    day: dt.date
    druid: dict[int, dict[str, float]]
    marts: dict[int, dict[str, float]]
    druid_all: dict[str, float]
    differences: tuple[Difference, ...]

    @property
    def passed(self) -> bool:
        return not self.differences

    def summary(self) -> str:
        if self.passed:
            pageviews = sum(site["pageviews"] for site in self.marts.values())
            return f"{self.day}: {len(self.marts)} sites, {pageviews:g} page views agree"
        shown = "; ".join(str(d) for d in self.differences[:5])
        more = f" (+{len(self.differences) - 5} more)" if len(self.differences) > 5 else ""
        return f"{self.day}: {len(self.differences)} differences: {shown}{more}"


def _aggregations(sketch_size: int) -> dict[str, Any]:
    from pydruid.utils.aggregators import doublesum, longsum, thetasketch

    return {
        "pageviews": longsum("pageviews"),
        "bounces": doublesum("bounces"),
        "time_on_page_ms": doublesum("time_on_page_ms"),
        "visitors": thetasketch("visitors", size=sketch_size),
        "sessions": thetasketch("sessions", size=sketch_size),
    }


def druid_totals(settings: Settings, day: dt.date) -> tuple[dict[int, dict[str, float]], dict[str, float]]:
    """Per site (topN over ``website_id``) and for all sites (timeseries) on ``day``."""
    from pydruid.client import PyDruid

    druid = settings.druid
    client = PyDruid(druid.broker_url, "druid/v2")
    if druid.username is not None:
        client.set_basic_auth_credentials(druid.username, druid.password or "")
    common = {
        "datasource": druid.datasource,
        "granularity": "all",
        "intervals": day_interval(day),
        "aggregations": _aggregations(druid.sketch_size),
    }
    try:
        series = client.timeseries(**common).result
        top = client.topn(dimension="website_id", metric="pageviews", threshold=MAX_SITES, **common).result
    except OSError as exc:  # pydruid raises IOError for HTTP errors, URLError for no answer
        first = str(exc).strip().splitlines()[0] if str(exc).strip() else type(exc).__name__
        raise DruidError(f"query to the Broker at {druid.broker_url} failed: {first}") from None
    all_sites = {m: float(series[0]["result"][m]) for m in MEASURES} if series else {}
    per_site = {
        int(row["website_id"]): {m: float(row[m]) for m in MEASURES}
        for bucket in top
        for row in bucket["result"]
    }
    return per_site, all_sites


def marts_totals(settings: Settings, day: dt.date, client: Any | None = None) -> dict[int, dict[str, float]]:
    """Per site on ``day``, from ``page_views_daily``."""
    from beaconhouse.warehouse.client import connect

    client = client or connect(settings.warehouse)
    marts = f"`{settings.warehouse.marts_database}`"
    rows = client.query(
        "SELECT website_id, sum(pageviews), sum(bounces), sum(time_on_page_ms_total), "
        "uniqExactMerge(visitors_state), uniqExactMerge(sessions_state) "
        f"FROM {marts}.page_views_daily WHERE local_date = {{day:Date}} GROUP BY website_id",
        parameters={"day": day},
    ).result_rows
    return {int(site): dict(zip(MEASURES, map(float, values), strict=True)) for site, *values in rows}


def _agrees(measure: str, druid: float, marts: float, tolerance: float) -> bool:
    if measure in ADDITIVE:
        return abs(druid - marts) < 1e-6 * max(1.0, abs(marts))
    return abs(druid - marts) <= tolerance * max(1.0, marts)


def compare(
    day: dt.date,
    druid: dict[int, dict[str, float]],
    druid_all: dict[str, float],
    marts: dict[int, dict[str, float]],
    tolerance: float,
) -> Comparison:
    """Every site and measure of both sides, and the all-sites sums; the differences."""
    differences: list[Difference] = []
    for site in sorted(druid.keys() | marts.keys()):
        for measure in MEASURES:
            ours, theirs = druid.get(site, {}).get(measure), marts.get(site, {}).get(measure)
            if ours is None or theirs is None or not _agrees(measure, ours, theirs, tolerance):
                differences.append(Difference(site, measure, ours, theirs))
    for measure in ADDITIVE:
        total = sum(site[measure] for site in marts.values())
        ours = druid_all.get(measure)
        if (ours is None and total) or (ours is not None and not _agrees(measure, ours, total, 0)):
            differences.append(Difference(None, measure, ours, total))
    return Comparison(day, druid, marts, druid_all, tuple(differences))


def check_day(settings: Settings, day: dt.date, client: Any | None = None) -> Comparison:
    """Query Druid and the marts for ``day`` and compare them."""
    per_site, all_sites = druid_totals(settings, day)
    return compare(
        day, per_site, all_sites, marts_totals(settings, day, client), settings.druid.distinct_tolerance
    )
