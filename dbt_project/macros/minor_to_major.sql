{#- The one conversion from integer minor units to an exact DECIMAL in major units (yuan).
    Multiplication keeps DuckDB in DECIMAL arithmetic; a division would turn it into DOUBLE. -#}
{% macro minor_to_major(column) -%}
    (cast({{ column }} as decimal(18, 0)) * cast(0.01 as decimal(3, 2)))
{%- endmacro %}
