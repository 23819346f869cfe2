{% import "macros.sql.j2" as m with context %}
{#
  raw.events: one row per tracked event, validated and enriched by the dlt loaders.
  docs/schema.md explains the key, partitioning, dedup and TTL choices.

  Keep every column of the sorting key (website_id, visitor_id, client_ts, event_id) a
  pure function of the event payload: ReplacingMergeTree only collapses a redelivered
  event if it lands with the same key.
#}
{{ m.create_database(raw_db) }};

{% call m.table(
    raw_db, "events",
    engine="ReplacingMergeTree", engine_args=["loaded_at"],
    partition_by="toDate(client_ts)",
    order_by="(website_id, visitor_id, client_ts, event_id)",
    ttl="toDate(client_ts) + INTERVAL " ~ ttl_days ~ " DAY",
    settings={"ttl_only_drop_parts": 1},
    sharding_key="cityHash64(website_id)",
) %}
    -- identity
    event_id            UUID COMMENT 'Client-generated event id; the dedup key',
    website_id          UInt32,
    tracking_id         LowCardinality(String) COMMENT 'Public site key the event was sent with',
    visitor_id          String COMMENT 'Client visitor id, or the cookieless daily hash',
    visitor_id_kind     LowCardinality(String) COMMENT 'client | cookieless',
    session_id          String COMMENT 'Client session id; empty when the client has none',
    user_id             Nullable(String) COMMENT 'Site-supplied logged-in user id',

    -- what happened
    event_type          LowCardinality(String) COMMENT 'pageview | event | transaction | transaction_item | asset | ...',
    event_category      LowCardinality(String),
    event_action        LowCardinality(String),
    event_label         String,
    event_value         Nullable(Float64),

    -- when (UTC, millisecond precision)
    client_ts           DateTime64(3, 'UTC') COMMENT 'Event time by the client clock, after skew checks; drives partitioning' CODEC(Delta, ZSTD(1)),
    server_ts           DateTime64(3, 'UTC') COMMENT 'Time the collector or log source received the event' CODEC(Delta, ZSTD(1)),
    loaded_at           DateTime64(3, 'UTC') DEFAULT now64(3) COMMENT 'Load time; the ReplacingMergeTree version' CODEC(Delta, ZSTD(1)),
    event_date          Date ALIAS toDate(client_ts) COMMENT 'UTC day of client_ts; filters on it prune partitions',

    -- page and referrer
    page_url            String CODEC(ZSTD(1)),
    page_host           LowCardinality(String),
    page_path           String,
    page_query          String,
    page_title          String CODEC(ZSTD(1)),
    referrer_url        String CODEC(ZSTD(1)),
    referrer_host       LowCardinality(String),

    -- device, from the user agent and the beacon
    user_agent          String CODEC(ZSTD(1)),
    device_type         LowCardinality(String),
    browser_name        LowCardinality(String),
    browser_version     LowCardinality(String),
    os_name             LowCardinality(String),
    os_version          LowCardinality(String),
    screen_width        UInt16 COMMENT '0 when unknown',
    screen_height       UInt16 COMMENT '0 when unknown',
    language            LowCardinality(String),

    -- geo
    ip                  IPv6 COMMENT 'Anonymised per site setting; IPv4 stored IPv4-mapped (::ffff:a.b.c.d)',
    country_code        LowCardinality(String) COMMENT 'ISO 3166-1 alpha-2; empty when unknown',
    region              LowCardinality(String),
    city                LowCardinality(String),

    -- traffic: raw campaign parameters, then the loader's derived source/medium/campaign
    utm_source          LowCardinality(String),
    utm_medium          LowCardinality(String),
    utm_campaign        LowCardinality(String),
    utm_term            String,
    utm_content         String,
    traffic_source      LowCardinality(String) COMMENT 'Derived from UTM, click ids and referrer',
    traffic_medium      LowCardinality(String) COMMENT 'Derived: organic | referral | cpc | social | email | direct | ...',
    traffic_campaign    LowCardinality(String) COMMENT 'Derived',
    click_ids           Map(LowCardinality(String), String) COMMENT 'Ad click ids by URL parameter name: gclid, fbclid, msclkid, ...',

    -- ecommerce: transaction totals on transaction events, product fields on item events
    transaction_id      String,
    revenue             Nullable(Decimal(18, 4)),
    tax                 Nullable(Decimal(18, 4)),
    shipping            Nullable(Decimal(18, 4)),
    currency            LowCardinality(String) COMMENT 'ISO 4217',
    items_count         UInt32 COMMENT 'Distinct line items in the transaction',
    items_quantity      UInt32 COMMENT 'Units across all line items',
    product_sku         String,
    product_name        String,
    product_category    LowCardinality(String),
    product_price       Nullable(Decimal(18, 4)),
    product_quantity    UInt32,

    -- site-defined fields
    custom_dimensions   Map(LowCardinality(String), String),
    custom_metrics      Map(LowCardinality(String), Float64),
    properties          Map(String, String) COMMENT 'Any other payload fields, kept verbatim as strings' CODEC(ZSTD(1)),

    -- quality flags
    is_bot              Bool,
    bot_name            LowCardinality(String),
    is_duplicate        Bool COMMENT 'Loader saw this event_id before under a different sorting key; marts drop it',

    -- lineage: where the row came from, so any row can be traced and replayed
    {{ m.lineage_columns('dlt load id of the load that wrote the row') }}
{% endcall %};
