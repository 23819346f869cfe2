"""The landing-files asset: a day partition loads that day's files, once."""

import datetime as dt
import json
import uuid

import dagster as dg
import pytest
from dagster_dlt import DagsterDltResource

from beaconhouse.warehouse.migrations import SchemaContext, apply_migrations
from orchestration.defs.ingestion.assets import landing_files
from orchestration.defs.ingestion.sensors import newly_landed
from orchestration.defs.resources import BeaconhouseResource


def event(n: int, day: str) -> str:
    return json.dumps(
        {
            "type": "pageview",
            "event_id": str(uuid.UUID(int=n + 1)),
            "ts": f"{day}T10:00:{n % 60:02d}.000Z",
            "received_at": f"{day}T10:00:{n % 60:02d}.500Z",
            "tracking_id": "BH-1",
            "page": {"url": f"https://shop.example/p/{n}"},
            "context": {"user_agent": "Mozilla/5.0", "ip": "81.2.69.160"},
        }
    )


@pytest.mark.server
def test_a_day_partition_loads_that_days_files_and_a_rerun_changes_nothing(warehouse, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    raw, meta = f"raw_{suffix}", f"meta_{suffix}"
    apply_migrations(warehouse.client(), SchemaContext(raw_db=raw, meta_db=meta))
    landing = tmp_path / "landing"
    for day, numbers in (("2026-03-01", range(0, 40)), ("2026-03-02", range(40, 55))):
        folder = landing / "site=1" / f"date={day}"
        folder.mkdir(parents=True)
        (folder / "events.jsonl").write_text("\n".join(event(n, day) for n in numbers) + "\n")
    config = tmp_path / "beaconhouse.toml"
    config.write_text(
        f'[warehouse]\nurl = "{warehouse.url}"\nraw_database = "{raw}"\nmeta_database = "{meta}"\n'
        f'[landing]\nurl = "{landing}"\n'
        '[[sites]]\nwebsite_id = 1\ndomain = "shop.example"\n'
    )
    resources = {
        "beaconhouse": BeaconhouseResource(config_path=str(config), pipelines_dir=str(tmp_path / "dlt")),
        "dlt": DagsterDltResource(),
    }
    instance = dg.DagsterInstance.ephemeral()

    def count() -> int:
        return int(warehouse.client().query(f"SELECT count() FROM {raw}.events").result_rows[0][0])

    def load(day: str) -> dg.ExecuteInProcessResult:
        return dg.materialize([landing_files], partition_key=day, resources=resources, instance=instance)

    result = load("2026-03-01")
    assert result.success
    assert count() == 40
    [materialization] = result.asset_materializations_for_node("landing_files")
    assert materialization.metadata["events_loaded"].value == 40
    assert materialization.metadata["files_loaded"].value == 1

    again = load("2026-03-01")
    assert again.success
    assert count() == 40
    assert again.asset_materializations_for_node("landing_files")[0].metadata["files_loaded"].value == 0

    assert load("2026-03-02").success
    assert count() == 55


class Landed:
    def __init__(self, path: str, modified: float) -> None:
        self.path, self.modified = path, modified


@pytest.mark.unit
def test_sensor_cursor_takes_each_file_once_even_within_one_second():
    first, cursor = newly_landed([Landed("a", 10.0), Landed("b", 12.0)], None)
    assert [f.path for f in first] == ["a", "b"]
    # c appears later with b's timestamp (a store with one-second times): still new
    second, cursor = newly_landed([Landed("a", 10.0), Landed("b", 12.0), Landed("c", 12.0)], cursor)
    assert [f.path for f in second] == ["c"]
    third, cursor = newly_landed([Landed("a", 10.0), Landed("b", 12.0), Landed("c", 12.0)], cursor)
    assert third == []
    fourth, _ = newly_landed([Landed("d", 13.5)], cursor)
    assert [f.path for f in fourth] == ["d"]


@pytest.mark.unit
def test_partition_days_of_a_backfill_window():
    from orchestration.defs.partitions import days_of

    window = dg.TimeWindow(dt.datetime(2026, 3, 1, tzinfo=dt.UTC), dt.datetime(2026, 3, 4, tzinfo=dt.UTC))
    assert days_of(window) == [dt.date(2026, 3, 1), dt.date(2026, 3, 2), dt.date(2026, 3, 3)]


@pytest.mark.server
def test_raw_expectations_pass_on_clean_data_and_a_failure_blocks_downstream(warehouse, tmp_path):
    from orchestration.defs.quality.raw_checks import raw_events_expectations

    suffix = uuid.uuid4().hex[:8]
    raw, meta = f"raw_{suffix}", f"meta_{suffix}"
    apply_migrations(warehouse.client(), SchemaContext(raw_db=raw, meta_db=meta))
    folder = tmp_path / "landing" / "site=1" / "date=2026-03-01"
    folder.mkdir(parents=True)
    (folder / "events.jsonl").write_text("\n".join(event(n, "2026-03-01") for n in range(20)) + "\n")
    config = tmp_path / "beaconhouse.toml"
    config.write_text(
        f'[warehouse]\nurl = "{warehouse.url}"\nraw_database = "{raw}"\nmeta_database = "{meta}"\n'
        f'[landing]\nurl = "{tmp_path / "landing"}"\n[[sites]]\nwebsite_id = 1\ndomain = "shop.example"\n'
    )
    built: list[str] = []

    @dg.asset(deps=[landing_files.key], partitions_def=landing_files.partitions_def)
    def downstream(context) -> None:
        built.append(context.partition_key)

    resources = {
        "beaconhouse": BeaconhouseResource(
            config_path=str(config), pipelines_dir=str(tmp_path / "dlt"), gx_root=str(tmp_path / "gx")
        ),
        "dlt": DagsterDltResource(),
    }
    instance = dg.DagsterInstance.ephemeral()
    assets = [landing_files, raw_events_expectations, downstream]
    clean = dg.materialize(assets, partition_key="2026-03-01", resources=resources, instance=instance)
    [check] = clean.get_asset_check_evaluations()
    assert check.passed
    assert check.metadata["rows"].value == 20
    assert built == ["2026-03-01"]
    assert (tmp_path / "gx" / "gx" / "uncommitted" / "data_docs" / "local_site" / "index.html").exists()

    # An event type the contract does not know, as a broken loader might write it.
    warehouse.client().command(
        f"INSERT INTO {raw}.events (event_id, website_id, visitor_id, event_type, client_ts, server_ts) "
        f"VALUES (generateUUIDv4(), 1, 'v', 'bogus', '2026-03-01 11:00:00', '2026-03-01 11:00:00')"
    )
    blocked = dg.materialize(
        assets, partition_key="2026-03-01", resources=resources, instance=instance, raise_on_error=False
    )
    [check] = blocked.get_asset_check_evaluations()
    assert not check.passed
    failed = check.metadata["failed"].value
    assert [f["expectation"] for f in failed] == ["expect_column_values_to_be_in_set"]
    assert failed[0]["sample"] == ["bogus"]
    assert built == ["2026-03-01"]  # the downstream asset did not run again
    assert not blocked.success
