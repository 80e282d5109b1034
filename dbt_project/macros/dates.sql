{#- The as-of date every metric is computed at: var('as_of_date') when set (tests pin it), else today (UTC). -#}
{% macro as_of_date() -%}
    {%- if var('as_of_date') -%}
        cast('{{ var("as_of_date") }}' as date)
    {%- else -%}
        cast({{ dbt.current_timestamp() }} as date)
    {%- endif -%}
{%- endmacro %}

{#- Calendar date in UTC of a timestamp-with-time-zone column. -#}
{% macro utc_date(column) -%}
    {{ return(adapter.dispatch('utc_date', 'account_warehouse')(column)) }}
{%- endmacro %}

{% macro default__utc_date(column) -%}
    cast({{ column }} as date)
{%- endmacro %}

{% macro duckdb__utc_date(column) -%}
    cast(timezone('UTC', {{ column }}) as date)
{%- endmacro %}

{#- Last day of the month that contains `date_expr`. -#}
{% macro end_of_month(date_expr) -%}
    {{ dbt.last_day(date_expr, 'month') }}
{%- endmacro %}
