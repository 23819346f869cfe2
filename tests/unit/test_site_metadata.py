"""Site metadata for the marts: goals in the configuration, time-zone offsets, the sync."""

from __future__ import annotations

import datetime as dt
import tomllib
from zoneinfo import ZoneInfo

import pytest

from beaconhouse.config import ConfigError, Settings, Site, load_settings
from beaconhouse.generate.sites import sites_toml
from beaconhouse.site_metadata import SyncError, sync_sites, utc_offset_periods

pytestmark = pytest.mark.unit
UTC = dt.UTC


def offset_at(periods, instant):
    """The offset the periods give an instant (the last period starting at or before it)."""
    current = None
    for period in periods:
        if period.valid_from <= instant:
            current = period.utc_offset_seconds
    return current


def zoneinfo_offset(zone, instant):
    return int(instant.astimezone(ZoneInfo(zone)).utcoffset().total_seconds())


def test_berlin_2026_changes_at_the_exact_seconds():
    periods = utc_offset_periods("Europe/Berlin")
    in_2026 = [(p.valid_from, p.utc_offset_seconds) for p in periods if p.valid_from.year == 2026]
    assert in_2026 == [
        (dt.datetime(2026, 3, 29, 1, 0, tzinfo=UTC), 7200),
        (dt.datetime(2026, 10, 25, 1, 0, tzinfo=UTC), 3600),
    ]
    assert periods[0].valid_from == dt.datetime(1970, 1, 1, tzinfo=UTC)


@pytest.mark.parametrize(
    "zone",
    ["Europe/Berlin", "America/New_York", "Asia/Kolkata", "Australia/Lord_Howe", "Pacific/Chatham", "UTC"],
)
def test_periods_agree_with_zoneinfo_around_every_change_and_between(zone):
    periods = utc_offset_periods(zone, end=dt.datetime(2040, 1, 1, tzinfo=UTC))
    second = dt.timedelta(seconds=1)
    for period in periods[1:]:
        change = period.valid_from
        assert offset_at(periods, change) == zoneinfo_offset(zone, change) == period.utc_offset_seconds
        assert offset_at(periods, change - second) == zoneinfo_offset(zone, change - second)
        assert zoneinfo_offset(zone, change - second) != period.utc_offset_seconds
    instant = dt.datetime(1970, 1, 1, 0, 17, tzinfo=UTC)
    while instant.year < 2040:
        assert offset_at(periods, instant) == zoneinfo_offset(zone, instant), instant
        instant += dt.timedelta(days=3, hours=7, minutes=13)


def test_a_zone_without_changes_has_one_period():
    assert [(p.valid_from.year, p.utc_offset_seconds) for p in utc_offset_periods("Asia/Tokyo")] == [
        (1970, 9 * 3600)
    ]


GOALS_TOML = """
[[sites]]
website_id = 1
domain = "shop.example"

[[sites.goals]]
name = "Purchase"
kind = "destination"
page_path = "^/checkout/(done|confirmation)$"
match = "regex"
value = 12.5

[[sites.goals]]
name = "Engaged"
kind = "duration"
min_duration_seconds = 300
"""


def test_goals_are_read_from_the_sites_configuration(tmp_path):
    config = tmp_path / "beaconhouse.toml"
    config.write_text(GOALS_TOML)
    site = load_settings(config, environ={}).site(1)
    assert [(g.name, g.kind, g.match, g.value) for g in site.goals] == [
        ("Purchase", "destination", "regex", 12.5),
        ("Engaged", "duration", "exact", 0.0),
    ]


@pytest.mark.parametrize(
    ("goal", "message"),
    [
        ('kind = "destination"', "a destination goal needs page_path"),
        ('kind = "destination"\npage_path = "(x"\nmatch = "regex"', "page_path is not a regular expression"),
        ('kind = "event"', "an event goal needs event_category, event_action or event_label"),
        ('kind = "duration"', "a duration goal needs min_duration_seconds of 1 or more"),
        ('kind = "pages_per_session"', "a pages_per_session goal needs min_pageviews of 1 or more"),
        ('kind = "funnel"', "sites.0.goals.0.kind"),
        ('kind = "duration"\nmin_duration_seconds = 5\ncolour = "red"', "colour: unknown setting"),
    ],
)
def test_a_goal_without_its_condition_is_a_one_line_config_error(tmp_path, goal, message):
    config = tmp_path / "beaconhouse.toml"
    config.write_text(f'[[sites]]\nwebsite_id = 1\ndomain = "a"\n\n[[sites.goals]]\nname = "G"\n{goal}\n')
    with pytest.raises(ConfigError, match=message.replace("(", r"\(")) as error:
        load_settings(config, environ={})
    assert "\n" not in str(error.value)


def test_goal_names_are_unique_per_site(tmp_path):
    config = tmp_path / "beaconhouse.toml"
    goal = '[[sites.goals]]\nname = "G"\nkind = "duration"\nmin_duration_seconds = 5\n'
    config.write_text(f'[[sites]]\nwebsite_id = 1\ndomain = "a"\n\n{goal}\n{goal}')
    with pytest.raises(ConfigError, match="two goals share the name 'G'"):
        load_settings(config, environ={})


def test_sites_toml_round_trips_goals():
    sites = Settings.model_validate(tomllib.loads(GOALS_TOML)).sites
    assert Settings.model_validate(tomllib.loads(sites_toml(sites))).sites == sites


class RecordingClient:
    def __init__(self):
        self.inserts = []

    def insert(self, table, rows, column_names, database):
        self.inserts.append((database, table, list(column_names), list(rows)))


def test_sync_writes_one_snapshot_offsets_first_sites_last():
    settings = Settings.model_validate(
        tomllib.loads(GOALS_TOML + '\n[[sites]]\nwebsite_id = 2\ndomain = "b"\n')
    )
    now = dt.datetime(2026, 11, 1, 12, 0, tzinfo=UTC)
    client = RecordingClient()
    report = sync_sites(client, settings, now=now)
    assert [(db, table) for db, table, _, _ in client.inserts] == [
        ("beaconhouse", "timezone_offsets"),
        ("beaconhouse", "site_goals"),
        ("beaconhouse", "sites"),
    ]
    offsets, goals, sites = (rows for _, _, _, rows in client.inserts)
    assert {row[-1] for row in offsets + goals + sites} == {now}
    assert [row[:3] for row in sites] == [(1, "shop.example", ""), (2, "b", "")]
    assert [(row[0], row[1], row[2], row[10]) for row in goals] == [
        (1, "Purchase", "destination", pytest.approx(12.5)),
        (1, "Engaged", "duration", 0),
    ]
    assert {row[0] for row in offsets} == {"UTC"}
    assert (report.sites, report.goals, report.timezones, report.offset_periods) == (2, 2, 1, 1)


def test_sync_refuses_an_empty_configuration():
    with pytest.raises(SyncError, match="no \\[\\[sites\\]\\] configured"):
        sync_sites(RecordingClient(), Settings(sites=()))


def test_site_default_has_no_goals():
    assert Site(website_id=1, domain="a").goals == ()
