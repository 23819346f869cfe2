{#-
  The build window: the site-local days a run builds, from the vars min_date and
  max_date ('YYYY-MM-DD', inclusive, each optional; unset means unbounded).

  Every incremental model filters on it, so a run writes whole daily partitions and
  insert_overwrite replaces exactly those days.
-#}

{% macro build_window_bound(name) -%}
  {%- set value = var(name, none) -%}
  {%- if value is none or (value | string) == '' -%}
    {{ return(none) }}
  {%- endif -%}
  {%- set text = value | string -%}
  {%- if not modules.re.fullmatch('[0-9]{4}-[0-9]{2}-[0-9]{2}', text) -%}
    {{ exceptions.raise_compiler_error("var " ~ name ~ " must be a date YYYY-MM-DD, got '" ~ text ~ "'") }}
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
