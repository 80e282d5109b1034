{#- Join condition: the Salesforce dated conversion rate (alias `rates`) in force for `currency_expr` on
    `date_expr` (StartDate <= date < NextStartDate, the last range open-ended). One definition for every model that
    converts at the close date. -#}
{% macro rate_in_force(rates, currency_expr, date_expr) -%}
    {{ rates }}.currency_code = {{ currency_expr }}
        and {{ rates }}.start_date <= {{ date_expr }}
        and {{ date_expr }} < coalesce({{ rates }}.next_start_date, cast('9999-12-31' as date))
{%- endmacro %}
