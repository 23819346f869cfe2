{% import "macros.sql.j2" as m with context %}
{#
  <meta_db>.privacy_requests: every `beaconhouse privacy delete`, without the personal
  data. The identifier is kept only as an HMAC-SHA256 keyed with the visitor-id
  secret, so one can check whether a given person's request was carried out, but not
  read who asked. What was removed is kept as counts.
#}
{{ m.create_database(meta_db) }};

CREATE TABLE IF NOT EXISTS {{ meta_db }}.privacy_requests{{ m.on_cluster_clause() }}
(
    request_id              UUID,
    website_id              UInt32,
    identifier_kind         LowCardinality(String) COMMENT 'visitor | user',
    identifier_hmac         String COMMENT 'hex HMAC-SHA256 of the identifier, keyed with ingest.visitor_id_secret',
    state                   LowCardinality(String) COMMENT 'started | done',
    raw_events_deleted      UInt64,
    quarantine_deleted      UInt64,
    archive_objects_rewritten UInt32,
    archive_rows_deleted    UInt64,
    mart_days_rebuilt       Array(Date) COMMENT 'Site-local days whose marts were rebuilt',
    recorded_at             DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{ m.mergetree_engine("MergeTree", replication="cluster") }}
ORDER BY (website_id, request_id, recorded_at);
