{#-
  Data tests on the incremental models check the days being built, not all of history
  (all of it when the run has no window): a daily run must not rescan every day.

  A test asks for that with its meta, and the window is applied here, while the test
  executes, so the build window's environment variables work (macros/build_window.sql):
    config: {meta: {build_window_date: local_date}}   a site-local Date column
    config: {meta: {build_window_utc: client_ts}}     a UTC timestamp column
  A `where` in the test's config is kept and combined with the window.

  This overrides dbt's own get_where_subquery (the root project's macro wins).
-#}
{% macro get_where_subquery(relation) -%}
  {%- set where = config.get('where', '') -%}
  {%- set meta = config.get('meta', {}) or {} -%}
  {%- set conditions = [] -%}
  {%- if where -%}
    {%- do conditions.append('(' ~ where ~ ')') -%}
  {%- endif -%}
  {%- if meta.get('build_window_date') -%}
    {%- do conditions.append(in_build_window(meta['build_window_date'])) -%}
  {%- endif -%}
  {%- if meta.get('build_window_utc') -%}
    {%- do conditions.append(utc_bounds_of_build_window(meta['build_window_utc'])) -%}
  {%- endif -%}
  {%- if conditions -%}
    {%- set filtered -%}
      (select * from {{ relation }} where {{ conditions | join(' and ') }}) dbt_subquery
    {%- endset -%}
    {%- do return(filtered) -%}
  {%- else -%}
    {%- do return(relation) -%}
  {%- endif -%}
{%- endmacro %}
