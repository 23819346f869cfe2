"""beaconhouse: web-analytics ELT pipeline."""
