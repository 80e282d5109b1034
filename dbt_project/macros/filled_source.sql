{#- A source table with every expected column: missing columns are added as typed nulls, and a table that was never
    landed becomes an empty relation. An org without multi-currency has no CurrencyType; a portal without custom
    properties, or a partial export, lacks columns or objects. Staging then still builds, and the tests downstream
    decide whether the absence matters (e.g. a non-USD line without rates fails contract_lines_known_currency).
    Same idea as Fivetran's fill_staging_columns.
    `required` names the columns the marts cannot do without (revenue, keys): when the table exists but one of them
    is gone (field-level security, a dropped field), the model fails with the column named, so the build stops and
    nothing is published, instead of ARR silently built from NULL prices. An empty table may lack them (no records,
    so the connector had no properties to type). -#}
{% macro filled_source(source_name, table_name, columns, required=[]) -%}
    {%- set relation = source(source_name, table_name) -%}
    {%- set existing = adapter.get_relation(relation.database, relation.schema, relation.identifier) if execute
        else relation -%}
    {%- if existing is none -%}
    select * from (
        select
        {%- for name, data_type in columns.items() %}
            cast(null as {{ data_type }}) as {{ adapter.quote(name) }}{{ ',' if not loop.last }}
        {%- endfor %}
        where 1 = 0
    ) as missing_source
    {%- else -%}
    {%- set present = (adapter.get_columns_in_relation(existing) | map(attribute='name') | map('lower') | list)
        if execute else [] -%}
    {%- set missing_required = [] -%}
    {%- for name in required if execute and name | lower not in present -%}
        {%- do missing_required.append(name) -%}
    {%- endfor -%}
    {#- an empty table (a CRM with nothing of this object: no properties to describe it either) has nothing to lose -#}
    {%- if missing_required and run_query("select 1 from " ~ relation ~ " limit 1").rows | length > 0 -%}
        {{ exceptions.raise_compiler_error(
            "source " ~ source_name ~ "." ~ table_name ~ " has no column " ~ missing_required | join(", ")
            ~ ", which the marts require (hidden by field-level security, or dropped in the CRM?); "
            ~ "restore access to the field, then re-run") }}
    {%- endif -%}
    select *
    {%- for name, data_type in columns.items() if execute and name | lower not in present %},
        cast(null as {{ data_type }}) as {{ adapter.quote(name) }}
    {%- endfor %}
    from {{ relation }}
    {%- endif -%}
{%- endmacro %}
