"""What every retention task opens first: the raw table, the archive, its manifest."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from beaconhouse.config import Settings
from beaconhouse.retention.fingerprint import EventColumns
from beaconhouse.retention.manifest import Manifest
from beaconhouse.retention.storage import ArchiveStore


@dataclass(frozen=True)
class EventsTable:
    """raw.events as DDL must name it: the data table and its ON CLUSTER clause."""

    raw_db: str
    cluster: str | None

    @property
    def data_table(self) -> str:
        name = "events_local" if self.cluster else "events"
        return f"`{self.raw_db}`.{name}"

    @property
    def on_cluster(self) -> str:
        return f" ON CLUSTER '{self.cluster}'" if self.cluster else ""


class ArchiveWork:
    """The warehouse client and settings, with the raw table, the archive store, the
    manifest and raw.events' columns that archive, restore and privacy deletion share."""

    def __init__(self, client: Any, settings: Settings) -> None:
        self.client = client
        self.settings = settings
        self.raw_db = settings.warehouse.raw_database
        self.events = EventsTable(self.raw_db, settings.warehouse.cluster)
        self.store = ArchiveStore.from_settings(settings)
        self.manifest = Manifest(client, self.raw_db)
        self.columns = EventColumns.read(client, self.raw_db)
