"""The demo's report: a summary of the marts per site, as terminal tables and as HTML.

The HTML is one self-contained file with inline SVG charts (no scripts, no fonts, no
network): pageviews and visitors per day, top pages, and sessions by channel, one
section per site. It reads only the marts (``site_daily``, ``page_views_daily``,
``traffic_sources_daily``), as an analyst's BI tool would.
"""

from __future__ import annotations

import datetime as dt
import html
from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any


@dataclass
class SiteReport:
    """What the report shows of one site."""

    website_id: int
    name: str
    timezone: str
    #: (local date, pageviews, visitors, sessions, bounces, conversions, revenue)
    days: list[tuple[dt.date, int, int, int, int, int, float]] = field(default_factory=list)
    #: (page path, pageviews, visitors over the whole range)
    top_pages: list[tuple[str, int, int]] = field(default_factory=list)
    #: (channel, sessions, revenue)
    channels: list[tuple[str, int, float]] = field(default_factory=list)
    #: distinct visitors over the whole range (not a sum of days)
    visitors_total: int = 0
    currency: str = ""


def collect(client: Any, marts_database: str, top: int = 10) -> list[SiteReport]:
    """Read the report's figures from the marts."""
    marts = f"`{marts_database}`"
    sites = {
        row[0]: SiteReport(row[0], row[1], row[2])
        for row in client.query(
            f"SELECT website_id, site_name, timezone FROM {marts}.dim_websites ORDER BY website_id"
        ).result_rows
    }
    for (
        website_id,
        day,
        pageviews,
        visitors,
        sessions,
        bounces,
        conversions,
        revenue,
        currency,
    ) in client.query(
        "SELECT website_id, local_date, pageviews, visitors, sessions, bounces, conversions, "
        f"toFloat64(revenue), currency FROM {marts}.site_daily ORDER BY website_id, local_date"
    ).result_rows:
        if website_id in sites:
            site = sites[website_id]
            site.days.append((day, pageviews, visitors, sessions, bounces, conversions, revenue))
            site.currency = site.currency or currency
    for website_id, visitors in client.query(
        f"SELECT website_id, uniqExactMerge(visitors_state) FROM {marts}.site_daily GROUP BY website_id"
    ).result_rows:
        if website_id in sites:
            sites[website_id].visitors_total = int(visitors)
    for website_id, path, pageviews, visitors in client.query(
        "SELECT website_id, page_path, sum(pageviews) AS views, uniqExactMerge(visitors_state) "
        f"FROM {marts}.page_views_daily GROUP BY website_id, page_path "
        f"ORDER BY website_id, views DESC, page_path LIMIT {int(top)} BY website_id"
    ).result_rows:
        if website_id in sites:
            sites[website_id].top_pages.append((path, int(pageviews), int(visitors)))
    for website_id, channel, sessions, revenue in client.query(
        "SELECT website_id, channel, sum(sessions) AS n, toFloat64(sum(revenue)) "
        f"FROM {marts}.traffic_sources_daily GROUP BY website_id, channel ORDER BY website_id, n DESC"
    ).result_rows:
        if website_id in sites:
            sites[website_id].channels.append((channel or "(none)", int(sessions), float(revenue)))
    return list(sites.values())


def print_summary(sites: Sequence[SiteReport]) -> None:
    """One table per site: the daily figures, then the range's totals."""
    from rich.console import Console
    from rich.table import Table

    console = Console()
    console.width = max(console.width, 100)  # piped output is 80 wide: too narrow for money
    for site in sites:
        table = Table(
            title=f"{site.name or site.website_id} (site {site.website_id}, {site.timezone})",
            title_justify="left",
        )
        for column in ("day", "pageviews", "visitors", "sessions", "bounce rate", "conversions"):
            table.add_column(column, justify="left" if column == "day" else "right")
        table.add_column(f"revenue ({site.currency})" if site.currency else "revenue", justify="right")
        for day, pageviews, visitors, sessions, bounces, conversions, revenue in site.days:
            rate = f"{bounces / sessions:.0%}" if sessions else "-"
            table.add_row(
                day.isoformat(), f"{pageviews:,}", f"{visitors:,}", f"{sessions:,}", rate, f"{conversions:,}",
                f"{revenue:,.2f}",
            )  # fmt: skip
        pageviews = sum(d[1] for d in site.days)
        sessions = sum(d[3] for d in site.days)
        bounces = sum(d[4] for d in site.days)
        conversions = sum(d[5] for d in site.days)
        revenue = sum(d[6] for d in site.days)
        rate = f"{bounces / sessions:.0%}" if sessions else "-"
        table.add_row(
            "all days", f"{pageviews:,}", f"{site.visitors_total:,}", f"{sessions:,}", rate,
            f"{conversions:,}", f"{revenue:,.2f}", style="bold",
        )  # fmt: skip
        console.print(table)


# -- HTML ---------------------------------------------------------------------------------

_COLOURS = ("#3b6fb6", "#e07b39", "#3a9d5d", "#b8475b", "#7a5fb0", "#8c8c8c")


def _line_chart(title: str, dates: list[dt.date], series: dict[str, list[float]]) -> str:
    width, height, left, bottom, top = 640, 220, 56, 28, 24
    plot_w, plot_h = width - left - 16, height - bottom - top
    peak = max((v for values in series.values() for v in values), default=0) or 1
    count = max(len(dates) - 1, 1)

    def x(i: int) -> float:
        return left + plot_w * i / count

    def y(v: float) -> float:
        return top + plot_h * (1 - v / peak)

    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">']
    for step in range(5):
        value = peak * step / 4
        level = y(value)
        parts.append(
            f'<line x1="{left}" x2="{left + plot_w}" y1="{level:.1f}" y2="{level:.1f}" stroke="#e5e5e5"/>'
            f'<text x="{left - 6}" y="{level + 4:.1f}" text-anchor="end">{value:,.0f}</text>'
        )
    for i, day in enumerate(dates):
        parts.append(f'<text x="{x(i):.1f}" y="{height - 8}" text-anchor="middle">{day:%m-%d}</text>')
    for values, colour in zip(series.values(), _COLOURS, strict=False):
        points = " ".join(f"{x(i):.1f},{y(v):.1f}" for i, v in enumerate(values))
        parts.append(f'<polyline fill="none" stroke="{colour}" stroke-width="2.5" points="{points}"/>')
    legend = " ".join(
        f'<span style="color:{c}">&#9632; {html.escape(n)}</span>'
        for n, c in zip(series, _COLOURS, strict=False)
    )
    return f"<figure><figcaption>{html.escape(title)} {legend}</figcaption>{''.join(parts)}</svg></figure>"


def _bar_chart(title: str, rows: list[tuple[str, float]], unit: str = "") -> str:
    width, bar, gap, label = 640, 18, 6, 260
    height = max(len(rows), 1) * (bar + gap) + 8
    peak = max((v for _, v in rows), default=0) or 1
    parts = [f'<svg viewBox="0 0 {width} {height}" role="img" aria-label="{html.escape(title)}">']
    for i, (name, value) in enumerate(rows):
        top = 4 + i * (bar + gap)
        length = (width - label - 90) * value / peak
        text = name if len(name) <= 40 else name[:39] + "…"
        parts.append(
            f'<text x="{label - 8}" y="{top + 13}" text-anchor="end">{html.escape(text)}</text>'
            f'<rect x="{label}" y="{top}" width="{length:.1f}" height="{bar}" fill="{_COLOURS[0]}"/>'
            f'<text x="{label + length + 6:.1f}" y="{top + 13}">{value:,.0f}{unit}</text>'
        )
    return f"<figure><figcaption>{html.escape(title)}</figcaption>{''.join(parts)}</svg></figure>"


def write_html(sites: Sequence[SiteReport], path: Path, subtitle: str = "") -> Path:
    """Write the report; returns its path."""
    sections = []
    for site in sites:
        dates = [d[0] for d in site.days]
        sections.append(
            f"<section><h2>{html.escape(site.name or str(site.website_id))} "
            f"<small>site {site.website_id} · {html.escape(site.timezone)}</small></h2>"
            + _line_chart(
                "Pageviews and visitors per day (site-local days)",
                dates,
                {"pageviews": [float(d[1]) for d in site.days], "visitors": [float(d[2]) for d in site.days]},
            )
            + _bar_chart("Top pages by pageviews", [(p, float(v)) for p, v, _ in site.top_pages])
            + _bar_chart(
                "Sessions by channel (GA4 default channel groups)",
                [(c, float(s)) for c, s, _ in site.channels],
            )
            + "</section>"
        )
    document = f"""<!doctype html>
<html lang="en"><head><meta charset="utf-8"><title>beaconhouse demo report</title>
<style>
body {{ font: 14px/1.4 system-ui, sans-serif; margin: 2rem auto; max-width: 720px; color: #222; }}
h1 {{ font-size: 1.5rem; }} h2 {{ font-size: 1.2rem; margin-top: 2.5rem; }}
small {{ color: #777; font-weight: normal; }}
figure {{ margin: 1rem 0; }} figcaption {{ font-weight: 600; margin-bottom: .3rem; }}
figcaption span {{ font-weight: normal; margin-left: .6rem; }} svg {{ width: 100%; font-size: 11px; }}
</style></head><body>
<h1>beaconhouse demo report</h1><p>{html.escape(subtitle)}</p>
{"".join(sections)}
</body></html>
"""
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(document, encoding="utf-8")
    return path
