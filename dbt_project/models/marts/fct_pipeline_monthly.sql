-- Month x source ('salesforce', 'hubspot' and 'all') pipeline from fct_opportunities (metrics_definitions.md §2.8):
-- opportunities created in the month, and those closed won / closed lost in the month (by close date).
-- win_rate_count = won / (won + lost) and win_rate_amount = won amount / (won + lost amount), over opportunities
-- closed in the month; null when none closed (or the amounts sum to 0). Opportunities with a negative amount are
-- left out of won/lost and the win rates (GitLab's is_win_rate_calc). median_sales_cycle_days is over the
-- opportunities won in the month. Months run from the first created or closed month to the as-of month.
with

opportunities as (

    select * from {{ ref('fct_opportunities') }}

),

as_of as (

    select cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as as_of_month

),

events as (

    select
        source,
        cast({{ dbt.date_trunc('month', 'created_date') }} as date) as month,
        'created' as event,
        amount_usd,
        cast(null as {{ dbt.type_int() }}) as sales_cycle_days
    from opportunities
    where created_date is not null

    union all

    select
        source,
        cast({{ dbt.date_trunc('month', 'close_date') }} as date) as month,
        case when is_won then 'won' else 'lost' end as event,
        amount_usd,
        sales_cycle_days
    from opportunities
    where is_closed
        and close_date is not null
        and coalesce(amount_usd, 0) >= 0

),

events_by_source as (

    select * from events
    union all
    select 'all' as source, month, event, amount_usd, sales_cycle_days from events

),

monthly as (

    select
        source,
        events_by_source.month,
        sum(case when event = 'created' then 1 else 0 end) as created_count,
        sum(case when event = 'created' then coalesce(amount_usd, 0) else 0 end) as created_amount,
        sum(case when event = 'won' then 1 else 0 end) as won_count,
        sum(case when event = 'won' then coalesce(amount_usd, 0) else 0 end) as won_amount,
        sum(case when event = 'lost' then 1 else 0 end) as lost_count,
        sum(case when event = 'lost' then coalesce(amount_usd, 0) else 0 end) as lost_amount,
        {{ median_of("case when event = 'won' then sales_cycle_days end") }} as median_sales_cycle_days
    from events_by_source
    cross join as_of
    where events_by_source.month <= as_of.as_of_month
    group by 1, 2

),

month_offsets as (

    select cast(generated_number - 1 as {{ dbt.type_int() }}) as month_offset
    from ({{ dbt.generate_series(1200) }}) as series

),

sources as (

    select distinct source from events_by_source

),

spine as (

    select
        sources.source,
        cast({{ dbt.dateadd('month', 'month_offsets.month_offset', 'bounds.first_month') }} as date) as month
    from month_offsets
    cross join (select min(month) as first_month from monthly) as bounds
    cross join as_of
    cross join sources
    where {{ dbt.dateadd('month', 'month_offsets.month_offset', 'bounds.first_month') }} <= as_of.as_of_month

),

final as (

    select
        spine.month,
        cast(spine.source as {{ dbt.type_string() }}) as source,
        cast(coalesce(monthly.created_count, 0) as {{ dbt.type_bigint() }}) as created_count,
        cast(coalesce(monthly.created_amount, 0) as decimal(18, 2)) as created_amount,
        cast(coalesce(monthly.won_count, 0) as {{ dbt.type_bigint() }}) as won_count,
        cast(coalesce(monthly.won_amount, 0) as decimal(18, 2)) as won_amount,
        cast(coalesce(monthly.lost_count, 0) as {{ dbt.type_bigint() }}) as lost_count,
        cast(coalesce(monthly.lost_amount, 0) as decimal(18, 2)) as lost_amount,
        cast(
            cast(monthly.won_count as {{ type_double() }}) / nullif(monthly.won_count + monthly.lost_count, 0)
            as {{ type_double() }}) as win_rate_count,
        cast(
            cast(monthly.won_amount as {{ type_double() }}) / nullif(monthly.won_amount + monthly.lost_amount, 0)
            as {{ type_double() }}) as win_rate_amount,
        cast(monthly.median_sales_cycle_days as {{ type_double() }}) as median_sales_cycle_days
    from spine
    left join monthly
        on monthly.source = spine.source
        and monthly.month = spine.month

)

select * from final
