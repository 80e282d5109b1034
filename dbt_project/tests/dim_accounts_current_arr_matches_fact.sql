-- dim_accounts.current_arr is the as-of month of fct_account_arr_monthly (0 where the account has no row then).
select
    dim.account_id,
    dim.current_arr,
    fact.arr as fact_arr
from {{ ref('dim_accounts') }} as dim
left join {{ ref('fct_account_arr_monthly') }} as fact
    on fact.account_id = dim.account_id
    and fact.month = {{ dbt.date_trunc('month', as_of_date()) }}
where dim.current_arr <> coalesce(fact.arr, 0)
