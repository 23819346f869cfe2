"""beaconhouse's Dagster code location: ``orchestration.definitions``."""
