"""dbt marts on generated traffic, against the generator's exact truth (embedded warehouse).

One module-scoped dataset: 3 sites (Berlin, New York, Tokyo) over 3 site-local days
that include Berlin's 25-hour day, generated, ingested by the real loader, synced and
built with `dbt build` (unit tests, models, data tests). The tests then compare the
marts with the truth, rerun days, add late and duplicate events, and build the docs.
"""

from __future__ import annotations

import csv
import datetime as dt
import json
import subprocess
import sys
from decimal import Decimal
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest

from beaconhouse.config import Settings
from beaconhouse.generate.sites import sites_toml
from beaconhouse.transform import dbt_command, run_dbt
from tests.generated_marts import MARTS, generate_traffic, isolated_settings, load_traffic

pytestmark = pytest.mark.server

START = dt.date(2026, 10, 24)
DAYS = 3
#: the data is from October 2026; late_data_days looks back from now()
LOOKBACK = {"late_data_lookback_days": 3650}
GOALS = {
    1: [
        {"name": "Purchase", "kind": "destination", "page_path": "/checkout/confirmation", "value": 5},
        {
            "name": "Add to cart",
            "kind": "event",
            "event_category": "ecommerce",
            "event_action": "add_to_cart",
        },
        {"name": "Engaged", "kind": "duration", "min_duration_seconds": 300},
        {"name": "Deep visit", "kind": "pages_per_session", "min_pageviews": 5},
    ],
    3: [{"name": "Booking", "kind": "destination", "page_path": "^/booking/", "match": "regex"}],
}


class Built:
    """The dataset, its settings and a query helper."""

    def __init__(self, warehouse, settings: Settings, truth_dir: Path, tmp: Path) -> None:
        self.warehouse = warehouse
        self.settings = settings
        self.truth_dir = truth_dir
        self.tmp = tmp
        self.client = warehouse.client()
        self.marts = settings.warehouse.marts_database
        self.raw = settings.warehouse.raw_database

    def rows(self, sql: str) -> list[tuple]:
        return self.client.query(sql.replace("{marts}", self.marts).replace("{raw}", self.raw)).result_rows

    @property
    def target(self) -> Path:
        return self.tmp / "target"

    def dbt(
        self,
        command: str,
        *,
        day: dt.date | None = None,
        full_refresh=False,
        vars_day: dt.date | None = None,
    ) -> str:
        """dbt over ``day`` given in the environment (as beaconhouse does) or over
        ``vars_day`` given as CLI ``--vars``."""
        window = {"min_date": vars_day.isoformat(), "max_date": vars_day.isoformat()} if vars_day else {}
        args = dbt_command(
            command,
            full_refresh=full_refresh,
            variables={**LOOKBACK, **window},
            extra=["--target-path", str(self.target)],
        )
        result = run_dbt(self.settings, args, min_date=day, max_date=day, capture=True, timeout=600)
        assert result.returncode == 0, result.stdout[-4000:]
        return result.stdout

    def snapshot(self, ignore: tuple[str, ...] = ()) -> dict[str, list[tuple]]:
        """Every mart, every column but ``ignore``, aggregate states finalised, in a stable order."""
        out = {}
        for table in MARTS:
            columns = self.rows(
                f"SELECT name, type FROM system.columns WHERE database = '{self.marts}' "
                f"AND table = '{table}' ORDER BY position"
            )
            select = ", ".join(
                f"finalizeAggregation({name})" if kind.startswith("AggregateFunction") else name
                for name, kind in columns
                if name not in ignore
            )
            out[table] = self.rows(f"SELECT {select} FROM {{marts}}.{table} ORDER BY ALL")
        return out

    def site_daily(self) -> dict[tuple[int, str], tuple]:
        return {
            (site, str(day)): tuple(rest)
            for site, day, *rest in self.rows(
                "SELECT website_id, local_date, pageviews, visitors, sessions, bounces, conversions, "
                "revenue FROM {marts}.site_daily"
            )
        }


@pytest.fixture(scope="module")
def built(warehouse, tmp_path_factory) -> Built:
    tmp = tmp_path_factory.mktemp("dbt_marts")
    traffic = generate_traffic(tmp, sites=3, days=DAYS, start=START, visitors=150, seed=11)
    for site in traffic.sites:
        site["goals"] = GOALS.get(site["website_id"], [])
    settings = isolated_settings(warehouse, traffic.sites)
    load_traffic(warehouse, settings, traffic, tmp)
    data = Built(warehouse, settings, traffic.truth_dir, tmp)
    data.initial_build = data.dbt("build")  # type: ignore[attr-defined]
    return data


def truth_marts(truth_dir: Path) -> dict[tuple[int, str], tuple]:
    with (truth_dir / "marts_daily.csv").open() as handle:
        return {
            (int(r["website_id"]), r["date"]): (
                int(r["pageviews"]),
                int(r["visitors"]),
                int(r["sessions"]),
                int(r["bounces"]),
                int(r["conversions"]),
                Decimal(r["revenue"]),
            )
            for r in csv.DictReader(handle)
        }


def test_the_build_ran_unit_tests_models_and_data_tests(built):
    out = built.initial_build
    assert "PASS int_events_sessionised::session_ends_at_site_local_midnight" in out
    assert "PASS traffic_sources_add_up_to_sessions" in out
    assert "PASS unique_fct_sessions_session_id" in out
    assert "ERROR=0" in out
    assert "FAIL" not in out


def test_marts_equal_the_truth_per_site_and_local_day(built):
    truth = truth_marts(built.truth_dir)
    assert len(truth) == 3 * DAYS
    # pageviews, visitors, sessions, bounces, conversions, revenue: exactly
    assert built.site_daily() == truth
    assert sum(t[2] for t in truth.values()) > 500  # sessions: a real test, not an empty one
    assert sum(t[4] for t in truth.values()) > 5  # conversions


def test_revenue_adds_up_exactly_what_raw_events_holds(built):
    # The marts sum raw.events' Decimal revenue without loss. (The loader can lose a
    # ten-thousandth before that: docs/dbt.md, "Known issues".)
    raw = {
        (site, str(day)): revenue
        for site, day, revenue in built.rows(
            """
            SELECT e.website_id, toDate(e.client_ts + toIntervalSecond(o.utc_offset_seconds)) AS day,
                   sum(e.revenue)
            FROM (SELECT * FROM {raw}.events FINAL WHERE event_type = 'transaction' AND NOT is_bot) AS e
            ASOF INNER JOIN {marts}.int_site_offsets_joined AS o
                ON e.website_id = o.website_id AND e.client_ts >= o.valid_from
            GROUP BY ALL"""
        )
    }
    marts = {key: row[5] for key, row in built.site_daily().items() if row[4]}
    assert marts == raw


def test_bots_are_left_out_but_counted(built):
    with (built.truth_dir / "raw_daily.csv").open() as handle:
        truth: dict[int, int] = {}
        for r in csv.DictReader(handle):
            truth[int(r["website_id"])] = truth.get(int(r["website_id"]), 0) + int(r["bot_events"])
    counted = dict(built.rows("SELECT website_id, sum(bot_events) FROM {marts}.site_daily GROUP BY ALL"))
    assert counted == truth
    assert min(truth.values()) > 0
    in_marts = built.rows(
        "SELECT count() FROM {marts}.fct_page_views WHERE page_view_id IN "
        "(SELECT event_id FROM {raw}.events WHERE is_bot)"
    )
    assert in_marts == [(0,)]


def test_unique_counts_merge_exactly_over_a_date_range(built):
    # Distinct visitors over the whole range, three ways: merged daily states of two marts,
    # and the facts themselves. Adding the daily figures up counts returning visitors twice.
    merged = dict(
        built.rows("SELECT website_id, uniqExactMerge(visitors_state) FROM {marts}.site_daily GROUP BY ALL")
    )
    facts = dict(
        built.rows("SELECT website_id, uniqExact(visitor_id) FROM {marts}.fct_sessions GROUP BY ALL")
    )
    users = dict(
        built.rows(
            "SELECT website_id, uniqExactMerge(users_state) FROM {marts}.traffic_sources_daily GROUP BY ALL"
        )
    )
    summed = dict(built.rows("SELECT website_id, sum(visitors) FROM {marts}.site_daily GROUP BY ALL"))
    assert merged == facts == users
    assert all(summed[site] > merged[site] for site in merged)
    # Page visitors: hourly states merged over a day equal the daily row's count.
    mismatched = built.rows(
        """
        SELECT d.website_id, d.local_date, d.page_path, d.visitors, h.visitors
        FROM {marts}.page_views_daily AS d
        INNER JOIN (
            SELECT website_id, local_date, page_path, country_code, device_type,
                   uniqExactMerge(visitors_state) AS visitors
            FROM {marts}.page_views_hourly GROUP BY ALL
        ) AS h USING (website_id, local_date, page_path, country_code, device_type)
        WHERE d.visitors != h.visitors"""
    )
    assert mismatched == []


def test_days_and_hours_are_site_local(built):
    # Every page view's local time is its UTC time in its site's zone (zoneinfo), across
    # Berlin's change back to winter time on 2026-10-25; its local_date is that time's
    # date, and its hour row in page_views_hourly is that time's hour.
    zones = {s.website_id: ZoneInfo(s.timezone) for s in built.settings.sites}
    rows = built.rows("SELECT website_id, viewed_at, viewed_at_local, local_date FROM {marts}.fct_page_views")
    offsets = set()
    for site, utc, local, day in rows:
        wall = utc.replace(tzinfo=dt.UTC).astimezone(zones[site]).replace(tzinfo=None)
        assert local.replace(tzinfo=None) == wall, (site, utc)
        assert day == wall.date()
        offsets.add((site, round((wall - utc.replace(tzinfo=None)).total_seconds() / 3600)))
    assert offsets == {(1, 2), (1, 1), (2, -4), (3, 9)}
    hourly = built.rows(
        """
        SELECT count() FROM {marts}.page_views_hourly AS h
        FULL OUTER JOIN (
            SELECT website_id, local_date, toStartOfHour(viewed_at_local) AS hour_local, page_path,
                   country_code, device_type, count() AS pageviews
            FROM {marts}.fct_page_views GROUP BY ALL
        ) AS p USING (website_id, local_date, hour_local, page_path, country_code, device_type)
        WHERE h.pageviews != p.pageviews"""
    )
    assert hourly == [(0,)]


def test_goal_conversions_follow_their_definitions(built):
    goals = {
        (name, str(day)): conversions
        for name, day, conversions in built.rows(
            "SELECT goal_name, local_date, conversions FROM {marts}.goal_conversions_daily"
        )
    }
    expected_sql = {
        "Purchase": "SELECT local_date, uniqExact(session_id) FROM {marts}.fct_page_views "
        "WHERE website_id = 1 AND page_path = '/checkout/confirmation' GROUP BY ALL",
        "Booking": "SELECT local_date, uniqExact(session_id) FROM {marts}.fct_page_views "
        "WHERE website_id = 3 AND startsWith(page_path, '/booking/') GROUP BY ALL",
        "Engaged": "SELECT local_date, countIf(duration_ms >= 300000) FROM {marts}.fct_sessions "
        "WHERE website_id = 1 GROUP BY ALL",
        "Deep visit": "SELECT local_date, countIf(pageviews >= 5) FROM {marts}.fct_sessions "
        "WHERE website_id = 1 GROUP BY ALL",
        "Add to cart": "SELECT local_date, uniqExactIf(session_id, event_category = 'ecommerce' "
        "AND event_action = 'add_to_cart') FROM {marts}.int_events_sessionised "
        "WHERE website_id = 1 AND NOT is_excluded_bot GROUP BY ALL",
    }
    for name, sql in expected_sql.items():
        expected = {(name, str(day)): n for day, n in built.rows(sql)}
        got = {key: n for key, n in goals.items() if key[0] == name}
        assert got == {key: expected.get(key, 0) for key in got}, name
        assert len(got) == DAYS, name
        assert sum(got.values()) > 0, name
    value = built.rows(
        "SELECT sum(goal_value_total) FROM {marts}.goal_conversions_daily WHERE goal_name = 'Purchase'"
    )
    assert value == [(5 * sum(n for (name, _), n in goals.items() if name == "Purchase"),)]


def parts_by_day(built: Built, table: str) -> dict[str, set[str]]:
    parts: dict[str, set[str]] = {}
    for partition, name in built.rows(
        f"SELECT partition, name FROM system.parts WHERE database = '{built.marts}' "
        f"AND table = '{table}' AND active"
    ):
        parts.setdefault(partition, set()).add(name)
    return parts


def test_rerunning_a_day_or_everything_gives_identical_marts(built):
    before = built.snapshot()
    parts_before = parts_by_day(built, "fct_sessions")
    day = START + dt.timedelta(days=1)

    built.dbt("run", day=day)
    assert built.snapshot() == before
    parts_after = parts_by_day(built, "fct_sessions")
    # Only the rerun day's partition was replaced.
    assert parts_after[str(day)] != parts_before[str(day)]
    assert {d: p for d, p in parts_after.items() if d != str(day)} == {
        d: p for d, p in parts_before.items() if d != str(day)
    }

    built.dbt("run")
    assert built.snapshot() == before
    built.dbt("run", full_refresh=True)
    assert built.snapshot() == before


def test_a_rerun_keeps_the_marts_of_a_day_the_models_give_no_rows_for(built):
    # The marts outlive the raw events (retention drops raw days, docs/dbt.md): a rerun
    # replaces the days the models give rows for and leaves the others as they are.
    # Here a real day's rows, copied under a day without events, stand for such a day.
    before = built.snapshot()
    kept = START - dt.timedelta(days=1)
    built.client.command(
        # (the subquery: in one SELECT, WHERE would see the replaced local_date)
        f"INSERT INTO {built.marts}.site_daily SELECT * REPLACE (toDate('{kept}') AS local_date) "
        f"FROM (SELECT * FROM {built.marts}.site_daily WHERE local_date = '{START}')"
    )
    on_kept_day = (
        "SELECT website_id, pageviews, sessions, bounces, conversions, revenue "
        f"FROM {{marts}}.site_daily WHERE local_date = '{kept}' ORDER BY website_id"
    )
    copied = built.rows(on_kept_day)
    assert len(copied) == 3  # one per site
    built.dbt("run", day=kept)
    assert built.rows(on_kept_day) == copied
    built.client.command(f"ALTER TABLE {built.marts}.site_daily DROP PARTITION '{kept}'")
    assert built.snapshot() == before


def test_a_model_whose_columns_changed_stops_its_rerun_and_names_them(built):
    # The table as another version of the model left it. The rerun must stop before any
    # data moves, name the columns, and leave no new-data table behind.
    before = built.snapshot()
    day = START + dt.timedelta(days=1)
    (original_type,) = built.rows(
        f"SELECT type FROM system.columns WHERE database = '{built.marts}' "
        "AND table = 'site_daily' AND name = 'pageviews'"
    )[0]
    assert original_type == "UInt64"
    for change, undo, difference in (
        ("ADD COLUMN retired UInt8 DEFAULT 0", "DROP COLUMN retired", "removed: retired"),
        ("MODIFY COLUMN pageviews UInt32", "MODIFY COLUMN pageviews UInt64", "pageviews UInt32 -> UInt64"),
    ):
        built.client.command(f"ALTER TABLE {built.marts}.site_daily {change}")
        try:
            result = run_dbt(
                built.settings,
                dbt_command(
                    "run",
                    select=["site_daily"],
                    variables=LOOKBACK,
                    extra=["--target-path", str(built.target)],
                ),
                min_date=day,
                max_date=day,
                capture=True,
                timeout=600,
            )
            assert result.returncode == 1, result.stdout[-3000:]
            expected = f"site_daily` no longer match its model ({difference})"
            assert expected in result.stdout, result.stdout[-3000:]
            leftovers = built.rows(
                f"SELECT name FROM system.tables WHERE database = '{built.marts}' "
                "AND name LIKE '%dbt_new_data%'"
            )
            assert leftovers == []
        finally:
            built.client.command(f"ALTER TABLE {built.marts}.site_daily {undo}")
    assert built.snapshot() == before


def test_a_day_in_the_environment_keeps_the_parse_and_builds_what_vars_build(built):
    before = built.snapshot()
    first, last = START, START + dt.timedelta(days=2)
    built.dbt("run", day=first)
    parts_before = parts_by_day(built, "fct_sessions")

    # a new day in the environment: dbt reuses its saved parse
    out = built.dbt("run", day=last)
    assert "Unable to do partial parsing" not in out
    assert built.snapshot() == before
    parts_env = parts_by_day(built, "fct_sessions")
    assert {d for d in parts_env if parts_env[d] != parts_before[d]} == {str(last)}

    # the same day as --vars: the same marts, but dbt re-parses the project
    out = built.dbt("run", vars_day=last)
    assert "Unable to do partial parsing" in out
    assert built.snapshot() == before
    parts_vars = parts_by_day(built, "fct_sessions")
    assert {d for d in parts_vars if parts_vars[d] != parts_env[d]} == {str(last)}

    # a var that is set wins over the environment
    built.dbt("run", day=first, vars_day=last)
    parts_both = parts_by_day(built, "fct_sessions")
    assert {d for d in parts_both if parts_both[d] != parts_vars[d]} == {str(last)}


def test_late_events_are_listed_then_picked_up_by_rerunning_their_day(built):
    day = START + dt.timedelta(days=2)
    assert built.rows("SELECT count() FROM {marts}.late_data_days") == [(0,)]
    before = built.site_daily()
    # Late arrivals: copies of 7 of site 2's human page views of `day`, under new ids and
    # a new visitor, loaded now (after the build).
    built.client.command(
        f"""
        INSERT INTO {built.raw}.events
        SELECT * EXCEPT (number) REPLACE (generateUUIDv4(number) AS event_id,
                                          'late-visitor' AS visitor_id, now64(3) AS loaded_at)
        FROM (SELECT *, rowNumberInAllBlocks() AS number FROM {built.raw}.events
              WHERE website_id = 2 AND event_type = 'pageview' AND NOT is_bot
                AND event_id IN (SELECT page_view_id FROM {built.marts}.fct_page_views
                                 WHERE website_id = 2 AND local_date = '{day}')
              ORDER BY event_id LIMIT 7)
        """
    )
    late = built.rows(
        "SELECT website_id, local_date, raw_events - built_events, reason FROM {marts}.late_data_days"
    )
    assert late == [(2, day, 7, "late_events")]

    cli = run_cli(built, "transform", "late-days")
    assert f"{day}  site 2  late_events" in cli.stdout
    assert f"transform build --from {day} --to {day}" in cli.stdout

    built.dbt("build", day=day)
    assert built.rows("SELECT count() FROM {marts}.late_data_days") == [(0,)]
    after = built.site_daily()
    assert after[(2, str(day))][0] == before[(2, str(day))][0] + 7  # pageviews
    assert after[(2, str(day))][1] == before[(2, str(day))][1] + 1  # one new visitor
    assert {k: v for k, v in after.items() if k != (2, str(day))} == {
        k: v for k, v in before.items() if k != (2, str(day))
    }
    builds = built.rows(
        "SELECT count(), uniqExact(invocation_id) FROM {marts}.transform_day_builds "
        f"WHERE website_id = 2 AND local_date = '{day}'"
    )
    assert builds[0][0] >= 2  # the first build and this rerun at least


def test_redelivered_copies_collapse_and_change_nothing(built):
    day = START
    # The later load wins (FINAL keeps the greatest loaded_at), so only that changes.
    before = built.snapshot(ignore=("loaded_at",))
    # The same events again, same sorting key, a later load: ReplacingMergeTree copies
    # that no merge has collapsed yet. FINAL in stg_events must see one of each.
    built.client.command(
        f"""
        INSERT INTO {built.raw}.events
        SELECT * REPLACE (now64(3) AS loaded_at) FROM {built.raw}.events
        WHERE event_id IN (SELECT page_view_id FROM {built.marts}.fct_page_views WHERE local_date = '{day}')
        """
    )
    assert built.rows("SELECT count() FROM {marts}.late_data_days") == [(0,)]
    built.dbt("run", day=day)
    assert built.snapshot(ignore=("loaded_at",)) == before
    newest = built.rows(
        "SELECT countIf(loaded_at = (SELECT max(loaded_at) FROM {raw}.events)) FROM {marts}.fct_page_views "
        f"AS p INNER JOIN {built.marts}.int_events_sessionised AS e ON e.event_id = p.page_view_id "
        f"WHERE p.local_date = '{day}'"
    )
    assert newest[0][0] > 0


def run_cli(built: Built, *args: str) -> subprocess.CompletedProcess[str]:
    config = built.tmp / "beaconhouse.toml"
    wh = built.settings.warehouse
    config.write_text(
        f'[warehouse]\nurl = "{wh.url}"\nraw_database = "{wh.raw_database}"\n'
        f'meta_database = "{wh.meta_database}"\nmarts_database = "{wh.marts_database}"\n\n'
        + sites_toml(built.settings.sites)
    )
    return subprocess.run(
        [sys.executable, "-m", "beaconhouse", "--config", str(config), *args],
        capture_output=True,
        text=True,
        timeout=600,
    )


def test_docs_generate_and_source_freshness(built):
    built.dbt("docs generate")
    catalog = json.loads((built.target / "catalog.json").read_text())
    nodes = {n["metadata"]["name"]: n for n in catalog["nodes"].values()}
    assert {"fct_sessions", "site_daily", "traffic_sources_daily", "page_views_hourly"} <= nodes.keys()
    assert "visitors_state" in nodes["site_daily"]["columns"]
    freshness = built.dbt("source freshness")
    assert "PASS freshness of raw.events" in freshness


def test_cli_syncs_then_builds_one_day_without_unit_tests(built):
    synced = run_cli(built, "sites", "sync")
    assert synced.returncode == 0, synced.stderr
    assert synced.stdout.startswith("synced 3 sites, 5 goals, 3 time zones")
    result = run_cli(built, "transform", "build", "--from", str(START), "--to", str(START))
    assert result.returncode == 0, result.stdout[-3000:] + result.stderr[-2000:]
    assert "Completed successfully" in result.stdout
    assert "unit_test" not in result.stdout
    assert "OK created sql incremental model" in result.stdout

    # A goal or a site the warehouse has not been told about: the build refuses, in one line.
    config = built.tmp / "beaconhouse.toml"
    synced_config = config.read_text()
    assert "value = 5.0\n" in synced_config
    for changed, message in (
        (
            synced_config.replace("value = 5.0\n", "value = 6.0\n"),
            "the goals of site 1 changed since the last sync",
        ),
        (synced_config + '\n[[sites]]\nwebsite_id = 9\ndomain = "new.example"\n', "site 9 is not synced"),
    ):
        config.write_text(changed)
        refused = subprocess.run(
            [sys.executable, "-m", "beaconhouse", "--config", str(config), "transform", "build"],
            capture_output=True,
            text=True,
            timeout=120,
        )
        assert refused.returncode == 1
        assert refused.stderr.strip() == (
            f"error: {message}: run `beaconhouse sites sync` before building the marts"
        )
