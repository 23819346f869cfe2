{#-
  The insert_overwrite strategy of the marts' daily models, in fewer statements than
  dbt-clickhouse's own (pinned in uv.lock). dbt-clickhouse's incremental
  materialization calls this macro by name, and a name in the root project wins; if an
  upgrade stops routing the strategy here, tests/server/test_dbt_marts.py fails (its
  schema-change and kept-day tests expect this macro's behaviour).

  A one-day rerun is mostly fixed cost per model: dbt-clickhouse's strategy and its
  on_schema_change: fail check run ten statements per model, one of them a `SELECT …
  LIMIT 0` of the model, 0.35 s on the heaviest model of a 9 s rerun.
  Here the schema check reuses the new-data table's columns, which the insert needs
  anyway:

    1. create the new-data table from the model's SQL (empty; it has the columns and
       types the SQL gives now);
    2. compare them with the target's, in order, name and type. A difference stops the
       run with the columns named (on_schema_change: fail), before any data moves;
    3. insert the window into it, then replace the target's partitions with its
       partitions (REPLACE PARTITION is atomic per partition: readers see the old day
       or the new one, never an empty one) and drop it. A day for which the model
       gives no rows keeps its old ones, as with dbt-clickhouse: the marts outlive the
       raw events that retention drops (docs/dbt.md).

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
  {%- if config.get('contract').enforced -%}
    {% do exceptions.raise_compiler_error(
        "insert_overwrite: beaconhouse's strategy does not handle model contracts (" ~ existing_relation ~ ")") %}
  {%- endif -%}

  {{ clickhouse__create_empty_table(False, new_data, sql, False, statement_name='create_new_data') }}

  {%- set new_columns = adapter.get_columns_in_relation(new_data) -%}
  {%- set schema_difference = daily_model_schema_difference(adapter.get_columns_in_relation(existing_relation), new_columns) -%}
  {%- if schema_difference -%}
    {% do adapter.drop_relation(new_data) %}
    {% do exceptions.raise_compiler_error(
        "The columns of " ~ existing_relation ~ " no longer match its model (" ~ schema_difference
        ~ "). Rebuild every day with --full-refresh and no window (docs/dbt.md).") %}
  {%- endif -%}

  {% call statement('main') %}
    insert into {{ new_data }} ({{ new_columns | map(attribute='quoted') | join(', ') }})
    {{ sql }}
    {{ adapter.get_model_query_settings(model) }}
  {% endcall %}

  {%- set partitions = run_query(
        "select distinct partition_id from system.parts where active"
        ~ " and database = '" ~ new_data.schema ~ "' and table = '" ~ new_data.identifier ~ "'"
        ~ " order by partition_id") -%}
  {%- if partitions.rows | length > 0 -%}
    {% call statement('replace_partitions') %}
      alter table {{ existing_relation }}
      {%- for row in partitions.rows %}
        replace partition id '{{ row['partition_id'] }}' from {{ new_data }}{{ ',' if not loop.last }}
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
