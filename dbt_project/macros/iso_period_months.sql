{#- Whole months of an ISO-8601 period ('P12M' -> 12, 'P2Y' -> 24, 'P1Y6M' -> 18); null when it has no Y/M part. -#}
{% macro iso_period_months(expr) -%}
    {{ return(adapter.dispatch('iso_period_months', 'account_warehouse')(expr)) }}
{%- endmacro %}

{% macro duckdb__iso_period_months(expr) -%}
    case
        when regexp_matches(upper(trim({{ expr }})), '^P([0-9]+Y)?([0-9]+M)?$')
            and upper(trim({{ expr }})) <> 'P'
        then
            coalesce(cast(nullif(regexp_extract(upper(trim({{ expr }})), '([0-9]+)Y', 1), '') as integer), 0) * 12
            + coalesce(cast(nullif(regexp_extract(upper(trim({{ expr }})), '([0-9]+)M', 1), '') as integer), 0)
    end
{%- endmacro %}

{% macro default__iso_period_months(expr) -%}
    case
        when upper(trim({{ expr }})) rlike '^P([0-9]+Y)?([0-9]+M)?$' and upper(trim({{ expr }})) <> 'P'
        then
            coalesce(cast(regexp_substr(upper(trim({{ expr }})), '([0-9]+)Y', 1, 1, 'e', 1) as integer), 0) * 12
            + coalesce(cast(regexp_substr(upper(trim({{ expr }})), '([0-9]+)M', 1, 1, 'e', 1) as integer), 0)
    end
{%- endmacro %}
