-- Per month, across all accounts: the movements bridge last month's total ARR to this month's, and this month's
-- previous_arr total is exactly last month's arr total (no account appears or vanishes between months).
with

monthly as (

    select
        month,
        sum(arr) as arr,
        sum(previous_arr) as previous_arr,
        sum(new_arr + expansion_arr + contraction_arr + churned_arr + reactivation_arr) as movements
    from {{ ref('fct_account_arr_monthly') }}
    group by month

),

paired as (

    select
        monthly.month,
        monthly.arr,
        monthly.previous_arr,
        monthly.movements,
        coalesce(last_month.arr, 0) as last_month_arr
    from monthly
    left join monthly as last_month
        on last_month.month = {{ dbt.dateadd('month', -1, 'monthly.month') }}

)

select *
from paired
where arr <> previous_arr + movements
    or previous_arr <> last_month_arr
