-- One row per opportunity from both CRMs: every live Salesforce opportunity and every live HubSpot deal except the
-- deals mirrored from Salesforce opportunities (int_opportunities.is_mirror), so nothing counts twice.
-- Amounts are in the reporting currency at the close-date rate; acv_usd per metrics_definitions.md §2.6;
-- sales_cycle_days = close_date - created_date for closed opportunities.
with

opportunities as (

    select * from {{ ref('int_opportunities') }}
    where not is_mirror

),

final as (

    select
        cast(opportunity_id as {{ dbt.type_string() }}) as opportunity_id,
        cast(source as {{ dbt.type_string() }}) as source,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(stage as {{ dbt.type_string() }}) as stage,
        cast(is_closed as {{ dbt.type_boolean() }}) as is_closed,
        cast(is_won as {{ dbt.type_boolean() }}) as is_won,
        cast(opportunity_type as {{ dbt.type_string() }}) as opportunity_type,
        cast(currency_code as {{ dbt.type_string() }}) as currency_code,
        cast(amount_usd as decimal(18, 2)) as amount_usd,
        cast(acv_usd as decimal(18, 2)) as acv_usd,
        cast(created_date as date) as created_date,
        cast(close_date as date) as close_date,
        cast(sales_cycle_days as {{ dbt.type_int() }}) as sales_cycle_days,
        cast(owner_name as {{ dbt.type_string() }}) as owner_name
    from opportunities

)

select * from final
