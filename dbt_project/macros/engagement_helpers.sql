{#- Helpers for the engagement, stakeholder and pipeline models. DuckDB-specific SQL lives only in the
    duckdb__ versions; the default__ versions are ANSI-style and can be overridden per adapter. -#}

{#- One row per element of an array column: `select <keep_columns>, <element> as <value_alias> from <from_relation>`. -#}
{% macro array_elements(from_relation, array_column, keep_columns, value_alias) -%}
    {{ return(adapter.dispatch('array_elements', 'account_warehouse')(from_relation, array_column, keep_columns, value_alias)) }}
{%- endmacro %}

{% macro default__array_elements(from_relation, array_column, keep_columns, value_alias) -%}
    select
        {%- for c in keep_columns %}
        src.{{ c }},
        {%- endfor %}
        elements.{{ value_alias }}
    from {{ from_relation }} as src
    cross join unnest(src.{{ array_column }}) as elements ({{ value_alias }})
{%- endmacro %}

{% macro duckdb__array_elements(from_relation, array_column, keep_columns, value_alias) -%}
    select
        {%- for c in keep_columns %}
        {{ c }},
        {%- endfor %}
        unnest({{ array_column }}) as {{ value_alias }}
    from {{ from_relation }}
{%- endmacro %}

{#- Median (continuous) of an expression, as an aggregate. -#}
{% macro median_of(expr) -%}
    {{ return(adapter.dispatch('median_of', 'account_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__median_of(expr) -%}
    percentile_cont(0.5) within group (order by {{ expr }})
{%- endmacro %}

{% macro duckdb__median_of(expr) -%}
    quantile_cont({{ expr }}, 0.5)
{%- endmacro %}

{#- Midnight UTC of a date, as a timestamp with time zone. -#}
{% macro utc_midnight(date_expr) -%}
    {{ return(adapter.dispatch('utc_midnight', 'account_warehouse')(date_expr)) }}
{%- endmacro %}

{% macro default__utc_midnight(date_expr) -%}
    cast({{ date_expr }} as {{ dbt.type_timestamp() }})
{%- endmacro %}

{% macro duckdb__utc_midnight(date_expr) -%}
    timezone('UTC', cast({{ date_expr }} as timestamp))
{%- endmacro %}

{#- 0.5 ^ (x): exponential decay factor for a half-life expressed in the same unit as x. -#}
{% macro half_life_decay(age_expr, half_life) -%}
    power(0.5, cast({{ age_expr }} as {{ type_double() }}) / {{ half_life }})
{%- endmacro %}

{#- type_double() lives in macros/type_double.sql. -#}
