"""The code location: every integration's definitions, merged.

``dagster dev -m orchestration.definitions`` (``make dagster``) serves it; so does
``beaconhouse demo`` and ``beaconhouse backfill``, in process.
"""

from __future__ import annotations

import dagster as dg

from orchestration.defs import ingestion, quality
from orchestration.defs.resources import shared_resources

defs = dg.Definitions.merge(
    ingestion.defs,
    quality.defs,
    dg.Definitions(resources=shared_resources()),
)
