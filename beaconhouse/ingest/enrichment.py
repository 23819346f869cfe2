"""The loaders' view of enrichment: beaconhouse.enrich configured from Settings."""

from __future__ import annotations

import pyarrow as pa

from beaconhouse.config import Settings
from beaconhouse.enrich import Enricher as _Enricher
from beaconhouse.enrich import EnrichOptions, SiteInfo


class Enricher:
    """One per loader: it keeps the parsers and caches across batches."""

    def __init__(self, settings: Settings) -> None:
        ingest = settings.ingest
        self._sites = {
            s.website_id: SiteInfo(s.website_id, s.domain, s.timezone, s.ip_anonymization, s.bot_filtering)
            for s in settings.sites
        }
        self._inner = _Enricher(
            EnrichOptions(
                visitor_id_secret=ingest.visitor_id_secret.encode(),
                mmdb_path=str(ingest.geoip_mmdb_path) if ingest.geoip_mmdb_path else None,
                with_channel=True,
            )
        )

    def enrich(self, events: pa.Table) -> pa.Table:
        """``events`` with every enrichment column of raw.events filled in."""
        return self._inner.enrich(events, self._sites)
