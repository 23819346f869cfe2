{#-
  The insert_overwrite strategy of the marts' daily models, in fewer statements than
  dbt-clickhouse's own (pinned in uv.lock). dbt-clickhouse's incremental
  materialization calls this macro by name, and a name in the root project wins; if an
  upgrade stops routing the strategy here, tests/server/test_dbt_marts.py fails (its
  schema-change and emptied-day tests expect this macro's behaviour).

  A one-day rerun is mostly fixed cost per model: dbt-clickhouse runs about a dozen
  statements per model, and on_schema_change: fail adds a `SELECT … LIMIT 0` of the
  model, 0.35 s on the heaviest model of a 9 s rerun.
  Here the schema check reuses the new-data table's columns, which the insert needs
  anyway:

    1. create the new-data table from the model's SQL (empty; it has the columns and
       types the SQL gives now);
    2. compare them with the target's, in order, name and type. A difference stops the
       run with the columns named (on_schema_change: fail), before any data moves;
    3. insert the window into it, then replace the target's partitions with its
       partitions (REPLACE PARTITION is atomic per partition: readers see the old day
       or the new one, never an empty one) and drop it. A day of the window for which
       the model now gives no rows is dropped from the target (models partitioned by
       local_date, the daily models' key), so a rerun always leaves exactly what the
       model gives for the window.

  The daily models set on_schema_change: ignore so that dbt-clickhouse does not check
  a second time; the check is here. The models use the `incremental` materialization,
  never `distributed_incremental`, which this macro refuses with a clear error.
-#}
{% macro clickhouse__incremental_insert_overwrite(existing_relation, partition_by, is_distributed=False) %}
  {%- if is_distributed -%}
    {#- dbt-clickhouse's own macro cannot be called once this one shadows it -#}
    {% do exceptions.raise_compiler_error(
        "insert_overwrite: beaconhouse's strategy writes local tables; the distributed_incremental"
        ~ " materialization is not supported (" ~ existing_relation ~ ")") %}
  {%- endif -%}
  {%- set new_data = existing_relation.incorporate(path={
        "identifier": existing_relation.identifier ~ '__dbt_new_data_' ~ invocation_id.replace('-', '_')}) -%}
  {%- set has_contract = config.get('contract').enforced -%}

  {{ clickhouse__create_empty_table(False, new_data, sql, has_contract, statement_name='create_new_data') }}

  {%- set new_columns = adapter.get_columns_in_relation(new_data) -%}
  {%- set schema_difference = daily_model_schema_difference(adapter.get_columns_in_relation(existing_relation), new_columns) -%}
  {%- if schema_difference -%}
    {% do adapter.drop_relation(new_data) %}
    {% do exceptions.raise_compiler_error(
        "The columns of " ~ existing_relation ~ " no longer match its model (" ~ schema_difference
        ~ "). Rebuild every day with --full-refresh and no window (docs/dbt.md).") %}
  {%- endif -%}

  {%- set column_list = new_columns | map(attribute='quoted') | join(', ') -%}
  {% call statement('main') %}
    insert into {{ new_data }} ({{ column_list }})
    {% if has_contract -%}
      {#- a contract fixes the table's column order, not the SQL's -#}
      select {{ column_list }} from ({{ sql }})
    {%- else -%}
      {{ sql }}
    {%- endif %}
    {{ adapter.get_model_query_settings(model) }}
  {% endcall %}

  {#- the partitions of both tables: the new data's replace the target's, and a day of
      the window that has no rows any more (a goal removed, events erased) is emptied,
      where dbt-clickhouse would keep its old rows -#}
  {%- set parts = run_query(
        "select table, partition_id, any(partition) as partition_value from system.parts"
        ~ " where active and database = '" ~ new_data.schema ~ "'"
        ~ " and table in ('" ~ existing_relation.identifier ~ "', '" ~ new_data.identifier ~ "')"
        ~ " group by table, partition_id order by partition_id") -%}
  {%- set ns = namespace(replace=[], drop=[]) -%}
  {%- for row in parts.rows if row['table'] == new_data.identifier -%}
    {%- set ns.replace = ns.replace + [row['partition_id']] -%}
  {%- endfor -%}
  {%- if partition_by == 'local_date' -%}
    {%- set min_date = build_window_bound('min_date') -%}
    {%- set max_date = build_window_bound('max_date') -%}
    {%- for row in parts.rows if row['table'] == existing_relation.identifier
          and row['partition_id'] not in ns.replace
          and (not min_date or row['partition_value'] >= min_date)
          and (not max_date or row['partition_value'] <= max_date) -%}
      {%- set ns.drop = ns.drop + [row['partition_id']] -%}
    {%- endfor -%}
  {%- endif -%}
  {%- if ns.replace or ns.drop -%}
    {% call statement('replace_partitions') %}
      alter table {{ existing_relation }}
      {%- for partition_id in ns.replace %}
        replace partition id '{{ partition_id }}' from {{ new_data }}{{ ',' if not loop.last or ns.drop }}
      {%- endfor %}
      {%- for partition_id in ns.drop %}
        drop partition id '{{ partition_id }}'{{ ',' if not loop.last }}
      {%- endfor %}
    {% endcall %}
  {%- endif -%}
  {% do adapter.drop_relation(new_data) %}
{% endmacro %}


{#- '' when the columns agree in order, name and type; else what differs, for people. -#}
{% macro daily_model_schema_difference(existing_columns, new_columns) %}
  {%- set existing = existing_columns | map(attribute='name') | list -%}
  {%- set new = new_columns | map(attribute='name') | list -%}
  {%- set differences = [] -%}
  {%- set added = new | reject('in', existing) | list -%}
  {%- set removed = existing | reject('in', new) | list -%}
  {%- if added %}{% do differences.append('added: ' ~ added | join(', ')) %}{% endif -%}
  {%- if removed %}{% do differences.append('removed: ' ~ removed | join(', ')) %}{% endif -%}
  {%- for column in new_columns -%}
    {%- for old in existing_columns if old.name == column.name and old.data_type != column.data_type -%}
      {% do differences.append(column.name ~ ' ' ~ old.data_type ~ ' -> ' ~ column.data_type) %}
    {%- endfor -%}
  {%- endfor -%}
  {%- if not differences and existing != new -%}
    {% do differences.append('column order changed') %}
  {%- endif -%}
  {{ return(differences | join('; ')) }}
{% endmacro %}
