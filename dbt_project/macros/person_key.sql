{#- Pseudonymous person key (HMAC-SHA256 of lower(trim(email)) under ACCTWH_PERSON_KEY_SECRET); null for a
    blank email. On DuckDB the function comes from the connectors.warehouse.dbt_plugin profile plugin; other
    adapters implement `<adapter>__person_key` with their own keyed hash or a UDF. -#}
{% macro person_key(email_expr) -%}
    {{ return(adapter.dispatch('person_key', 'account_warehouse')(email_expr)) }}
{%- endmacro %}

{% macro duckdb__person_key(email_expr) -%}
    acctwh_person_key({{ email_expr }})
{%- endmacro %}
