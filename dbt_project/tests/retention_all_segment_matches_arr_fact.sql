-- The 'all' segment's ARR and active accounts equal the ARR fact's monthly totals.
with

fact as (

    select month, sum(arr) as arr, sum(case when arr > 0 then 1 else 0 end) as active_accounts
    from {{ ref('fct_account_arr_monthly') }}
    group by month

)

select retention.month, retention.arr, fact.arr as fact_arr, retention.active_accounts, fact.active_accounts
from {{ ref('fct_revenue_retention_monthly') }} as retention
left join fact on fact.month = retention.month
where retention.segment_type = 'all'
    and (retention.arr <> coalesce(fact.arr, 0) or retention.active_accounts <> coalesce(fact.active_accounts, 0))
