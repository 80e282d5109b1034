-- One row per unified account (Salesforce and HubSpot joined, merges and duplicates resolved) with firmographics,
-- hierarchy, current ARR and the A/B/C tier at the as-of month.
with

accounts as (

    select * from {{ ref('int_accounts') }}

),

arr_months as (

    select * from {{ ref('fct_account_arr_monthly') }}

),

tiers as (

    select * from {{ ref('int_account_tiers_monthly') }}
    where month = {{ dbt.date_trunc('month', as_of_date()) }}

),

revenue as (

    select
        account_id,
        min(case when arr > 0 then month end) as first_revenue_month,
        sum(case when is_as_of_month then arr else 0 end) as current_arr,
        -- recurring revenue accrued to date: one twelfth of each month's ARR
        sum(arr) / 12.0 as lifetime_revenue
    from arr_months
    group by account_id

),

final as (

    select
        accounts.account_id,
        accounts.account_name,
        accounts.domain,
        accounts.salesforce_account_id,
        accounts.hubspot_company_id,
        accounts.match_rule,
        accounts.revenue_system,
        accounts.industry,
        accounts.employee_count,
        accounts.annual_revenue,
        accounts.country,
        accounts.owner_name,
        accounts.parent_account_id,
        accounts.ultimate_parent_account_id,
        coalesce(revenue.current_arr, 0) > 0 as is_customer,
        revenue.first_revenue_month,
        cast(coalesce(revenue.current_arr, 0) as decimal(18, 2)) as current_arr,
        cast(tiers.tier as {{ dbt.type_string() }}) as tier,
        cast(tiers.tier_score as {{ type_double() }}) as tier_score,
        cast(tiers.arr_component as {{ type_double() }}) as tier_arr_component,
        cast(tiers.engagement_component as {{ type_double() }}) as tier_engagement_component,
        cast(tiers.coverage_component as {{ type_double() }}) as tier_coverage_component,
        cast(tiers.firmographic_component as {{ type_double() }}) as tier_firmographic_component,
        cast(coalesce(revenue.lifetime_revenue, 0) as decimal(18, 2)) as lifetime_revenue,
        accounts.is_deleted
    from accounts
    left join revenue on revenue.account_id = accounts.account_id
    left join tiers on tiers.account_id = accounts.account_id

)

select * from final
