"""Druid follows the marts: each day built since the last look is requested once."""

import dagster as dg
import pytest

from orchestration.defs.druid.assets import FCT_PAGE_VIEWS
from orchestration.defs.druid.sensors import druid_after_marts, partitions_to_request


@pytest.mark.unit
def test_partitions_are_distinct_in_storage_order():
    records = [(7, "2026-03-02"), (5, "2026-03-01"), (9, "2026-03-01"), (8, None)]
    assert partitions_to_request(records) == (["2026-03-01", "2026-03-02"], 9)
    assert partitions_to_request([]) == ([], None)


@pytest.mark.unit
def test_the_sensor_requests_each_built_day_once():
    with dg.instance_for_test() as instance:

        def built(*days: str) -> None:
            for day in days:
                instance.report_runless_asset_event(dg.AssetMaterialization(FCT_PAGE_VIEWS, partition=day))

        def tick(cursor: str | None) -> tuple[list[str], str | None]:
            context = dg.build_sensor_context(instance=instance, cursor=cursor)
            requests = [r for r in druid_after_marts(context) if isinstance(r, dg.RunRequest)]
            return [r.partition_key for r in requests], context.cursor

        built("2026-03-01", "2026-03-02", "2026-03-01")
        keys, cursor = tick(None)
        assert keys == ["2026-03-01", "2026-03-02"]
        assert tick(cursor) == ([], cursor)  # nothing new
        built("2026-03-03")  # e.g. a late-data rebuild
        keys, later = tick(cursor)
        assert keys == ["2026-03-03"]
        assert int(later) > int(cursor)
