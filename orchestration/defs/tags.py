"""Run tags the instance's run queue limits by (dagster.yaml)."""

#: every job that writes to the warehouse carries it: at most two such runs at once
WAREHOUSE_TAG = {"beaconhouse/warehouse": "write"}
