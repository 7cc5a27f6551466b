{#- Marts land in schemas named after their area (sales, asset, ...), not <target>_<area>. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {{ custom_schema_name if custom_schema_name is not none else target.schema }}
{%- endmacro %}
