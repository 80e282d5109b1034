-- ARR per account, product family and month from the active contract lines (month-end rule, §2.1): a line counts
-- in month m iff it starts on or before least(end of m, as-of date) and ends on or after the end of m.
with

lines as (

    select * from {{ ref('int_contract_lines') }}
    where is_recurring and account_id is not null

),

months as (

    select month from {{ ref('int_calendar_months') }}

),

line_ranges as (

    select
        account_id,
        coalesce(product_family, 'Unknown') as product_family,
        mrr_usd,
        {{ dbt.date_trunc('month', 'service_start_date') }} as first_month,
        -- an end before its month's last day does not cover that month-end
        case
            when service_end_date = {{ end_of_month('service_end_date') }}
                then {{ dbt.date_trunc('month', 'service_end_date') }}
            else {{ dbt.dateadd('month', -1, dbt.date_trunc('month', 'service_end_date')) }}
        end as last_month
    from lines
    -- future-dated lines are contracted, not yet ARR
    where service_start_date <= {{ as_of_date() }}

),

line_months as (

    select
        line_ranges.account_id,
        line_ranges.product_family,
        months.month,
        line_ranges.mrr_usd
    from line_ranges
    inner join months
        on months.month >= line_ranges.first_month
        and months.month <= line_ranges.last_month

)

select
    account_id,
    product_family,
    month,
    sum(mrr_usd) as mrr_usd
from line_months
group by account_id, product_family, month
