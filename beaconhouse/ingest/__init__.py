"""Loading events into the warehouse: sources, validation, enrichment and dlt."""
