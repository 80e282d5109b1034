{#- §2.7 rule 3: lower-case, strip scheme, 'www.', path and port; '' for null. Portable string functions only. -#}
{% macro normalise_domain(expr) -%}
    {{ return(adapter.dispatch('normalise_domain', 'account_warehouse')(expr)) }}
{%- endmacro %}

{% macro default__normalise_domain(expr) -%}
    regexp_replace(
        regexp_replace(
            regexp_replace(lower(trim(coalesce({{ expr }}, ''))), '^[a-z]+://', ''),
            '[/:?#].*$', ''),
        '^www\.', '')
{%- endmacro %}
