"""The retention jobs and checks in Dagster, run in process against the embedded warehouse."""

import uuid

import dagster as dg
import pytest

from orchestration.definitions import definitions
from orchestration.defs.resources import BeaconhouseResource
from tests.server.test_retention_archive import _load

pytestmark = pytest.mark.server


@pytest.fixture
def setup(warehouse, tmp_path):
    suffix = uuid.uuid4().hex[:8]
    config = tmp_path / "beaconhouse.toml"
    config.write_text(
        f'[warehouse]\nurl = "{warehouse.url}"\n'
        f'raw_database = "raw_{suffix}"\nmeta_database = "meta_{suffix}"\n'
        f'[archive]\nurl = "{tmp_path / "archive"}"\n'
        # the rows are from January 2025: long expired for a site that keeps 30 days
        '[[sites]]\nwebsite_id = 1\ndomain = "one.example"\nretention_days = 30\n'
        '[[sites]]\nwebsite_id = 2\ndomain = "two.example"\nretention_days = 30\n'
    )
    defs = definitions(BeaconhouseResource(config_path=str(config)))
    from beaconhouse.config import load_settings

    settings = load_settings(config)
    client = warehouse.client()
    _load(client, settings)
    return defs, settings, client


def _checks(defs) -> dict[str, bool]:
    result = defs.resolve_job_def("retention_checks").execute_in_process(
        instance=dg.DagsterInstance.ephemeral()
    )
    return {e.check_name: e.passed for e in result.get_asset_check_evaluations()}


def test_archive_job_then_the_checks_pass_and_catch_a_disagreement(setup):
    defs, settings, client = setup
    raw = settings.warehouse.raw_database
    assert _checks(defs) == {"no_unverified_drops": False, "manifest_matches_partitions": True}  # job behind
    result = defs.resolve_job_def("archive_job").execute_in_process(instance=dg.DagsterInstance.ephemeral())
    assert result.success
    assert client.query(f"SELECT count() FROM {raw}.events").result_rows == [(0,)]
    assert client.query(f"SELECT uniqExact(website_id, day) FROM {raw}.archive_manifest").result_rows == [
        (14,)
    ]
    assert _checks(defs) == {"no_unverified_drops": True, "manifest_matches_partitions": True}
    # A row reappears in a dropped site-day: the manifest no longer agrees.
    client.command(
        f"INSERT INTO {raw}.events (event_id, website_id, visitor_id, client_ts, server_ts) "
        "VALUES (generateUUIDv4(), 1, 'v', '2025-01-02 10:00:00', '2025-01-02 10:00:00')"
    )
    assert _checks(defs)["manifest_matches_partitions"] is False


def test_privacy_job_wants_exactly_one_identifier(setup):
    defs, _, _ = setup
    result = defs.resolve_job_def("privacy_delete_job").execute_in_process(
        instance=dg.DagsterInstance.ephemeral(),
        run_config={"ops": {"delete_person": {"config": {"site": 1, "visitor": "a", "user": "b"}}}},
        raise_on_error=False,
    )
    assert not result.success
    failure = result.failure_data_for_node("delete_person")
    assert "exactly one of visitor and user" in str(failure.error.message if failure.error else failure)
