-- A/B/C tier per account and month (metrics_definitions.md §2.8): tier_score is the weighted sum (seed
-- tier_weights) of components in [0, 1] - ARR percentile among paying accounts that month, firmographic
-- (employee-count percentile), engagement percentile that month and current buying-role coverage. Retention
-- segments freeze the tier of the cohort-start month; dim_accounts shows the as-of month.
with

accounts as (

    select account_id, employee_count from {{ ref('int_accounts') }}

),

arr_months as (

    select account_id, month, arr from {{ ref('fct_account_arr_monthly') }}

),

engagement as (

    select account_id, month, engagement_score from {{ ref('fct_account_engagement_monthly') }}

),

coverage as (

    select account_id, role_coverage_ratio from {{ ref('fct_account_stakeholder_coverage') }}

),

weights as (

    select
        sum(case when component = 'arr' then weight else 0 end) as arr_weight,
        sum(case when component = 'engagement' then weight else 0 end) as engagement_weight,
        sum(case when component = 'coverage' then weight else 0 end) as coverage_weight,
        sum(case when component = 'firmographic' then weight else 0 end) as firmographic_weight
    from {{ ref('tier_weights') }}

),

grid as (

    -- every account-month of the ARR fact, plus every account at the as-of month (prospects included)
    select account_id, month from arr_months
    union
    select account_id, {{ dbt.date_trunc('month', as_of_date()) }} from accounts

),

firmographic as (

    select
        account_id,
        case when employee_count is null then 0 else percent_rank() over (order by employee_count) end
            as firmographic_component
    from accounts

),

components as (

    select
        grid.account_id,
        grid.month,
        case
            when coalesce(arr_months.arr, 0) > 0
                then percent_rank() over (
                    partition by grid.month, case when coalesce(arr_months.arr, 0) > 0 then 1 else 0 end
                    order by arr_months.arr
                )
            else 0
        end as arr_component,
        case
            when coalesce(engagement.engagement_score, 0) > 0
                then percent_rank() over (
                    partition by grid.month, case when coalesce(engagement.engagement_score, 0) > 0 then 1 else 0 end
                    order by engagement.engagement_score
                )
            else 0
        end as engagement_component,
        coalesce(coverage.role_coverage_ratio, 0) as coverage_component,
        coalesce(firmographic.firmographic_component, 0) as firmographic_component
    from grid
    left join arr_months on arr_months.account_id = grid.account_id and arr_months.month = grid.month
    left join engagement on engagement.account_id = grid.account_id and engagement.month = grid.month
    left join coverage on coverage.account_id = grid.account_id
    left join firmographic on firmographic.account_id = grid.account_id

),

scored as (

    select
        components.*,
        arr_component * weights.arr_weight
            + engagement_component * weights.engagement_weight
            + coverage_component * weights.coverage_weight
            + firmographic_component * weights.firmographic_weight as tier_score
    from components
    cross join weights

)

select
    account_id,
    month,
    arr_component,
    engagement_component,
    coverage_component,
    firmographic_component,
    tier_score,
    case
        when tier_score >= {{ var('tier_thresholds')['A'] }} then 'A'
        when tier_score >= {{ var('tier_thresholds')['B'] }} then 'B'
        else 'C'
    end as tier
from scored
