{% import "macros.sql.j2" as m with context %}
{#
  raw.archive_manifest: the retention job's log, one row per step of one site's UTC
  day (docs/retention.md). A site-day moves exported -> verified -> dropped, then
  restored -> dropped again when a restore's hold ends; a privacy rewrite records a
  new generation of its archive object as 'verified' or 'dropped' again. The newest
  row (highest seq) of a (website_id, day) is its state: the job reads
  argMax(..., seq) and never relies on merges, so the table is a plain append-only
  MergeTree that also keeps the history ("dropped exactly once" can be counted).

  rows and checksum describe the rows of that site-day as they were in raw.events
  when exported; a drop happens only while the table still holds exactly those.
  Tiny and read by whichever node the job reaches: replicated to every node.
#}
CREATE TABLE IF NOT EXISTS {{ raw_db }}.archive_manifest{{ m.on_cluster_clause() }}
(
    website_id          UInt32,
    day                 Date COMMENT 'UTC day of client_ts: a partition of the events table',
    seq                 UInt32 COMMENT 'Per site-day: +1 per step; the highest is the state',
    state               LowCardinality(String) COMMENT 'exported | verified | dropped | restored',
    generation          UInt32 COMMENT 'Archive object version: +1 per privacy rewrite',
    url                 String COMMENT 'The Parquet object: s3://... or an absolute file path',
    rows                UInt64 COMMENT 'Rows of the site-day (all rows, before any ReplacingMergeTree merge)',
    checksum            UInt64 COMMENT 'sum(cityHash64(toString(tuple(every column)))) over those rows',
    note                String COMMENT 'Why the row exists beyond the normal flow, e.g. a privacy rewrite',
    recorded_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{ m.mergetree_engine("MergeTree", replication="cluster") }}
ORDER BY (website_id, day, seq);
