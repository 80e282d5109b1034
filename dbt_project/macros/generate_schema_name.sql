{#- Custom schemas are used as-is (staging, intermediate, marts, seeds), not prefixed with the target schema,
    so BI tools and the publish step find the marts at a fixed name. -#}
{% macro generate_schema_name(custom_schema_name, node) -%}
    {%- if custom_schema_name is none -%}{{ target.schema }}{%- else -%}{{ custom_schema_name | trim }}{%- endif -%}
{%- endmacro %}
