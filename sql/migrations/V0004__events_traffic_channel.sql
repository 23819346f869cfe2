{% import "macros.sql.j2" as m with context %}
{#
  The GA4 default channel group of each event (plus beaconhouse's "Internal"), computed
  by the loaders with the same rules as traffic_source/traffic_medium, so the marts
  group by it without re-deriving it. See docs/enrichment.md.
#}
ALTER TABLE {{ raw_db }}.{{ m.local_name("events") }}{{ m.on_cluster_clause() }}
    ADD COLUMN IF NOT EXISTS traffic_channel LowCardinality(String)
    COMMENT 'GA4 default channel group, or Internal for self-referrals' AFTER traffic_campaign;
{% if cluster %}
ALTER TABLE {{ raw_db }}.events{{ m.on_cluster_clause() }}
    ADD COLUMN IF NOT EXISTS traffic_channel LowCardinality(String) AFTER traffic_campaign;
{% endif %}
