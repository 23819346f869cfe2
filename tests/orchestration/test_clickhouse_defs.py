"""The schema asset applies the migrations once, and the parts check reads system.parts."""

import uuid

import dagster as dg
import pytest

from orchestration.defs.clickhouse.schema import (
    MAX_PARTS_PER_PARTITION,
    raw_parts_under_limit,
    too_many_parts,
    warehouse_schema,
)
from orchestration.defs.resources import BeaconhouseResource


@pytest.mark.unit
def test_only_partitions_over_the_limit_are_reported():
    rows = [("20260301", MAX_PARTS_PER_PARTITION + 1), ("20260302", MAX_PARTS_PER_PARTITION), ("20260303", 4)]
    assert too_many_parts(rows) == [f"20260301: {MAX_PARTS_PER_PARTITION + 1} active parts"]
    assert too_many_parts(rows, limit=3) == [
        f"20260301: {MAX_PARTS_PER_PARTITION + 1} active parts",
        f"20260302: {MAX_PARTS_PER_PARTITION} active parts",
        "20260303: 4 active parts",
    ]


@pytest.mark.server
def test_the_schema_asset_migrates_once_and_its_check_counts_parts(warehouse, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    raw, meta = f"raw_{suffix}", f"meta_{suffix}"
    config = tmp_path / "beaconhouse.toml"
    config.write_text(
        f'[warehouse]\nurl = "{warehouse.url}"\nraw_database = "{raw}"\nmeta_database = "{meta}"\n'
        f'marts_database = "marts_{suffix}"\n'
    )
    resources = {"beaconhouse": BeaconhouseResource(config_path=str(config))}
    instance = dg.DagsterInstance.ephemeral()

    def materialize() -> tuple[dict, dict]:
        assets = [warehouse_schema, raw_parts_under_limit]
        result = dg.materialize(assets, resources=resources, instance=instance)
        assert result.success
        (check,) = result.get_asset_check_evaluations()
        assert check.passed
        (event,) = result.get_asset_materialization_events()
        values = {k: v.value for k, v in event.materialization.metadata.items()}
        return values, {k: v.value for k, v in check.metadata.items()}

    first, first_check = materialize()
    assert first_check["partitions"] == 0
    assert "V0001__raw_events" in first["applied_now"]
    assert first["schema_version"] >= 6
    warehouse.client().command(
        f"INSERT INTO {raw}.events (event_id, website_id, client_ts, server_ts) "
        "VALUES (generateUUIDv4(), 1, now64(3), now64(3))"
    )
    second, second_check = materialize()
    assert second["applied_now"] == []
    assert second["schema_version"] == first["schema_version"]
    assert (second_check["partitions"], second_check["most_parts"]) == (1, 1)  # the insert's part
