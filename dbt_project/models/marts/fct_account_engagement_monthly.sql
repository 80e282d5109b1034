-- Account x month engagement (metrics_definitions.md §2.8), from int_touches_unified (mirrored HubSpot ->
-- Salesforce tasks already count once there). Months run from the account's first touch month to the as-of month,
-- zero-filled, so recency keeps showing in quiet months.
-- The as-of instant is 00:00 UTC of var('as_of_date') (as in fct_account_stakeholder_coverage), so touches count
-- up to the day before it. A month's reference date is its last day, or the day before the as-of date in the
-- as-of month:
--   days_since_last_touch = reference date - date of the latest touch on or before it;
--   engagement_score = sum over touches dated within the var('engaged_days') days ending on the reference date of
--                      var('engagement_weights')[channel] x 0.5 ^ (age_days / var('engagement_half_life_days')),
--                      age_days = reference date - touch date (0 for a touch on the reference date),
--                      rounded to 4 decimals.
{%- set weights = var('engagement_weights') %}
{%- set engaged_days = var('engaged_days') | int %}
{#- a day scores in its own month and the following months whose end is < engaged_days away (months >= 28 days) -#}
{%- set max_month_offset = (engaged_days - 1) // 28 %}
with

touches as (

    select * from {{ ref('int_touches_unified') }}
    where account_id is not null
        and occurred_date < {{ as_of_date() }}

),

as_of as (

    select
        cast({{ dbt.date_trunc('month', as_of_date()) }} as date) as as_of_month,
        cast({{ dbt.dateadd('day', -1, as_of_date()) }} as date) as last_counted_date

),

monthly_touches as (

    select
        account_id,
        cast({{ dbt.date_trunc('month', 'occurred_date') }} as date) as month,
        sum(case when channel = 'email' then 1 else 0 end) as email_touches,
        sum(case when channel = 'call' then 1 else 0 end) as call_touches,
        sum(case when channel = 'meeting' then 1 else 0 end) as meeting_touches,
        sum(case when channel = 'task' then 1 else 0 end) as task_touches,
        sum(case when channel = 'note' then 1 else 0 end) as note_touches,
        sum(case when source_system = 'salesforce' then 1 else 0 end) as salesforce_touches,
        sum(case when source_system = 'hubspot' then 1 else 0 end) as hubspot_touches,
        count(*) as total_touches,
        count(distinct person_key) as active_stakeholders,
        max(occurred_date) as last_touch_date
    from touches
    group by 1, 2

),

account_first_months as (

    select account_id, min(month) as first_month
    from monthly_touches
    group by account_id

),

month_offsets as (

    select cast(generated_number - 1 as {{ dbt.type_int() }}) as month_offset
    from ({{ dbt.generate_series(1200) }}) as series

),

calendar as (

    select cast({{ dbt.dateadd('month', 'month_offsets.month_offset', 'bounds.first_month') }} as date) as month
    from month_offsets
    cross join (select min(first_month) as first_month from account_first_months) as bounds
    cross join as_of
    where {{ dbt.dateadd('month', 'month_offsets.month_offset', 'bounds.first_month') }} <= as_of.as_of_month

),

spine as (

    select
        account_first_months.account_id,
        calendar.month,
        case
            when calendar.month = as_of.as_of_month then as_of.last_counted_date
            else cast({{ end_of_month('calendar.month') }} as date)
        end as reference_date,
        calendar.month = as_of.as_of_month as is_month_to_date
    from account_first_months
    inner join calendar
        on calendar.month >= account_first_months.first_month
    cross join as_of

),

score_candidates as (

    -- each touch with the months it can score in: its own and the next few
    select
        touches.account_id,
        touches.occurred_date,
        case touches.channel
        {%- for channel, weight in weights.items() %}
            when '{{ channel }}' then {{ weight }}
        {%- endfor %}
            else 0
        end as weight,
        cast({{ dbt.dateadd('month', 'offsets.month_offset', dbt.date_trunc('month', 'touches.occurred_date')) }}
            as date) as month
    from touches
    cross join (
        select month_offset from month_offsets where month_offset <= {{ max_month_offset }}
    ) as offsets

),

score_months as (

    select
        score_candidates.*,
        case
            when score_candidates.month = as_of.as_of_month then as_of.last_counted_date
            else cast({{ end_of_month('score_candidates.month') }} as date)
        end as reference_date
    from score_candidates
    cross join as_of
    where score_candidates.month <= as_of.as_of_month

),

monthly_scores as (

    select
        account_id,
        month,
        sum(
            weight * {{ half_life_decay(dbt.datediff('occurred_date', 'reference_date', 'day'),
                                        var('engagement_half_life_days')) }}
        ) as engagement_score
    from score_months
    where occurred_date <= reference_date
        and {{ dbt.datediff('occurred_date', 'reference_date', 'day') }} < {{ engaged_days }}
    group by 1, 2

),

joined as (

    select
        spine.month,
        spine.account_id,
        spine.reference_date,
        spine.is_month_to_date,
        coalesce(monthly_touches.email_touches, 0) as email_touches,
        coalesce(monthly_touches.call_touches, 0) as call_touches,
        coalesce(monthly_touches.meeting_touches, 0) as meeting_touches,
        coalesce(monthly_touches.task_touches, 0) as task_touches,
        coalesce(monthly_touches.note_touches, 0) as note_touches,
        coalesce(monthly_touches.salesforce_touches, 0) as salesforce_touches,
        coalesce(monthly_touches.hubspot_touches, 0) as hubspot_touches,
        coalesce(monthly_touches.total_touches, 0) as total_touches,
        coalesce(monthly_touches.active_stakeholders, 0) as active_stakeholders,
        max(monthly_touches.last_touch_date) over (
            partition by spine.account_id
            order by spine.month
            rows between unbounded preceding and current row
        ) as last_touch_date,
        coalesce(monthly_scores.engagement_score, 0) as engagement_score
    from spine
    left join monthly_touches
        on monthly_touches.account_id = spine.account_id
        and monthly_touches.month = spine.month
    left join monthly_scores
        on monthly_scores.account_id = spine.account_id
        and monthly_scores.month = spine.month

),

final as (

    select
        cast(month as date) as month,
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast(email_touches as {{ dbt.type_bigint() }}) as email_touches,
        cast(call_touches as {{ dbt.type_bigint() }}) as call_touches,
        cast(meeting_touches as {{ dbt.type_bigint() }}) as meeting_touches,
        cast(task_touches as {{ dbt.type_bigint() }}) as task_touches,
        cast(note_touches as {{ dbt.type_bigint() }}) as note_touches,
        cast(salesforce_touches as {{ dbt.type_bigint() }}) as salesforce_touches,
        cast(hubspot_touches as {{ dbt.type_bigint() }}) as hubspot_touches,
        cast(total_touches as {{ dbt.type_bigint() }}) as total_touches,
        cast(active_stakeholders as {{ dbt.type_bigint() }}) as active_stakeholders,
        cast(last_touch_date as date) as last_touch_date,
        cast({{ dbt.datediff('last_touch_date', 'reference_date', 'day') }} as {{ dbt.type_int() }})
            as days_since_last_touch,
        cast(round(cast(engagement_score as {{ type_double() }}), 4) as {{ type_double() }}) as engagement_score,
        cast(reference_date as date) as reference_date,
        cast(is_month_to_date as {{ dbt.type_boolean() }}) as is_month_to_date
    from joined

)

select * from final
