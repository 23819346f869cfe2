{#-
  A visitor's key in int_visitors_first_seen: a 128-bit SipHash of the site and the
  visitor id (the model says why). One definition for the table and its readers; the
  unit test fixture in models/marts/_marts.yml spells it out, as fixtures are literal.
-#}
{% macro visitor_key(website_id, visitor_id) -%}
  sipHash128({{ website_id }}, {{ visitor_id }})
{%- endmacro %}
