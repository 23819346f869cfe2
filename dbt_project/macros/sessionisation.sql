{#-
  Rule 3 of int_events_sessionised: the event has a source and it differs from the
  current session's, which is the source of the segment's latest earlier sourced
  event (previous_sourced), or none when there is none since segment_start.
-#}
{% macro is_source_change(segment_start) -%}
(
    source_key != ''
    and not (
        (previous_sourced.1, previous_sourced.2) >= {{ segment_start }}
        and previous_sourced.3 = source_key
    )
)
{%- endmacro %}
