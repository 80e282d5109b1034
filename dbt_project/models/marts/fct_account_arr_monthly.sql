-- ARR per unified account and month with its movement (metrics_definitions.md §2.2-2.3). Rows run from the first
-- active month to the month after the last (the churn row), capped at the as-of month; gap months are zero rows
-- so a return is a reactivation. Zero-boundary cases (new, reactivation, churn) are classified before
-- expansion/contraction. Upsell / cross-sell repeat the classifier per product family (gross amounts).
with

family_months as (

    select * from {{ ref('int_account_product_family_arr_monthly') }}

),

months as (

    select month from {{ ref('int_calendar_months') }}

),

account_months as (

    select
        account_id,
        month,
        -- ARR is rounded to the cent per account-month; movements are exact differences of rounded values
        round(12 * sum(mrr_usd), 2) as arr
    from family_months
    group by account_id, month

),

account_bounds as (

    select
        account_id,
        min(month) as first_active_month,
        max(month) as last_active_month
    from account_months
    where arr > 0
    group by account_id

),

spine as (

    select
        account_bounds.account_id,
        months.month
    from account_bounds
    inner join months
        on months.month >= account_bounds.first_active_month
        and months.month <= {{ dbt.dateadd('month', 1, 'account_bounds.last_active_month') }}

),

filled as (

    select
        spine.account_id,
        spine.month,
        coalesce(account_months.arr, 0) as arr
    from spine
    left join account_months
        on account_months.account_id = spine.account_id
        and account_months.month = spine.month

),

with_previous as (

    select
        account_id,
        month,
        arr,
        coalesce(lag(arr) over (partition by account_id order by month), 0) as previous_arr,
        coalesce(max(case when arr > 0 then 1 else 0 end) over (
            partition by account_id order by month rows between unbounded preceding and 1 preceding
        ), 0) = 1 as was_active_before
    from filled

),

classified as (

    select
        *,
        case
            when arr > 0 and previous_arr = 0 and not was_active_before then 'new'
            when arr > 0 and previous_arr = 0 then 'reactivation'
            when previous_arr > 0 and arr = 0 then 'churn'
            when previous_arr > 0 and arr > previous_arr then 'expansion'
            when previous_arr > 0 and arr < previous_arr then 'contraction'
            else 'flat'
        end as movement
    from with_previous

),

family_values as (

    -- family ARR with its previous month's value (0 when the family was absent that month); only rows with a
    -- current value matter, as upsell and cross-sell are increases
    select
        account_id,
        month,
        arr,
        case
            when lag(month) over (partition by account_id, product_family order by month)
                = {{ dbt.dateadd('month', -1, 'month') }}
                then lag(arr) over (partition by account_id, product_family order by month)
            else 0
        end as previous_arr
    from (
        select account_id, product_family, month, round(12 * mrr_usd, 2) as arr
        from family_months
    ) as family_arr

),

family_expansion as (

    select
        family_values.account_id,
        family_values.month,
        sum(case
            when family_values.previous_arr > 0 and family_values.arr > family_values.previous_arr
                then family_values.arr - family_values.previous_arr
            else 0
        end) as upsell_arr,
        -- a family starting (or returning) in an account that already pays is a cross-sell
        sum(case
            when family_values.previous_arr = 0 and family_values.arr > 0 and classified.previous_arr > 0
                then family_values.arr
            else 0
        end) as cross_sell_arr
    from family_values
    inner join classified
        on classified.account_id = family_values.account_id
        and classified.month = family_values.month
    group by family_values.account_id, family_values.month

),

final as (

    select
        classified.account_id,
        classified.month,
        cast(classified.arr as decimal(18, 2)) as arr,
        cast(classified.previous_arr as decimal(18, 2)) as previous_arr,
        cast(classified.movement as {{ dbt.type_string() }}) as movement,
        cast(case when movement = 'new' then arr else 0 end as decimal(18, 2)) as new_arr,
        cast(case when movement = 'expansion' then arr - previous_arr else 0 end as decimal(18, 2)) as expansion_arr,
        cast(case when movement = 'contraction' then arr - previous_arr else 0 end as decimal(18, 2))
            as contraction_arr,
        cast(case when movement = 'churn' then -previous_arr else 0 end as decimal(18, 2)) as churned_arr,
        cast(case when movement = 'reactivation' then arr else 0 end as decimal(18, 2)) as reactivation_arr,
        cast(coalesce(family_expansion.upsell_arr, 0) as decimal(18, 2)) as upsell_arr,
        cast(coalesce(family_expansion.cross_sell_arr, 0) as decimal(18, 2)) as cross_sell_arr,
        classified.month = {{ dbt.date_trunc('month', as_of_date()) }} as is_as_of_month
    from classified
    left join family_expansion
        on family_expansion.account_id = classified.account_id
        and family_expansion.month = classified.month
    where classified.month <= {{ dbt.date_trunc('month', as_of_date()) }}

)

select * from final
