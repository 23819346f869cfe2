{#-
  `relation FINAL`: read a ReplacingMergeTree with its rows collapsed per sorting key,
  whether or not the parts have merged yet. In a unit test the relation is a CTE of
  fixture rows, where ClickHouse refuses FINAL (fixtures hold what they hold).
-#}
{% macro final(relation) -%}
  {{ relation }}{% if relation.type != 'cte' %} final{% endif %}
{%- endmacro %}
