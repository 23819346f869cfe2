{#-
  The build log: one row per site and site-local day each time a run rebuilt it, so
  late_data_days can say when a day was last built and the orchestrator can see what
  a run did. dbt creates it (on-run-start) in the marts database; nothing else writes
  it. It is append-only and tiny (sites x days x runs).
-#}

{% macro day_builds_relation() -%}
  {{ return(api.Relation.create(schema=target.schema, identifier='transform_day_builds')) }}
{%- endmacro %}


{#- Two hooks: ClickHouse's HTTP interface runs one statement per request. -#}
{% macro create_marts_database() -%}
  create database if not exists {{ target.schema }}
{%- endmacro %}


{% macro create_day_builds_table() -%}
  create table if not exists {{ day_builds_relation() }}
  (
      website_id      UInt32,
      local_date      Date comment 'Site-local day that was rebuilt',
      events          UInt64 comment 'Events of that site-day in int_events_sessionised after the run',
      built_at        DateTime64(3, 'UTC') comment 'When the run finished, by the warehouse clock',
      invocation_id   String comment 'dbt invocation that rebuilt it',
      min_date        Nullable(Date) comment 'The run''s build window',
      max_date        Nullable(Date)
  )
  engine = MergeTree
  order by (local_date, website_id, built_at)
{%- endmacro %}


{#-
  on-run-end: record the days this run rebuilt, but only when it rebuilt every
  incremental model (the daily partitions: int_events_sessionised and everything built
  from it) and each succeeded. After a failure, or a run of only some of them, the
  window's marts are not all current, and the days must not look freshly built.
-#}
{% macro record_day_builds(results) -%}
  {#- only commands that build: compile, test and docs run the hook too -#}
  {%- if not execute or flags.WHICH not in ('run', 'build', 'retry') -%}
    {{ return('') }}
  {%- endif -%}
  {%- set ns = namespace(events_relation=none, failed=false, built=[]) -%}
  {%- for result in results if result.node.resource_type == 'model' -%}
    {%- if result.status != 'success' -%}
      {%- set ns.failed = true -%}
    {%- else -%}
      {%- do ns.built.append(result.node.name) -%}
      {%- if result.node.name == 'int_events_sessionised' -%}
        {%- set ns.events_relation = result.node.relation_name -%}
      {%- endif -%}
    {%- endif -%}
  {%- endfor -%}
  {%- for node in graph.nodes.values()
        if node.resource_type == 'model' and node.config.materialized == 'incremental'
           and node.name not in ns.built -%}
    {%- set ns.failed = true -%}
  {%- endfor -%}
  {%- if ns.events_relation is none or ns.failed -%}
    {{ return('') }}
  {%- endif -%}
  {%- set min_date = build_window_bound('min_date') -%}
  {%- set max_date = build_window_bound('max_date') -%}
  insert into {{ day_builds_relation() }}
      (website_id, local_date, events, built_at, invocation_id, min_date, max_date)
  select
      website_id,
      local_date,
      count() as events,
      now64(3, 'UTC') as built_at,
      '{{ invocation_id }}' as invocation_id,
      {{ "toDate('" ~ min_date ~ "')" if min_date else 'null' }} as min_date,
      {{ "toDate('" ~ max_date ~ "')" if max_date else 'null' }} as max_date
  from {{ ns.events_relation }}
  where {{ in_build_window('local_date') }}
  group by website_id, local_date
{%- endmacro %}
