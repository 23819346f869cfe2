"""Errors an ingest run reports to its caller in one line."""


class IngestError(Exception):
    """An ingest run cannot proceed; the message says why."""
