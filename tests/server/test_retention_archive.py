"""The archive job on the embedded warehouse: local folder and a real S3 (moto).

Synthetic rows, written with SQL, keep these fast: two sites over seven UTC days,
with NULLs, decimals, maps, IPv6 and duplicate rows (as a ReplacingMergeTree holds
them before merges), so the checksum sees every kind of column.
"""

from __future__ import annotations

import datetime as dt
import uuid
from pathlib import Path

import pytest

from beaconhouse.config import Settings
from beaconhouse.retention.archive_job import ArchiveJob, ArchiveMismatchError, FaultPoint, InjectedFaultError
from beaconhouse.retention.fingerprint import EventColumns
from beaconhouse.retention.manifest import Manifest, State
from beaconhouse.retention.privacy import PrivacyDeletion
from beaconhouse.retention.restore import restore
from beaconhouse.retention.storage import WRITE_SETTINGS, ArchiveStore
from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations
from tests.s3_server import MotoS3

pytestmark = pytest.mark.server

FIRST_DAY = dt.date(2025, 1, 1)
#: site 1 keeps 30 days, site 2 keeps 33: on TODAY site 1 has days 1-3 expired, site 2
#: none of them, so site 1's rows go by DELETE; 33 days later days 1-3 go by DROP PARTITION
TODAY = dt.date(2025, 2, 3)
RETENTION = {1: 30, 2: 33}


def _settings(warehouse, archive_url: str, s3=None) -> Settings:
    suffix = uuid.uuid4().hex[:8]
    data = {
        "warehouse": {
            "url": warehouse.url,
            "raw_database": f"raw_{suffix}",
            "meta_database": f"meta_{suffix}",
        },
        "archive": {"url": archive_url},
        "sites": [
            {"website_id": site, "domain": f"site{site}.example", "retention_days": days}
            for site, days in RETENTION.items()
        ],
    }
    settings = Settings.model_validate(data)
    if s3 is not None:
        settings = settings.model_copy(update={"s3": s3})
    return settings


def _load(client, settings: Settings) -> None:
    wh = settings.warehouse
    apply_migrations(client, SchemaContext(raw_db=wh.raw_database, meta_db=wh.meta_database))
    # 1000 events every 10 minutes from FIRST_DAY (about 7 days), alternating sites; the
    # first 50 again as exact duplicates.
    client.command(
        f"INSERT INTO {wh.raw_database}.events (event_id, website_id, visitor_id, user_id, client_ts, "
        "server_ts, loaded_at, revenue, click_ids, ip, properties, is_bot) "
        "SELECT toUUID(concat('00000000-0000-0000-0000-', leftPad(toString(number % 1000), 12, '0'))), "
        "1 + number % 2, concat('v', toString(number % 13)), if(number % 5 = 0, NULL, 'user-7'), "
        "toDateTime64('2025-01-01 00:00:00', 3, 'UTC') + (number % 1000) * 600, "
        "toDateTime64('2025-01-01 00:00:00', 3, 'UTC') + (number % 1000) * 600 + 1, "
        "toDateTime64('2025-01-09 00:00:00', 3, 'UTC'), "
        "if(number % 3 = 0, NULL, toDecimal64(number / 7, 4)), map('gclid', toString(number)), "
        "'::ffff:10.0.0.1', map('k', 'v;\"x'), number % 11 = 0 FROM numbers(1050)",
        settings={"optimize_on_insert": 0},
    )


def _counts(client, settings: Settings, where: str = "1") -> dict[tuple[int, dt.date], int]:
    rows = client.query(
        f"SELECT website_id, toDate(client_ts), count() FROM {settings.warehouse.raw_database}.events "
        f"WHERE {where} GROUP BY ALL"
    ).result_rows
    return {(int(s), d): int(n) for s, d, n in rows}


def _check_archived(client, settings: Settings, before: dict, expected: set[tuple[int, dt.date]]) -> None:
    """Exactly ``expected`` site-days are gone from the table, archived and dropped once."""
    after = _counts(client, settings)
    assert set(after) == set(before) - expected
    assert all(after[key] == before[key] for key in after)  # the rest untouched
    manifest = Manifest(client, settings.warehouse.raw_database)
    entries = manifest.entries()
    assert set(entries) == expected
    assert all(e.state == State.DROPPED for e in entries.values())
    assert {k: e.fingerprint.rows for k, e in entries.items()} == {k: before[k] for k in expected}
    assert dict(manifest.dropped_counts().items()) == dict.fromkeys(expected, 1)
    # the archive objects read back with the rows they had
    store = ArchiveStore.from_settings(settings)
    columns = EventColumns.read(client, settings.warehouse.raw_database)
    function, params = store.table_function(entries[min(expected)].url, columns.structure)
    assert (
        client.query(f"SELECT count() FROM {function}", parameters=params).result_rows[0][0]
        == before[min(expected)]
    )


@pytest.fixture
def local(warehouse, tmp_path):
    settings = _settings(warehouse, str(tmp_path / "archive"))
    client = warehouse.client()
    _load(client, settings)
    return client, settings


SITE1_EXPIRED = {(1, FIRST_DAY + dt.timedelta(days=d)) for d in range(3)}


def test_archive_to_the_local_folder_deletes_one_site_then_drops_partitions(local, tmp_path):
    client, settings = local
    before = _counts(client, settings)
    assert sum(before.values()) == 1050
    assert before[(1, FIRST_DAY)] == 72 + 25

    planned = ArchiveJob(client, settings, today=TODAY).run(dry_run=True)
    assert set(planned.would_archive) == SITE1_EXPIRED
    assert _counts(client, settings) == before  # a dry run moves nothing

    report = ArchiveJob(client, settings, today=TODAY).run()
    assert set(report.dropped) == SITE1_EXPIRED
    assert report.partitions_dropped == []
    _check_archived(client, settings, before, SITE1_EXPIRED)
    files = sorted(p.relative_to(tmp_path / "archive") for p in (tmp_path / "archive").rglob("*.parquet"))
    assert [str(f) for f in files] == [
        f"raw_events/website_id=1/date={d:%Y-%m-%d}/part-1.parquet"
        for d in sorted(d for _, d in SITE1_EXPIRED)
    ]
    assert files
    assert (tmp_path / "archive" / files[0]).read_bytes()[:4] == b"PAR1"

    # Three days later site 2's first days expire too: now whole partitions go.
    later = ArchiveJob(client, settings, today=TODAY + dt.timedelta(days=3)).run()
    site2 = {(2, FIRST_DAY + dt.timedelta(days=d)) for d in range(3)}
    site1_more = {(1, FIRST_DAY + dt.timedelta(days=d)) for d in range(3, 6)}
    assert set(later.dropped) == site2 | site1_more
    assert later.partitions_dropped == [FIRST_DAY + dt.timedelta(days=d) for d in range(3)]
    _check_archived(client, settings, before, SITE1_EXPIRED | site2 | site1_more)
    # and a rerun with nothing new does nothing
    again = ArchiveJob(client, settings, today=TODAY + dt.timedelta(days=3)).run()
    assert again.exported == again.dropped == again.conflicts == []


@pytest.mark.parametrize("fault", list(FaultPoint))
def test_a_run_killed_at_any_step_is_finished_by_the_next(local, fault):
    client, settings = local
    before = _counts(client, settings)
    with pytest.raises(InjectedFaultError):
        ArchiveJob(client, settings, today=TODAY, fail_at=fault).run()
    # Nothing is ever gone without a verified manifest entry.
    entries = Manifest(client, settings.warehouse.raw_database).entries()
    for key in set(before) - set(_counts(client, settings)):
        assert entries[key].state in (State.VERIFIED, State.DROPPED)
    ArchiveJob(client, settings, today=TODAY).run()
    _check_archived(client, settings, before, SITE1_EXPIRED)


def test_an_archive_that_does_not_read_back_stops_the_drop(local):
    client, settings = local
    before = _counts(client, settings)
    with pytest.raises(InjectedFaultError):
        ArchiveJob(client, settings, today=TODAY, fail_at=FaultPoint.AFTER_VERIFIED_RECORD).run()
    entry = Manifest(client, settings.warehouse.raw_database).entries()[(1, FIRST_DAY)]
    assert entry.state == State.VERIFIED
    # The object loses a row after it was verified (a truncated upload, bit rot, ...).
    store = ArchiveStore.from_settings(settings)
    columns = EventColumns.read(client, settings.warehouse.raw_database)
    function, params = store.table_function(entry.url, columns.structure)
    raw = settings.warehouse.raw_database
    client.command(
        f"INSERT INTO FUNCTION {function} SELECT {columns.select_list} FROM {raw}.events "
        f"WHERE website_id = 1 AND toDate(client_ts) = '{FIRST_DAY}' LIMIT 10",
        parameters=params,
        settings=WRITE_SETTINGS,
    )
    with pytest.raises(ArchiveMismatchError, match="reads back 10 rows"):
        ArchiveJob(client, settings, today=TODAY).run()
    assert _counts(client, settings)[(1, FIRST_DAY)] == before[(1, FIRST_DAY)]


def test_archive_to_a_real_s3_endpoint(warehouse):
    with MotoS3() as s3:
        s3.client().create_bucket(Bucket="archive")
        settings = _settings(warehouse, "s3://archive/beaconhouse", s3=s3.settings)
        client = warehouse.client()
        _load(client, settings)
        before = _counts(client, settings)
        users = _counts(client, settings, "user_id = 'user-7'")
        report = ArchiveJob(client, settings, today=TODAY).run()
        assert set(report.dropped) == SITE1_EXPIRED
        _check_archived(client, settings, before, SITE1_EXPIRED)
        keys = sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket="archive")["Contents"])
        assert keys == [
            f"beaconhouse/raw_events/website_id=1/date={d:%Y-%m-%d}/part-1.parquet"
            for d in sorted(d for _, d in SITE1_EXPIRED)
        ]

        # A user's rows leave the archive objects and the hot rows (the marts have
        # their own test: tests/server/test_retention_marts.py).
        hot_user_rows = sum(
            n for (site, _), n in users.items() if site == 1 and (site, _) not in SITE1_EXPIRED
        )
        privacy = PrivacyDeletion(client, settings, 1, "user", "user-7").run(rebuild=False)
        assert privacy.archive_objects_rewritten == 3
        assert privacy.archive_rows_deleted == sum(users[k] for k in SITE1_EXPIRED)
        assert privacy.raw_events_deleted == hot_user_rows
        keys = sorted(o["Key"] for o in s3.client().list_objects_v2(Bucket="archive")["Contents"])
        assert keys == [  # the first generation is gone
            f"beaconhouse/raw_events/website_id=1/date={d:%Y-%m-%d}/part-2.parquet"
            for d in sorted(d for _, d in SITE1_EXPIRED)
        ]
        # Restore reads the rewritten objects back: every count as before, less the user's.
        restored = restore(client, settings, 1, FIRST_DAY, FIRST_DAY + dt.timedelta(days=2), rebuild=False)
        assert set(restored.restored) == SITE1_EXPIRED  # UTC days of the site's local days (UTC site)
        expected = {key: n - (users[key] if key[0] == 1 else 0) for key, n in before.items()}
        assert _counts(client, settings) == {k: n for k, n in expected.items() if n}


def test_the_archive_folder_is_resolved_to_an_absolute_path(tmp_path, monkeypatch):
    monkeypatch.chdir(tmp_path)
    store = ArchiveStore.from_settings(Settings.model_validate({"archive": {"url": "rel/archive"}}))
    assert store.url == str(Path(tmp_path / "rel" / "archive").resolve())
    assert store.object_url(3, FIRST_DAY, 2).endswith(
        "rel/archive/raw_events/website_id=3/date=2025-01-01/part-2.parquet"
    )


def test_a_restore_that_died_half_way_is_not_dropped_and_is_finished_by_the_next(local):
    client, settings = local
    before = _counts(client, settings)
    ArchiveJob(client, settings, today=TODAY).run()
    raw = settings.warehouse.raw_database
    entry = Manifest(client, raw).entries()[(1, FIRST_DAY)]
    # The first 10 rows of the object made it back before the restore died.
    store = ArchiveStore.from_settings(settings)
    columns = EventColumns.read(client, raw)
    function, params = store.table_function(entry.url, columns.structure)
    client.command(
        f"INSERT INTO {raw}.events ({columns.select_list}) "
        f"SELECT {columns.select_list} FROM {function} LIMIT 10",
        parameters=params,
    )
    # The archive job does not take those 10 rows for the site-day and drops nothing.
    report = ArchiveJob(client, settings, today=TODAY).run()
    assert report.dropped == []
    assert report.conflicts == [
        f"site 1 {FIRST_DAY}: dropped, but raw.events holds 10 rows that differ from its archive; "
        "nothing dropped (finish `archive restore` or inspect)"
    ]
    restored = restore(client, settings, 1, FIRST_DAY, FIRST_DAY, rebuild=False)
    assert restored.restored == [(1, FIRST_DAY)]
    assert _counts(client, settings)[(1, FIRST_DAY)] == before[(1, FIRST_DAY)]


def test_the_cli_archives_with_todays_date(local, tmp_path, capsys):
    from beaconhouse.cli import main

    _, settings = local
    wh = settings.warehouse
    config = tmp_path / "beaconhouse.toml"
    sites = "".join(
        f'[[sites]]\nwebsite_id = {s}\ndomain = "s{s}.example"\nretention_days = 30\n' for s in (1, 2)
    )
    config.write_text(
        f'[warehouse]\nurl = "{wh.url}"\n'
        f'raw_database = "{wh.raw_database}"\nmeta_database = "{wh.meta_database}"\n'
        f'[archive]\nurl = "{settings.archive.url}"\n{sites}'
    )
    # The rows are from January 2025, long expired: 7 UTC days of 2 sites.
    assert main(["--config", str(config), "archive", "run", "--dry-run"]) == 0
    assert capsys.readouterr().out.startswith(
        "would archive 14 site-days: site 1 2025-01-01, site 2 2025-01-01"
    )
    assert main(["--config", str(config), "archive", "run"]) == 0
    assert capsys.readouterr().out.strip() == (
        "exported 14, verified 14, dropped 14 site-days (7 whole partitions); 0 restored and held"
    )
