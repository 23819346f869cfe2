"""Druid, the aggregation store: the daily page-view rollup exported to Parquet, ingested
by an ``index_parallel`` task, queried with pydruid and checked against the marts.

Druid's ``__time`` is the site-local wall-clock time (as the marts' ``hour_local``), so a
Druid DAY segment holds exactly the marts' ``local_date`` of every site, and
re-ingesting a day replaces that day and nothing else. See docs/druid.md.
"""
