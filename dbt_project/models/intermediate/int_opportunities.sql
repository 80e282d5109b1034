-- One row per live Salesforce opportunity and HubSpot deal, with its unified account, normalised type and
-- amounts in the reporting currency. HubSpot deals that the HubSpot-Salesforce connector mirrored from a
-- Salesforce opportunity (hs_salesforceopportunityid set on a company that is linked to a Salesforce account)
-- are flagged `is_mirror` so the marts count each opportunity once, from Salesforce.
-- Currency (metrics_definitions.md §2.1): Salesforce amounts / DatedConversionRate at the close date (units per
-- reporting-currency unit; CurrencyType without advanced currency management); HubSpot amount_in_home_currency,
-- else the amount / the Salesforce dated rate. ACV (§2.6) = sum over the recurring line items of
-- TCV / greatest(term_months, 12) x 12, converted at the same rate; null without recurring lines.
with

sf_opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}
    where not is_deleted

),

sf_line_items as (

    select * from {{ ref('stg_salesforce__opportunity_line_items') }}
    where not is_deleted

),

sf_products as (

    select * from {{ ref('stg_salesforce__products') }}

),

sf_users as (

    select * from {{ ref('stg_salesforce__users') }}

),

sf_dated_rates as (

    select * from {{ ref('stg_salesforce__dated_conversion_rates') }}
    where not is_deleted

),

sf_currency_types as (

    select * from {{ ref('stg_salesforce__currency_types') }}
    where not is_deleted

),

hs_deals as (

    select * from {{ ref('stg_hubspot__deals') }}
    where not is_archived and not is_deleted

),

hs_stages as (

    select * from {{ ref('stg_hubspot__deal_pipeline_stages') }}

),

hs_deal_companies as (

    select * from {{ ref('stg_hubspot__deal_companies') }}
    where not is_deleted

),

hs_deal_line_items as (

    select distinct deal_id, line_item_id from {{ ref('stg_hubspot__deal_line_items') }}
    where not is_deleted

),

hs_line_items as (

    select * from {{ ref('stg_hubspot__line_items') }}
    where not is_archived and not is_deleted

),

hs_owners as (

    select * from {{ ref('stg_hubspot__owners') }}

),

hs_frequencies as (

    select * from {{ ref('hubspot_billing_frequencies') }}

),

product_recurrence as (

    select * from {{ ref('product_recurrence') }}

),

type_map as (

    select * from {{ ref('opportunity_type_map') }}

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

-- Salesforce ------------------------------------------------------------------------------------------------

sf_rates as (

    select
        sf_opportunities.opportunity_id,
        case
            when sf_opportunities.currency_code is null
                or sf_opportunities.currency_code = '{{ var("reporting_currency") }}' then 1.0
            else cast(coalesce(dated.conversion_rate, types.conversion_rate) as {{ type_double() }})
        end as fx_rate
    from sf_opportunities
    left join sf_dated_rates as dated
        on {{ rate_in_force('dated', "sf_opportunities.currency_code", 'sf_opportunities.close_date') }}
    left join sf_currency_types as types
        on types.currency_code = sf_opportunities.currency_code

),

sf_acv as (

    select
        sf_line_items.opportunity_id,
        sum(
            cast(sf_line_items.total_price as {{ type_double() }})
            / greatest(coalesce(sf_line_items.term_months, {{ var('default_term_months') }}), 12) * 12
        ) as acv_local
    from sf_line_items
    inner join sf_products
        on sf_products.product_id = sf_line_items.product2_id
    inner join product_recurrence
        on product_recurrence.product_family = sf_products.product_family
    where product_recurrence.is_recurring
    group by sf_line_items.opportunity_id

),

salesforce_opportunities as (

    select
        'salesforce' as source,
        sf_opportunities.opportunity_id,
        identity.account_id,
        false as is_mirror,
        sf_opportunities.stage_name as stage,
        coalesce(sf_opportunities.is_closed, false) as is_closed,
        coalesce(sf_opportunities.is_won, false) as is_won,
        sf_opportunities.opportunity_type as source_opportunity_type,
        sf_opportunities.currency_code,
        cast(sf_opportunities.amount as {{ type_double() }}) as amount_local,
        sf_rates.fx_rate,
        cast(sf_opportunities.amount as {{ type_double() }}) / sf_rates.fx_rate as amount_usd,
        sf_acv.acv_local / sf_rates.fx_rate as acv_usd,
        {{ utc_date('sf_opportunities.created_at') }} as created_date,
        sf_opportunities.close_date,
        sf_users.user_name as owner_name,
        (
            {%- for letter in var('meddic_fields') %}
            case when nullif(trim(cast(sf_opportunities.meddic_{{ letter }} as {{ dbt.type_string() }})), '') is not null
                then 1 else 0 end{{ ' +' if not loop.last }}
            {%- endfor %}
        ) as meddic_fields_filled
    from sf_opportunities
    inner join sf_rates
        on sf_rates.opportunity_id = sf_opportunities.opportunity_id
    left join sf_acv
        on sf_acv.opportunity_id = sf_opportunities.opportunity_id
    left join sf_users
        on sf_users.user_id = sf_opportunities.owner_id
    left join identity
        on identity.source_system = 'salesforce'
        and identity.source_account_id = sf_opportunities.account_id

),

-- HubSpot ---------------------------------------------------------------------------------------------------

hs_deal_accounts as (

    -- the primary company association first, then the lowest company id
    select deal_id, account_id, survivor_system
    from (
        select
            hs_deal_companies.deal_id,
            identity.account_id,
            identity.survivor_system,
            row_number() over (
                partition by hs_deal_companies.deal_id
                order by case when hs_deal_companies.association_label = 'Primary' then 0 else 1 end,
                    hs_deal_companies.company_id
            ) as rn
        from hs_deal_companies
        inner join identity
            on identity.source_system = 'hubspot'
            and identity.source_account_id = hs_deal_companies.company_id
    ) as ranked
    where rn = 1

),

hs_rates as (

    select
        hs_deals.deal_id,
        case
            when hs_deals.currency_code is null
                or hs_deals.currency_code = '{{ var("reporting_currency") }}' then 1.0
            -- the deal's own home-currency amount implies the rate HubSpot used
            when hs_deals.amount <> 0 and hs_deals.amount_in_home_currency <> 0
                then cast(hs_deals.amount as {{ type_double() }})
                    / cast(hs_deals.amount_in_home_currency as {{ type_double() }})
            else cast(coalesce(dated.conversion_rate, types.conversion_rate) as {{ type_double() }})
        end as fx_rate
    from hs_deals
    left join sf_dated_rates as dated
        on {{ rate_in_force('dated', "hs_deals.currency_code", 'hs_deals.close_date') }}
    left join sf_currency_types as types
        on types.currency_code = hs_deals.currency_code

),

hs_acv as (

    select
        hs_deal_line_items.deal_id,
        sum(
            -- TCV = amount per period x periods per year x term months / 12
            cast(hs_line_items.amount as {{ type_double() }}) * hs_frequencies.periods_per_year
            * coalesce(hs_line_items.term_in_months, {{ iso_period_months('hs_line_items.recurring_billing_period') }})
            / 12.0
            / greatest(
                coalesce(hs_line_items.term_in_months, {{ iso_period_months('hs_line_items.recurring_billing_period') }}),
                12) * 12
        ) as acv_local
    from hs_deal_line_items
    inner join hs_line_items
        on hs_line_items.line_item_id = hs_deal_line_items.line_item_id
    inner join hs_frequencies
        on hs_frequencies.frequency = hs_line_items.recurring_billing_frequency
    group by hs_deal_line_items.deal_id

),

hubspot_deals as (

    select
        'hubspot' as source,
        hs_deals.deal_id as opportunity_id,
        hs_deal_accounts.account_id,
        nullif(trim(hs_deals.salesforce_opportunity_id), '') is not null
            and hs_deal_accounts.survivor_system = 'salesforce' as is_mirror,
        coalesce(hs_stages.stage_label, hs_deals.deal_stage_id) as stage,
        coalesce(hs_stages.is_closed, hs_deals.is_closed, false) as is_closed,
        coalesce(hs_stages.is_closed_won, hs_deals.is_closed_won, false) as is_won,
        hs_deals.deal_type as source_opportunity_type,
        hs_deals.currency_code,
        cast(hs_deals.amount as {{ type_double() }}) as amount_local,
        hs_rates.fx_rate,
        coalesce(
            cast(hs_deals.amount_in_home_currency as {{ type_double() }}),
            cast(hs_deals.amount as {{ type_double() }}) / hs_rates.fx_rate
        ) as amount_usd,
        hs_acv.acv_local / hs_rates.fx_rate as acv_usd,
        {{ utc_date('hs_deals.created_at') }} as created_date,
        hs_deals.close_date,
        hs_owners.owner_name,
        cast(null as {{ dbt.type_int() }}) as meddic_fields_filled
    from hs_deals
    inner join hs_rates
        on hs_rates.deal_id = hs_deals.deal_id
    left join hs_stages
        on hs_stages.pipeline_id = hs_deals.pipeline_id
        and hs_stages.deal_stage_id = hs_deals.deal_stage_id
    left join hs_deal_accounts
        on hs_deal_accounts.deal_id = hs_deals.deal_id
    left join hs_acv
        on hs_acv.deal_id = hs_deals.deal_id
    left join hs_owners
        on hs_owners.owner_id = hs_deals.owner_id

),

unioned as (

    select * from salesforce_opportunities
    union all
    select * from hubspot_deals

),

final as (

    select
        unioned.source,
        unioned.opportunity_id,
        unioned.account_id,
        unioned.is_mirror,
        unioned.stage,
        unioned.is_closed,
        unioned.is_won,
        coalesce(type_map.opportunity_type, 'other') as opportunity_type,
        unioned.source_opportunity_type,
        unioned.currency_code,
        unioned.amount_local,
        unioned.fx_rate,
        unioned.amount_usd,
        unioned.acv_usd,
        unioned.created_date,
        unioned.close_date,
        case
            when unioned.is_closed then {{ dbt.datediff('unioned.created_date', 'unioned.close_date', 'day') }}
        end as sales_cycle_days,
        unioned.owner_name,
        unioned.meddic_fields_filled
    from unioned
    left join type_map
        on type_map.source_system = unioned.source
        and type_map.source_value = unioned.source_opportunity_type

)

select * from final
