-- Retention and unit economics per month and segment (metrics_definitions.md §2.4-2.6). Segments: 'all', and
-- 'tier' A/B/C. NRR/GRR use the trailing-12-month cohort C(M) = accounts with ARR at M-12, segmented by the tier
-- frozen at M-12; logo churn by the tier at M-1; ARR, active accounts and ARPA by the tier at M.
-- NRR(M) = sum ARR(M) / sum ARR(M-12) over C(M); GRR(M) = sum least(ARR(M), ARR(M-12)) / sum ARR(M-12).
-- LTV = monthly ARPA x gross margin / trailing-12-month average monthly logo churn (null when that churn is 0).
with

arr_months as (

    select account_id, month, arr, movement from {{ ref('fct_account_arr_monthly') }}

),

tiers as (

    select account_id, month, tier from {{ ref('int_account_tiers_monthly') }}

),

months as (

    select month from {{ ref('int_calendar_months') }}
    where month >= (select min(month) from arr_months)

),

segmented as (

    -- each account-month in the 'all' segment and in its tier segment of that month
    select arr_months.*, 'all' as segment_type, 'all' as segment
    from arr_months

    union all

    select arr_months.*, 'tier' as segment_type, tiers.tier as segment
    from arr_months
    inner join tiers on tiers.account_id = arr_months.account_id and tiers.month = arr_months.month

),

segments as (

    select 'all' as segment_type, 'all' as segment
    union all select 'tier', 'A'
    union all select 'tier', 'B'
    union all select 'tier', 'C'

),

grid as (

    select months.month, segments.segment_type, segments.segment
    from months
    cross join segments

),

cohorts as (

    -- C(M): segment membership and ARR at M-12, and ARR at M (0 once the account is gone)
    select
        {{ dbt.dateadd('month', 12, 'base.month') }} as month,
        base.segment_type,
        base.segment,
        base.account_id,
        base.arr as starting_arr,
        coalesce(later.arr, 0) as current_arr
    from segmented as base
    left join arr_months as later
        on later.account_id = base.account_id
        and later.month = {{ dbt.dateadd('month', 12, 'base.month') }}
    where base.arr > 0

),

cohort_totals as (

    select
        month,
        segment_type,
        segment,
        count(*) as cohort_accounts,
        sum(case when current_arr > 0 then 1 else 0 end) as retained_accounts,
        sum(starting_arr) as starting_arr,
        sum(current_arr) as cohort_current_arr,
        sum(case when current_arr < starting_arr then current_arr else starting_arr end) as retained_arr
    from cohorts
    group by month, segment_type, segment

),

actives as (

    select
        month,
        segment_type,
        segment,
        sum(arr) as arr,
        sum(case when arr > 0 then 1 else 0 end) as active_accounts
    from segmented
    group by month, segment_type, segment

),

churns as (

    -- churned logos in M, segmented like their active month M-1
    select
        churned.month,
        previous.segment_type,
        previous.segment,
        count(*) as churned_accounts
    from arr_months as churned
    inner join segmented as previous
        on previous.account_id = churned.account_id
        and previous.month = {{ dbt.dateadd('month', -1, 'churned.month') }}
    where churned.movement = 'churn'
    group by churned.month, previous.segment_type, previous.segment

),

monthly as (

    select
        grid.month,
        grid.segment_type,
        grid.segment,
        coalesce(cohort_totals.cohort_accounts, 0) as cohort_accounts,
        coalesce(cohort_totals.retained_accounts, 0) as retained_accounts,
        coalesce(cohort_totals.starting_arr, 0) as starting_arr,
        coalesce(cohort_totals.cohort_current_arr, 0) as cohort_current_arr,
        coalesce(cohort_totals.retained_arr, 0) as retained_arr,
        coalesce(actives.arr, 0) as arr,
        coalesce(actives.active_accounts, 0) as active_accounts,
        coalesce(previous_actives.active_accounts, 0) as previous_active_accounts,
        coalesce(churns.churned_accounts, 0) as churned_accounts
    from grid
    left join cohort_totals
        on cohort_totals.month = grid.month
        and cohort_totals.segment_type = grid.segment_type and cohort_totals.segment = grid.segment
    left join actives
        on actives.month = grid.month
        and actives.segment_type = grid.segment_type and actives.segment = grid.segment
    left join actives as previous_actives
        on previous_actives.month = {{ dbt.dateadd('month', -1, 'grid.month') }}
        and previous_actives.segment_type = grid.segment_type and previous_actives.segment = grid.segment
    left join churns
        on churns.month = grid.month
        and churns.segment_type = grid.segment_type and churns.segment = grid.segment

),

rates as (

    select
        *,
        case when starting_arr > 0 then cohort_current_arr / starting_arr end as nrr,
        case when starting_arr > 0 then retained_arr / starting_arr end as grr,
        case when previous_active_accounts > 0
            then cast(churned_accounts as {{ type_double() }}) / previous_active_accounts end as logo_churn_rate,
        case when active_accounts > 0 then arr / 12.0 / active_accounts end as arpa
    from monthly

),

with_ltv as (

    select
        *,
        avg(logo_churn_rate) over (
            partition by segment_type, segment order by month
            rows between {{ var('ltv_churn_window_months') - 1 }} preceding and current row
        ) as trailing_logo_churn_rate
    from rates

),

final as (

    select
        month,
        cast(segment_type as {{ dbt.type_string() }}) as segment_type,
        cast(segment as {{ dbt.type_string() }}) as segment,
        cast(starting_arr as decimal(18, 2)) as starting_arr,
        cast(cohort_current_arr as decimal(18, 2)) as cohort_current_arr,
        cast(retained_arr as decimal(18, 2)) as retained_arr,
        cast(nrr as {{ type_double() }}) as nrr,
        cast(grr as {{ type_double() }}) as grr,
        cast(cohort_accounts as integer) as cohort_accounts,
        cast(retained_accounts as integer) as retained_accounts,
        cast(churned_accounts as integer) as churned_accounts,
        cast(logo_churn_rate as {{ type_double() }}) as logo_churn_rate,
        cast(arr as decimal(18, 2)) as arr,
        cast(active_accounts as integer) as active_accounts,
        cast(arpa as decimal(18, 2)) as arpa,
        cast(case
            when trailing_logo_churn_rate > 0
                then arpa * {{ var('gross_margin') }} / trailing_logo_churn_rate
        end as decimal(18, 2)) as ltv
    from with_ltv

)

select * from final
