"""Retention in Dagster: the daily archive job, restore and privacy deletion, and checks.

The work is beaconhouse.retention's; these are thin ops around it. Restore and
privacy deletion take run config and have no schedule: people ask for them.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs.retention.checks import manifest_matches_partitions, no_unverified_drops
from orchestration.defs.retention.jobs import (
    archive_job,
    archive_schedule,
    privacy_delete_job,
    restore_job,
    retention_checks_job,
    retention_checks_schedule,
)

defs = dg.Definitions(
    asset_checks=[no_unverified_drops, manifest_matches_partitions],
    jobs=[archive_job, restore_job, privacy_delete_job, retention_checks_job],
    schedules=[archive_schedule, retention_checks_schedule],
)
