{% import "macros.sql.j2" as m with context %}
{#
  raw.events_quarantine: rows the loaders could not turn into raw.events, kept verbatim
  with a short reason code so they can be inspected and replayed.

  raw_payload is the payload as received, before IP anonymisation, so it is personal
  data: the quarantine keeps quarantine_ttl_days (default 90), far less than raw.events.
  Sharded by rand(): nothing reads it per site, and a flood of events for an unknown
  website (website_id NULL) must not all land on one shard.
#}
{% call m.table(
    raw_db, "events_quarantine",
    engine="MergeTree",
    partition_by="toDate(received_at)",
    order_by="(reason, received_at)",
    ttl="toDate(received_at) + INTERVAL " ~ quarantine_ttl_days ~ " DAY",
    settings={"ttl_only_drop_parts": 1},
    sharding_key="rand()",
) %}
    quarantine_id       UUID DEFAULT generateUUIDv4(),
    received_at         DateTime64(3, 'UTC') DEFAULT now64(3) CODEC(Delta, ZSTD(1)),

    -- what the loader could still read from the payload; NULL when it could not
    website_id          Nullable(UInt32),
    event_id            Nullable(UUID),

    -- why
    reason              LowCardinality(String) COMMENT 'Short code: malformed_json | missing_field | invalid_value | unknown_website | timestamp_out_of_range | ...',
    reason_detail       String COMMENT 'Human-readable detail, e.g. the failing field and value',
    raw_payload         String COMMENT 'The event exactly as received' CODEC(ZSTD(3)),

    -- lineage, as in raw.events
    {{ m.lineage_columns('dlt load id of the load that quarantined the row') }}
{% endcall %};
