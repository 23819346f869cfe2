"""Archive, restore and privacy deletion on generated traffic, with the marts (embedded warehouse).

One module-scoped dataset: 2 sites (Berlin, New York) over 3 site-local days,
generated, ingested by the real loader, synced and built by dbt. Every site keeps 20
days, and the job runs as if 30 days later, so every day is archived. The tests run in
order: archive everything, restore, then delete one person.
"""

from __future__ import annotations

import datetime as dt

import pytest

from beaconhouse.config import Settings
from beaconhouse.retention.archive_job import ArchiveJob
from beaconhouse.retention.fingerprint import EventColumns
from beaconhouse.retention.manifest import Manifest, State
from beaconhouse.retention.privacy import PrivacyDeletion, identifier_hmac
from beaconhouse.retention.restore import restore
from beaconhouse.retention.storage import ArchiveStore
from beaconhouse.transform import dbt_command, run_dbt
from tests.generated_marts import MARTS, generate_traffic, isolated_settings, load_traffic

pytestmark = pytest.mark.server

START = dt.date(2026, 10, 24)
DAYS = 3
LAST = START + dt.timedelta(days=DAYS - 1)
TODAY = START + dt.timedelta(days=30)


class Dataset:
    def __init__(self, warehouse, settings: Settings) -> None:
        self.client = warehouse.client()
        self.settings = settings
        self.raw = settings.warehouse.raw_database
        self.marts = settings.warehouse.marts_database

    def rows(self, sql: str, **parameters) -> list[tuple]:
        sql = sql.replace("{marts}", self.marts).replace("{raw}", self.raw)
        return self.client.query(sql, parameters=parameters).result_rows

    def raw_counts(self) -> dict[tuple[int, dt.date], int]:
        rows = self.rows("SELECT website_id, toDate(client_ts), count() FROM {raw}.events GROUP BY ALL")
        return {(int(s), d): int(n) for s, d, n in rows}

    def snapshot(self, without_visitor: str | None = None) -> dict[str, list[tuple]]:
        out = {}
        for table in MARTS:
            columns = self.rows(
                "SELECT name, type FROM system.columns WHERE database = {db:String} AND table = {t:String} "
                "ORDER BY position",
                db=self.marts,
                t=table,
            )
            select = ", ".join(
                f"finalizeAggregation({name})" if kind.startswith("AggregateFunction") else name
                for name, kind in columns
            )
            where = "1"
            if without_visitor is not None and any(name == "visitor_id" for name, _ in columns):
                where = "visitor_id != {v:String}"
            out[table] = self.rows(
                f"SELECT {select} FROM {{marts}}.{table} WHERE {where} ORDER BY ALL", v=without_visitor
            )
        return out


@pytest.fixture(scope="module")
def data(warehouse, tmp_path_factory) -> Dataset:
    tmp = tmp_path_factory.mktemp("retention_marts")
    traffic = generate_traffic(tmp, sites=2, days=DAYS, start=START, visitors=60, seed=5)
    for site in traffic.sites:
        site["retention_days"] = 20
    settings = isolated_settings(
        warehouse, traffic.sites, archive={"url": str(tmp / "archive"), "restore_hold_days": 0}
    )
    load_traffic(warehouse, settings, traffic, tmp)
    result = run_dbt(
        settings,
        dbt_command("build", extra=["--exclude-resource-type", "unit_test"]),
        capture=True,
        timeout=600,
    )
    assert result.returncode == 0, result.stdout[-3000:]
    return Dataset(warehouse, settings)


@pytest.fixture(scope="module")
def before(data) -> dict:
    return {"raw": data.raw_counts(), "marts": data.snapshot()}


def test_archive_everything_keeps_the_marts(data, before):
    assert sum(before["raw"].values()) > 1000
    report = ArchiveJob(data.client, data.settings, today=TODAY).run()
    assert set(report.dropped) == set(before["raw"])
    assert sorted(set(report.partitions_dropped)) == sorted({day for _, day in before["raw"]})
    assert data.raw_counts() == {}
    assert data.snapshot() == before["marts"]  # the marts outlive the raw rows


def test_restore_brings_back_the_counts_and_rebuilds_identical_marts(data, before):
    berlin = data.settings.sites[0]
    report = restore(data.client, data.settings, berlin.website_id, START, LAST)
    # every site's days of the window, since dbt rebuilds a local day for all sites
    assert set(report.restored) == set(before["raw"])
    assert data.raw_counts() == before["raw"]
    assert report.marts_rebuilt == (START, LAST)
    assert data.snapshot() == before["marts"]
    entries = Manifest(data.client, data.raw).entries()
    assert {e.state for e in entries.values()} == {State.RESTORED}

    # The hold is 0 days here: the next run drops them again, from the same verified objects.
    again = ArchiveJob(data.client, data.settings, today=TODAY).run()
    assert again.exported == []
    assert set(again.dropped) == set(before["raw"])
    assert data.raw_counts() == {}


def test_privacy_delete_removes_a_visitor_everywhere_and_nothing_else(data, before):
    site = data.settings.sites[0].website_id
    # A human visitor with page views on more than one local day.
    visitor, days = data.rows(
        "SELECT visitor_id, uniqExact(local_date) AS d FROM {marts}.fct_page_views "
        "WHERE website_id = {s:UInt32} GROUP BY visitor_id ORDER BY d DESC, visitor_id LIMIT 1",
        s=site,
    )[0]
    assert days > 1
    # ... who also has a quarantined payload
    quarantine = f"`{data.raw}`.events_quarantine"
    data.client.command(
        f"INSERT INTO {quarantine} (website_id, reason, reason_detail, raw_payload) VALUES "
        "({s:UInt32}, 'invalid_value', 'screen_width: -1', {p:String}), "
        "({s:UInt32}, 'invalid_value', 'screen_width: -1', '{\"visitor_id\": \"someone-else\"}')",
        parameters={"s": site, "p": f'{{"visitor_id": "{visitor}", "screen_width": -1}}'},
    )
    quarantined = data.rows(f"SELECT count() FROM {quarantine}")[0][0]
    pageviews = dict(
        data.rows(
            "SELECT local_date, count() FROM {marts}.fct_page_views "
            "WHERE visitor_id = {v:String} GROUP BY ALL",
            v=visitor,
        )
    )
    site_daily_before = {
        (s, d): (pv, vis)
        for s, d, pv, vis in data.rows(
            "SELECT website_id, local_date, pageviews, visitors FROM {marts}.site_daily"
        )
    }
    manifest = Manifest(data.client, data.raw)
    old_urls = {key: e.url for key, e in manifest.entries().items()}

    report = PrivacyDeletion(data.client, data.settings, site, "visitor", visitor).run()

    assert report.raw_events_deleted == 0  # everything was archived
    assert report.quarantine_deleted == 1
    assert report.archive_objects_rewritten >= 2
    assert report.archive_rows_deleted > 0
    # gone from raw (restored for the rebuild), the quarantine, every archive object, the marts
    assert data.rows("SELECT count() FROM {raw}.events WHERE visitor_id = {v:String}", v=visitor) == [(0,)]
    assert data.rows(f"SELECT count() FROM {quarantine}") == [(quarantined - 1,)]
    assert data.rows(
        f"SELECT count() FROM {quarantine} WHERE position(raw_payload, {{v:String}}) > 0", v=visitor
    ) == [(0,)]
    store = ArchiveStore.from_settings(data.settings)
    columns = EventColumns.read(data.client, data.raw)
    entries = manifest.entries()
    for key, entry in entries.items():
        function, params = store.table_function(entry.url, columns.structure)
        rows = data.rows(
            f"SELECT countIf(visitor_id = {{v:String}}), count() FROM {function}", v=visitor, **params
        )
        assert rows == [(0, entry.fingerprint.rows)]
        if entry.url != old_urls[key]:
            assert not store.exists(old_urls[key])  # the old generation is deleted
    for table in ("fct_sessions", "fct_page_views", "int_events_sessionised", "int_visitors_first_seen"):
        assert data.rows(
            f"SELECT count() FROM {{marts}}.{table} WHERE visitor_id = {{v:String}}", v=visitor
        ) == [(0,)]
    # every other count unchanged
    after_raw = data.raw_counts()
    assert sum(before["raw"].values()) - sum(after_raw.values()) == report.archive_rows_deleted
    assert data.snapshot(without_visitor=visitor)["fct_sessions"] == [
        r for r in before["marts"]["fct_sessions"] if visitor not in r
    ]
    site_daily_after = {
        (s, d): (pv, vis)
        for s, d, pv, vis in data.rows(
            "SELECT website_id, local_date, pageviews, visitors FROM {marts}.site_daily"
        )
    }
    expected = {
        (s, d): (pv - pageviews.get(d, 0), vis - (d in pageviews)) if s == site else (pv, vis)
        for (s, d), (pv, vis) in site_daily_before.items()
    }
    assert site_daily_after == expected
    # the log holds the request, never the identifier
    log = data.rows(
        f"SELECT state, identifier_hmac, toString(tuple(*)) FROM `{data.settings.warehouse.meta_database}`"
        ".privacy_requests ORDER BY recorded_at"
    )
    assert [row[0] for row in log] == ["started", "done"]
    assert {row[1] for row in log} == {identifier_hmac(data.settings, "visitor", visitor)}
    assert not any(visitor in row[2] for row in log)


def test_the_dagster_jobs_archive_restore_and_delete_a_person(data):
    """The same work as the tests above, as the Dagster jobs run it (after them: the
    days are restored and held, without the first test's visitor)."""
    import dagster as dg

    from orchestration.defs.resources import BeaconhouseResource
    from orchestration.defs.retention.jobs import archive_job, privacy_delete_job, restore_job

    settings = data.settings

    class ThisDataset(BeaconhouseResource):
        def settings(self) -> Settings:
            return settings

    resources = {"beaconhouse": ThisDataset()}
    instance = dg.DagsterInstance.ephemeral()
    marts_before = data.snapshot()

    assert archive_job.execute_in_process(resources=resources, instance=instance).success
    assert data.raw_counts() == {}  # the held days are dropped again

    berlin = settings.sites[0].website_id
    restored = restore_job.execute_in_process(
        run_config={
            "ops": {
                "restore_days": {"config": {"site": berlin, "from_date": str(START), "to_date": str(LAST)}}
            }
        },
        resources=resources,
        instance=instance,
    )
    assert restored.success
    archived_rows = sum(e.fingerprint.rows for e in Manifest(data.client, data.raw).entries().values())
    assert sum(data.raw_counts().values()) == archived_rows > 0
    assert data.snapshot() == marts_before

    other = settings.sites[1].website_id
    [(visitor,)] = data.rows(
        "SELECT visitor_id FROM {marts}.fct_page_views WHERE website_id = {s:UInt32} "
        "GROUP BY visitor_id ORDER BY count() DESC, visitor_id LIMIT 1",
        s=other,
    )
    deleted = privacy_delete_job.execute_in_process(
        run_config={"ops": {"delete_person": {"config": {"site": other, "visitor": visitor}}}},
        resources=resources,
        instance=instance,
    )
    assert deleted.success
    assert data.rows("SELECT count() FROM {raw}.events WHERE visitor_id = {v:String}", v=visitor) == [(0,)]
    assert data.rows(
        "SELECT count() FROM {marts}.fct_page_views WHERE visitor_id = {v:String}", v=visitor
    ) == [(0,)]
    assert data.snapshot(without_visitor=visitor)["fct_sessions"] == [
        r for r in marts_before["fct_sessions"] if visitor not in r
    ]
