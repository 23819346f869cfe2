{% import "macros.sql.j2" as m with context %}
{#
  raw.ingest_counters: what the loaders did, per site, per minute, per source. The
  loaders insert one row per (website_id, minute, source_kind) per batch;
  SummingMergeTree adds rows with the same key together when parts merge, which may
  never happen for the newest parts, so readers must always sum():

      SELECT website_id, minute, sum(received), sum(loaded), ...  GROUP BY ...

  minute is the start of the minute the pipeline received the events (server_ts or
  the quarantine's received_at), not the client clock, so counters reconcile with the
  Kafka topic and the landing files. website_id is 0 for events whose site is unknown.
#}
{% call m.table(
    raw_db, "ingest_counters",
    engine="SummingMergeTree", engine_args=["(received, loaded, quarantined, duplicate)"],
    partition_by="toYYYYMM(minute)",
    order_by="(website_id, minute, source_kind)",
    ttl="toDate(minute) + INTERVAL " ~ ttl_days ~ " DAY",
    settings={"ttl_only_drop_parts": 1},
    sharding_key="cityHash64(website_id)",
) %}
    website_id          UInt32 COMMENT '0 when the site is unknown',
    minute              DateTime('UTC') COMMENT 'Start of the minute the pipeline received the events',
    source_kind         LowCardinality(String) COMMENT 'kafka | file',
    received            UInt64 COMMENT 'Events read from the source',
    loaded              UInt64 COMMENT 'Rows written to {{ raw_db }}.events',
    quarantined         UInt64 COMMENT 'Rows written to {{ raw_db }}.events_quarantine',
    duplicate           UInt64 COMMENT 'Events dropped as duplicates of an event_id already loaded'
{% endcall %};
