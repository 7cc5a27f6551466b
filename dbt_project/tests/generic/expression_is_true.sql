{#- Rows where the expression is false fail the test (dbt_utils' test, written here: no package downloads). -#}
{% test expression_is_true(model, expression, column_name=none) %}
select * from {{ model }} where not ({{ expression }})
{% endtest %}
