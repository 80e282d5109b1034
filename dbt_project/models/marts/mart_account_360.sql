-- One wide row per account for BI: who the account is, what it pays and how that moved over the last 12 months,
-- how engaged and well covered it is, its open pipeline, and simple health flags.
with

accounts as (

    select * from {{ ref('dim_accounts') }}

),

arr_months as (

    select * from {{ ref('fct_account_arr_monthly') }}

),

engagement as (

    select * from {{ ref('fct_account_engagement_monthly') }}
    where month = {{ dbt.date_trunc('month', as_of_date()) }}

),

touches as (

    select * from {{ ref('int_touches_unified') }}

),

coverage as (

    select * from {{ ref('fct_account_stakeholder_coverage') }}

),

opportunities as (

    select * from {{ ref('fct_opportunities') }}

),

movements_l12m as (

    -- the 12 months ending with the as-of month
    select
        account_id,
        sum(new_arr) as new_arr_l12m,
        sum(expansion_arr) as expansion_arr_l12m,
        sum(contraction_arr) as contraction_arr_l12m,
        sum(churned_arr) as churned_arr_l12m,
        sum(reactivation_arr) as reactivation_arr_l12m,
        sum(case
            when month >= {{ dbt.dateadd('month', -2, dbt.date_trunc('month', as_of_date())) }}
                then contraction_arr + churned_arr
            else 0
        end) as lost_arr_l3m
    from arr_months
    where month > {{ dbt.dateadd('month', -12, dbt.date_trunc('month', as_of_date())) }}
    group by account_id

),

arr_year_ago as (

    select account_id, arr as arr_12_months_ago
    from arr_months
    where month = {{ dbt.dateadd('month', -12, dbt.date_trunc('month', as_of_date())) }}

),

touches_l90d as (

    select account_id, count(*) as touches_l90d
    from touches
    where occurred_date > {{ dbt.dateadd('day', -var('engaged_days'), as_of_date()) }}
        and occurred_date <= {{ as_of_date() }}
    group by account_id

),

pipeline as (

    select
        account_id,
        count(*) as open_opportunities,
        sum(coalesce(amount_usd, 0)) as open_pipeline_usd
    from opportunities
    where not is_closed
    group by account_id

),

joined as (

    select
        accounts.*,
        coalesce(arr_year_ago.arr_12_months_ago, 0) as arr_12_months_ago,
        coalesce(movements_l12m.new_arr_l12m, 0) as new_arr_l12m,
        coalesce(movements_l12m.expansion_arr_l12m, 0) as expansion_arr_l12m,
        coalesce(movements_l12m.contraction_arr_l12m, 0) as contraction_arr_l12m,
        coalesce(movements_l12m.churned_arr_l12m, 0) as churned_arr_l12m,
        coalesce(movements_l12m.reactivation_arr_l12m, 0) as reactivation_arr_l12m,
        coalesce(movements_l12m.lost_arr_l3m, 0) as lost_arr_l3m,
        coalesce(touches_l90d.touches_l90d, 0) as touches_l90d,
        coalesce(coverage.contacts_engaged_90d, 0) as stakeholders_engaged_90d,
        engagement.days_since_last_touch,
        coalesce(engagement.engagement_score, 0) as engagement_score,
        coalesce(coverage.contacts_total, 0) as contacts_total,
        coalesce(coverage.roles_covered, 0) as roles_covered,
        coalesce(coverage.role_coverage_ratio, 0) as role_coverage_ratio,
        coalesce(coverage.has_champion, false) as has_champion,
        coalesce(coverage.has_economic_buyer, false) as has_economic_buyer,
        coalesce(coverage.has_decision_maker, false) as has_decision_maker,
        coalesce(coverage.is_single_threaded, true) as is_single_threaded,
        coverage.meddic_completeness,
        coalesce(pipeline.open_opportunities, 0) as open_opportunities,
        coalesce(pipeline.open_pipeline_usd, 0) as open_pipeline_usd
    from accounts
    left join arr_year_ago on arr_year_ago.account_id = accounts.account_id
    left join movements_l12m on movements_l12m.account_id = accounts.account_id
    left join touches_l90d on touches_l90d.account_id = accounts.account_id
    left join engagement on engagement.account_id = accounts.account_id
    left join coverage on coverage.account_id = accounts.account_id
    left join pipeline on pipeline.account_id = accounts.account_id

),

flagged as (

    select
        *,
        is_customer and lost_arr_l3m < 0 as flag_arr_lost_l3m,
        is_customer and coalesce(days_since_last_touch > 60, true) as flag_no_touch_60d,
        is_customer and is_single_threaded as flag_single_threaded,
        is_customer and not has_economic_buyer as flag_no_economic_buyer
    from joined

),

final as (

    select
        account_id,
        account_name,
        domain,
        salesforce_account_id,
        hubspot_company_id,
        match_rule,
        industry,
        employee_count,
        annual_revenue,
        country,
        owner_name,
        parent_account_id,
        ultimate_parent_account_id,
        is_customer,
        first_revenue_month,
        tier,
        tier_score,
        current_arr,
        cast(arr_12_months_ago as decimal(18, 2)) as arr_12_months_ago,
        cast(new_arr_l12m as decimal(18, 2)) as new_arr_l12m,
        cast(expansion_arr_l12m as decimal(18, 2)) as expansion_arr_l12m,
        cast(contraction_arr_l12m as decimal(18, 2)) as contraction_arr_l12m,
        cast(churned_arr_l12m as decimal(18, 2)) as churned_arr_l12m,
        cast(reactivation_arr_l12m as decimal(18, 2)) as reactivation_arr_l12m,
        lifetime_revenue,
        cast(touches_l90d as integer) as touches_l90d,
        cast(stakeholders_engaged_90d as integer) as stakeholders_engaged_90d,
        cast(days_since_last_touch as integer) as days_since_last_touch,
        cast(engagement_score as {{ type_double() }}) as engagement_score,
        cast(contacts_total as integer) as contacts_total,
        cast(roles_covered as integer) as roles_covered,
        cast(role_coverage_ratio as {{ type_double() }}) as role_coverage_ratio,
        has_champion,
        has_economic_buyer,
        has_decision_maker,
        is_single_threaded,
        cast(meddic_completeness as {{ type_double() }}) as meddic_completeness,
        cast(open_opportunities as integer) as open_opportunities,
        cast(open_pipeline_usd as decimal(18, 2)) as open_pipeline_usd,
        flag_arr_lost_l3m,
        flag_no_touch_60d,
        flag_single_threaded,
        flag_no_economic_buyer,
        cast(case
            when not is_customer then 'prospect'
            when flag_arr_lost_l3m or flag_no_touch_60d or flag_single_threaded then 'at_risk'
            else 'healthy'
        end as {{ dbt.type_string() }}) as health_status
    from flagged

)

select * from final
