{#- `select * from source(...)`, or an empty relation with the given columns when the table was never landed
    (Salesforce orgs without multi-currency have no CurrencyType / DatedConversionRate), so staging still builds
    and downstream tests decide whether the absence matters (a non-USD line then fails contract_lines_known_currency). -#}
{% macro source_or_empty(source_name, table_name, columns) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- if execute and adapter.get_relation(relation.database, relation.schema, relation.identifier) is none -%}
    select
        {%- for name, data_type in columns.items() %}
        cast(null as {{ data_type }}) as {{ name }}{{ ',' if not loop.last }}
        {%- endfor %}
    where 1 = 0
    {%- else -%}
    select * from {{ relation }}
    {%- endif -%}
{%- endmacro %}
