{#- Every mart says the business date it reflects: a column added after the table is built, filled
    with the store's latest closed business date, which autofin passes as AUTOFIN_AS_OF_DATE
    (reporting/warehouse.py). A build without it stops here rather than label the figures wrong. -#}
{% macro add_as_of_date() -%}
  {%- set as_of = env_var('AUTOFIN_AS_OF_DATE', '') -%}
  {%- if execute and not as_of -%}
    {{ exceptions.raise_compiler_error("AUTOFIN_AS_OF_DATE is not set: build the warehouse with `autofin reports build`") }}
  {%- endif -%}
  alter table {{ this }} add column as_of_date date default date '{{ as_of }}'
{%- endmacro %}
