"""The demo report's HTML: one section per site, three charts each, self-contained."""

import datetime as dt

import pytest

from beaconhouse.report import SiteReport, write_html

pytestmark = pytest.mark.unit


def test_report_has_a_section_with_three_charts_per_site_and_no_external_assets(tmp_path):
    days = [(dt.date(2026, 3, d), 100 * d, 40 * d, 50 * d, 20, d, 9.5 * d) for d in (1, 2, 3)]
    sites = [
        SiteReport(1, "Shop <b>", "Europe/Berlin", days, [("/", 300, 120), ("/p?q=<x>", 20, 5)],
                   [("Organic Search", 60, 0.0)], visitors_total=200, currency="EUR"),
        SiteReport(2, "News", "America/New_York", days[:1], [("/", 1, 1)], [("Direct", 1, 0.0)]),
    ]  # fmt: skip
    path = write_html(sites, tmp_path / "report.html", "3 sites, 7 days")
    text = path.read_text()
    assert text.count("<section>") == 2
    assert text.count("<svg") == 6
    assert "Shop &lt;b&gt;" in text
    assert "/p?q=&lt;x&gt;" in text
    assert "<script" not in text
    assert "src=" not in text  # nothing fetched: no images, scripts or fonts
    assert "<link" not in text
    assert "03-02" in text  # the days label the axis
