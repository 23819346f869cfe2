{% import "macros.sql.j2" as m with context %}
{#
  Site metadata for dbt: the [[sites]] of beaconhouse.toml, their conversion goals and
  the UTC offsets of their time zones. `beaconhouse sites sync` writes them; dbt's
  staging models read the latest sync (docs/dbt.md).

  Each sync inserts a whole snapshot stamped with one synced_at, in this order:
  timezone_offsets, site_goals, then sites. A single INSERT is atomic, and sites goes
  last, so a reader that takes the newest sites snapshot always finds its goals and
  its time zones' offsets. Older snapshots stay as the history of the configuration.

  The tables are tiny and every node joins against them, so in cluster mode they are
  replicated to every node (like schema_migrations), not sharded.
#}
{{ m.create_database(meta_db) }};

CREATE TABLE IF NOT EXISTS {{ meta_db }}.sites{{ m.on_cluster_clause() }}
(
    website_id          UInt32,
    domain              String,
    name                String,
    tracking_id         String,
    timezone            LowCardinality(String) COMMENT 'IANA time zone: the marts report site-local days and hours',
    retention_days      UInt32,
    bot_filtering       Bool COMMENT 'Exclude bots from the marts (they are still counted)',
    ip_anonymization    Bool,
    sampling_rate       Float64,
    synced_at           DateTime64(3, 'UTC') COMMENT 'The sync that wrote this snapshot'
)
ENGINE = {{ m.mergetree_engine("MergeTree", replication="cluster") }}
ORDER BY (synced_at, website_id);

CREATE TABLE IF NOT EXISTS {{ meta_db }}.site_goals{{ m.on_cluster_clause() }}
(
    website_id              UInt32,
    goal_name               String,
    kind                    LowCardinality(String) COMMENT 'destination | event | duration | pages_per_session',
    page_path               String COMMENT 'destination: the path to match',
    match_type              LowCardinality(String) COMMENT 'destination: exact | prefix | regex (RE2)',
    event_category          String COMMENT 'event: empty matches any',
    event_action            String,
    event_label             String,
    min_duration_seconds    UInt32 COMMENT 'duration: the session lasts at least this long',
    min_pageviews           UInt32 COMMENT 'pages_per_session: the session has at least this many page views',
    goal_value              Decimal(18, 4) COMMENT 'What one conversion is worth, in the site currency',
    synced_at               DateTime64(3, 'UTC')
)
ENGINE = {{ m.mergetree_engine("MergeTree", replication="cluster") }}
ORDER BY (synced_at, website_id, goal_name);

CREATE TABLE IF NOT EXISTS {{ meta_db }}.timezone_offsets{{ m.on_cluster_clause() }}
(
    timezone            LowCardinality(String),
    valid_from          DateTime('UTC') COMMENT 'First UTC second of this offset',
    utc_offset_seconds  Int32 COMMENT 'Local time = UTC + this',
    synced_at           DateTime64(3, 'UTC')
)
ENGINE = {{ m.mergetree_engine("MergeTree", replication="cluster") }}
ORDER BY (timezone, synced_at, valid_from);
