-- One row per churn event: the month an account's ARR fell to zero, the ARR lost, how long the active run that
-- ended had lasted, and when (if ever) the account came back.
with

arr_months as (

    select * from {{ ref('fct_account_arr_monthly') }}

),

churns as (

    select account_id, month as churn_month, previous_arr as churned_arr
    from arr_months
    where movement = 'churn'

),

run_starts as (

    select account_id, month as run_start_month
    from arr_months
    where movement in ('new', 'reactivation')

),

runs as (

    select
        churns.account_id,
        churns.churn_month,
        max(run_starts.run_start_month) as run_start_month
    from churns
    inner join run_starts
        on run_starts.account_id = churns.account_id
        and run_starts.run_start_month < churns.churn_month
    group by churns.account_id, churns.churn_month

),

returns as (

    select
        churns.account_id,
        churns.churn_month,
        min(run_starts.run_start_month) as reactivated_month
    from churns
    inner join run_starts
        on run_starts.account_id = churns.account_id
        and run_starts.run_start_month > churns.churn_month
    group by churns.account_id, churns.churn_month

),

final as (

    select
        churns.account_id,
        churns.churn_month,
        cast(churns.churned_arr as decimal(18, 2)) as churned_arr,
        cast({{ dbt.datediff('runs.run_start_month', 'churns.churn_month', 'month') }} as integer) as tenure_months,
        returns.reactivated_month
    from churns
    left join runs
        on runs.account_id = churns.account_id and runs.churn_month = churns.churn_month
    left join returns
        on returns.account_id = churns.account_id and returns.churn_month = churns.churn_month

)

select * from final
