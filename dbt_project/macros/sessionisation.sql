{#- Array helpers of int_events_sessionised, where a visitor's day is a set of arrays. -#}

{#- Forward fill: each element becomes the latest non-zero element at or before it
    (the latest session or segment start, as an index). -#}
{% macro array_carry_forward(array) -%}
arrayFill(x -> x != 0, {{ array }})
{%- endmacro %}


{#- The array shifted right by one: element i is the previous element (0 for the first). -#}
{% macro array_previous(array) -%}
arrayPushFront(arrayPopBack({{ array }}), 0)
{%- endmacro %}
