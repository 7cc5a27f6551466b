{#- Personal data in the warehouse: keep the first 3 and last 4 characters (as autofin.domain.identity.mask_id). -#}
{% macro mask(column) -%}
    case when length({{ column }}) <= 7 then {{ column }}
         else substr({{ column }}, 1, 3) || repeat('*', length({{ column }}) - 7) || substr({{ column }}, length({{ column }}) - 3, 4) end
{%- endmacro %}
