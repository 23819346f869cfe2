{% import "macros.sql.j2" as m with context %}
{#
  Exactly-once Kafka loading (docs/kafka.md).

  1. raw.kafka_offsets: the Kafka loader's positions, per consumer group, topic and
     partition, kept in the warehouse beside the data they describe. Before a batch
     loads, one 'loading' row per partition names the batch (its dlt load id) and its
     offsets; once every row of the batch has landed, one INSERT writes the 'committed'
     rows of all its partitions at once (a single INSERT into this unpartitioned table
     is one part: atomic). A 'loading' row newer than the partition's 'committed' row
     is a batch that never committed: the next owner of the partition deletes its rows
     before it reads on. ReplacingMergeTree(seq) keeps the latest row per state, so
     the table stays at two rows per partition; readers take argMax(…, seq), never
     relying on merges. Tiny and read by whichever node a loader reaches, so in cluster
     mode it is replicated to every node, like schema_migrations.

  2. raw.ingest_counters gets ingest_batch_id, at the end of its sorting key. A batch
     that never committed must be removable from the counters too, and
     SummingMergeTree would otherwise fold its rows into committed ones. Adding a new
     column to the end of the key is a metadata change (no rewrite); the column may not
     have a DEFAULT expression, so rows without it hold ''.
#}
CREATE TABLE IF NOT EXISTS {{ raw_db }}.kafka_offsets{{ m.on_cluster_clause() }}
(
    consumer_group      LowCardinality(String),
    topic               LowCardinality(String),
    partition           Int32,
    state               LowCardinality(String) COMMENT 'loading: a batch on its way; committed: landed',
    seq                 UInt64 COMMENT 'Per group, topic and partition: +1 per batch or reset',
    start_offset        Int64 COMMENT 'First offset the batch covers (for a reset: the position before it)',
    next_offset         Int64 COMMENT 'The position after the batch: where the next batch starts',
    ingest_batch_id     String COMMENT 'dlt load id of the batch; empty for a reset',
    event_days          Array(Date) COMMENT 'Days (toDate(client_ts)) of its events, to prune a clean-up',
    topic_id            String COMMENT 'Kafka topic id the offsets belong to; empty when the broker has none',
    note                String COMMENT 'Why the row exists beyond a batch, e.g. a reset',
    consumer            String COMMENT 'Host and process that wrote the row',
    recorded_at         DateTime64(3, 'UTC') DEFAULT now64(3)
)
ENGINE = {{ m.mergetree_engine("ReplacingMergeTree", ["seq"], replication="cluster") }}
ORDER BY (consumer_group, topic, partition, state);

ALTER TABLE {{ raw_db }}.{{ m.local_name("ingest_counters") }}{{ m.on_cluster_clause() }}
    ADD COLUMN IF NOT EXISTS ingest_batch_id LowCardinality(String)
    COMMENT 'dlt load id of the load that wrote the row',
    MODIFY ORDER BY (website_id, minute, source_kind, ingest_batch_id);
{% if cluster %}
ALTER TABLE {{ raw_db }}.ingest_counters{{ m.on_cluster_clause() }}
    ADD COLUMN IF NOT EXISTS ingest_batch_id LowCardinality(String);
{% endif %}
