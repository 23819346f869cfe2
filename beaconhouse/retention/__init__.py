"""Retention: a verified Parquet archive of expired days, restore, privacy deletion.

docs/retention.md describes the design; each module does one step of it.
"""
