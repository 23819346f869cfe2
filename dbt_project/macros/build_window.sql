{#-
  The build window: the site-local days a run builds ('YYYY-MM-DD', inclusive, each
  optional; unset means unbounded). Every incremental model filters on it, so a run
  writes whole daily partitions and insert_overwrite replaces exactly those days.

  Two ways to give it, the same meaning:
  - the vars min_date / max_date (dbt build --vars '{min_date: D, max_date: D}');
  - the environment variables DBT_VAR_MIN_DATE / DBT_VAR_MAX_DATE, which beaconhouse
    and the orchestrator use. dbt hashes the CLI --vars into its partial-parse state, so
    a new day in --vars re-parses the whole project (about 4-5 s here); these variables
    are read only while a node executes (`execute`), so the parse stays valid from one
    day to the next.
  A var that is set wins. A var set to '' (the unit tests do) means unbounded and turns
  the environment off.
-#}

{% macro build_window_bound(name) -%}
  {%- set value = var(name, none) -%}
  {%- if value is none and execute -%}
    {#- read at execution only: env_var() at parse time would tie the parse to the day -#}
    {%- set value = env_var('DBT_VAR_' ~ (name | upper), '') -%}
  {%- endif -%}
  {%- if value is none or (value | string) == '' -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set text = value | string -%}
  {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
    {{ exceptions.raise_compiler_error(name ~ " (var or DBT_VAR_" ~ (name | upper) ~ ") must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
  {%- endif -%}
  {#- fromisoformat rejects impossible dates such as 2026-02-30 -#}
  {%- set ns = namespace(day=none) -%}
  {%- set ns.day = modules.datetime.date.fromisoformat(text) -%}
  {{ return(ns.day.isoformat()) }}
{%- endmacro %}


{#- A condition on a site-local Date column: the day is in the build window. -#}
{% macro in_build_window(date_column) -%}
  {%- set min_date = build_window_bound('min_date') -%}
  {%- set max_date = build_window_bound('max_date') -%}
  {%- if min_date and max_date and min_date > max_date -%}
    {{ exceptions.raise_compiler_error("min_date " ~ min_date ~ " is after max_date " ~ max_date) }}
  {%- endif -%}
  ({% if min_date %}{{ date_column }} >= toDate('{{ min_date }}'){% else %}1{% endif %}
   and {% if max_date %}{{ date_column }} <= toDate('{{ max_date }}'){% else %}1{% endif %})
{%- endmacro %}


{#-
  A condition on a UTC timestamp column that keeps every instant whose site-local date
  may fall in the build window, whatever the site's offset (UTC-12 to UTC+14): local
  day D runs from D 00:00 - 14 h to D+1 00:00 + 12 h in UTC. It prunes raw.events'
  daily UTC partitions; the exact local date is filtered after the offset is known.
-#}
{% macro utc_bounds_of_build_window(ts_column) -%}
  {%- set min_date = build_window_bound('min_date') -%}
  {%- set max_date = build_window_bound('max_date') -%}
  ({% if min_date %}{{ ts_column }} >= toDateTime64('{{ min_date }} 00:00:00', 3, 'UTC') - toIntervalHour(14){% else %}1{% endif %}
   and {% if max_date %}{{ ts_column }} < toDateTime64('{{ max_date }} 00:00:00', 3, 'UTC') + toIntervalHour(36){% else %}1{% endif %})
{%- endmacro %}
