-- One row per recurring contract line in its account's revenue system of record (metrics_definitions.md §2.1):
-- Salesforce line items of won opportunities and HubSpot line items of closed-won deals, with the service
-- period, MRR in local currency and in the reporting currency at the close-date rate (held for the line's
-- life), and the effective end after renewals supersede earlier lines of the same product.
with

sf_opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}
    where is_won and not is_deleted

),

sf_line_items as (

    select * from {{ ref('stg_salesforce__opportunity_line_items') }}
    where not is_deleted

),

sf_products as (

    select * from {{ ref('stg_salesforce__products') }}

),

sf_rates as (

    select * from {{ ref('stg_salesforce__dated_conversion_rates') }}

),

product_recurrence as (

    select * from {{ ref('product_recurrence') }}

),

hs_deals as (

    select * from {{ ref('stg_hubspot__deals') }}
    where not is_archived and not is_deleted

),

hs_line_items as (

    select * from {{ ref('stg_hubspot__line_items') }}
    where not is_archived and not is_deleted

),

hs_deal_line_items as (

    select distinct deal_id, line_item_id from {{ ref('stg_hubspot__deal_line_items') }}
    where not is_deleted

),

hs_primary_companies as (

    -- type 5 is HubSpot's primary deal-to-company association
    select deal_id, min(company_id) as company_id
    from {{ ref('stg_hubspot__deal_companies') }}
    where association_type_id = 5 and not is_deleted
    group by deal_id

),

hs_won_stages as (

    select pipeline_id, deal_stage_id from {{ ref('stg_hubspot__deal_pipeline_stages') }}
    where is_closed_won

),

hs_products as (

    select * from {{ ref('stg_hubspot__products') }}

),

hs_frequencies as (

    select * from {{ ref('hubspot_billing_frequencies') }}

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

revenue_systems as (

    select * from {{ ref('int_account_revenue_systems') }}

),

salesforce_lines as (

    select
        'salesforce' as source_system,
        line_items.opportunity_line_item_id as source_line_id,
        opportunities.opportunity_id as source_deal_id,
        identity.account_id,
        coalesce(line_items.product_code, products.product_code) as product_code,
        products.product_family,
        product_recurrence.is_recurring,
        coalesce(opportunities.opportunity_type in (
            {%- for t in var('salesforce_renewal_types') %}'{{ t }}'{{ ',' if not loop.last }}{% endfor -%}
        ), false) as is_renewal,
        opportunities.close_date,
        coalesce(line_items.service_date, opportunities.close_date) as service_start_date,
        coalesce(line_items.term_months, {{ var('default_term_months') or 'null' }}) as term_months,
        opportunities.currency_code as currency,
        cast(line_items.total_price as {{ type_double() }}) as period_amount_local,
        cast(coalesce(line_items.term_months, {{ var('default_term_months') or 'null' }}) as {{ type_double() }})
            as months_per_period,
        case
            when opportunities.currency_code = '{{ var("reporting_currency") }}' then 1.0
            else cast(rates.conversion_rate as {{ type_double() }})
        end as fx_rate
    from sf_line_items as line_items
    inner join sf_opportunities as opportunities
        on opportunities.opportunity_id = line_items.opportunity_id
    left join sf_products as products
        on products.product_id = line_items.product2_id
    left join product_recurrence
        on product_recurrence.product_family = products.product_family
    left join identity
        on identity.source_system = 'salesforce' and identity.source_account_id = opportunities.account_id
    left join sf_rates as rates
        on {{ rate_in_force('rates', "opportunities.currency_code", 'opportunities.close_date') }}
    -- unknown families stay in (is_recurring null) so the not_null test names them
    where coalesce(product_recurrence.is_recurring, true)

),

hubspot_lines as (

    select
        'hubspot' as source_system,
        line_items.line_item_id as source_line_id,
        deals.deal_id as source_deal_id,
        identity.account_id,
        coalesce(line_items.sku, line_items.product_id) as product_code,
        products.product_family,
        true as is_recurring,
        coalesce(deals.deal_type in (
            {%- for t in var('hubspot_renewal_deal_types') %}'{{ t }}'{{ ',' if not loop.last }}{% endfor -%}
        ), false) as is_renewal,
        deals.close_date,
        coalesce(line_items.recurring_billing_start_date, deals.close_date) as service_start_date,
        coalesce(line_items.term_in_months, {{ iso_period_months('line_items.recurring_billing_period') }})
            as term_months,
        coalesce(line_items.currency_code, deals.currency_code, '{{ var("reporting_currency") }}') as currency,
        cast(line_items.amount as {{ type_double() }}) as period_amount_local,
        12.0 / frequencies.periods_per_year as months_per_period,
        case
            when coalesce(line_items.currency_code, deals.currency_code, '{{ var("reporting_currency") }}')
                = '{{ var("reporting_currency") }}' then 1.0
            -- the deal's own home-currency amount implies the rate HubSpot used at close
            when deals.amount <> 0 and deals.amount_in_home_currency <> 0
                then cast(deals.amount as {{ type_double() }}) / cast(deals.amount_in_home_currency as {{ type_double() }})
            else cast(rates.conversion_rate as {{ type_double() }})
        end as fx_rate
    from hs_line_items as line_items
    inner join hs_deal_line_items as links
        on links.line_item_id = line_items.line_item_id
    inner join hs_deals as deals
        on deals.deal_id = links.deal_id
    inner join hs_won_stages as won
        on won.pipeline_id = deals.pipeline_id and won.deal_stage_id = deals.deal_stage_id
    left join hs_primary_companies as companies
        on companies.deal_id = deals.deal_id
    left join identity
        on identity.source_system = 'hubspot' and identity.source_account_id = companies.company_id
    left join hs_products as products
        on products.product_id = line_items.product_id
    left join hs_frequencies as frequencies
        on frequencies.frequency = line_items.recurring_billing_frequency
    left join sf_rates as rates
        on {{ rate_in_force('rates', "coalesce(line_items.currency_code, deals.currency_code)", 'deals.close_date') }}
    where line_items.recurring_billing_frequency is not null
        and line_items.recurring_billing_frequency <> 'one_time'

),

unioned as (

    select * from salesforce_lines
    union all
    select * from hubspot_lines

),

in_system_of_record as (

    -- a line whose deal has no account is kept (account_id null) so a not_null test names it
    select unioned.*
    from unioned
    left join revenue_systems
        on revenue_systems.account_id = unioned.account_id
    where revenue_systems.account_id is null or revenue_systems.revenue_system = unioned.source_system

),

priced as (

    select
        {{ dbt.concat(['source_system', "':'", 'source_line_id']) }} as line_key,
        *,
        period_amount_local / months_per_period as mrr_local,
        period_amount_local / months_per_period / fx_rate as mrr_usd,
        {{ dbt.dateadd('day', -1, dbt.dateadd('month', 'term_months', 'service_start_date')) }} as natural_end_date
    from in_system_of_record

),

superseding as (

    -- the earliest renewal of the same account and product that starts inside a line ends it the day before
    select
        lines.line_key,
        min(renewals.service_start_date) as superseded_from
    from priced as lines
    inner join priced as renewals
        on renewals.account_id = lines.account_id
        and renewals.product_code = lines.product_code
        and renewals.is_renewal
        and renewals.service_start_date > lines.service_start_date
        and renewals.service_start_date <= lines.natural_end_date
    group by lines.line_key

),

final as (

    select
        priced.line_key,
        priced.account_id,
        priced.source_system,
        priced.source_line_id,
        priced.source_deal_id,
        priced.product_code,
        priced.product_family,
        priced.is_recurring,
        priced.is_renewal,
        priced.close_date,
        priced.service_start_date,
        priced.natural_end_date,
        case
            when superseding.superseded_from is not null
                then {{ dbt.dateadd('day', -1, 'superseding.superseded_from') }}
            else priced.natural_end_date
        end as service_end_date,
        priced.term_months,
        priced.currency,
        priced.period_amount_local,
        priced.months_per_period,
        priced.mrr_local,
        priced.fx_rate,
        priced.mrr_usd
    from priced
    left join superseding
        on superseding.line_key = priced.line_key

)

select * from final
