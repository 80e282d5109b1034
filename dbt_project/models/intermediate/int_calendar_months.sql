-- Calendar months (first days) from var('calendar_start_month') to the as-of month. A singular test fails if any
-- contract line starts before the calendar, so history is never silently cut off.
with

spine as (

    {{ dbt.date_spine(
        'month',
        "cast('" ~ var('calendar_start_month') ~ "' as date)",
        dbt.dateadd('month', 1, dbt.date_trunc('month', as_of_date()))
    ) }}

)

select cast(date_month as date) as month
from spine
