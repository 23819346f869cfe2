{#- Fails on every combination of `columns` that occurs more than once: the primary
    key test of models keyed by several columns (dbt_utils has one; we need no package). -#}
{% test unique_combination(model, columns) %}

select {{ columns | join(', ') }}, count() as occurrences
from {{ model }}
group by {{ columns | join(', ') }}
having count() > 1

{% endtest %}
