{#- An 8-byte float. dbt.type_float() is 4-byte REAL on DuckDB, which loses cents on six-figure amounts. -#}
{% macro type_double() -%}
    {{ return(adapter.dispatch('type_double', 'account_warehouse')()) }}
{%- endmacro %}

{% macro default__type_double() -%}double precision{%- endmacro %}

{% macro duckdb__type_double() -%}double{%- endmacro %}

{% macro bigquery__type_double() -%}float64{%- endmacro %}
