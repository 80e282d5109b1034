-- Buying-role assignments from both CRMs, mapped to the canonical roles of seed buying_role_map
-- (metrics_definitions.md §2.8), one row per source assignment:
--   salesforce / opportunity_contact_role: live OpportunityContactRoles (with a Role) of live opportunities;
--   hubspot / deal_contact_label: USER_DEFINED deal-contact association labels of live deals;
--   hubspot / hs_buying_role: each value of a live contact's multi-select hs_buying_role (no opportunity).
-- The account is the opportunity's / deal's primary company's / contact's unified account. Values missing from
-- the seed keep canonical_role null (a warning test names them) and count as no role.
with

sf_roles as (

    select * from {{ ref('stg_salesforce__opportunity_contact_roles') }}
    where not is_deleted and role is not null and trim(role) <> ''

),

sf_opportunities as (

    select * from {{ ref('stg_salesforce__opportunities') }}
    where not is_deleted

),

hs_deals as (

    select * from {{ ref('stg_hubspot__deals') }}
    where not is_archived and not is_deleted

),

hs_deal_contacts as (

    select * from {{ ref('stg_hubspot__deal_contacts') }}
    where not is_deleted
        and association_category = 'USER_DEFINED'
        and association_label is not null

),

hs_deal_companies as (

    select * from {{ ref('stg_hubspot__deal_companies') }}
    where not is_deleted

),

hs_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}
    where not is_archived and not is_deleted and buying_roles is not null

),

persons as (

    select * from {{ ref('int_person_identity') }}

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

role_map as (

    select * from {{ ref('buying_role_map') }}

),

hs_deal_accounts as (

    -- the primary company association first, then the lowest company id
    select deal_id, account_id
    from (
        select
            hs_deal_companies.deal_id,
            identity.account_id,
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

salesforce_assignments as (

    select
        'salesforce' as source_system,
        'opportunity_contact_role' as source_field,
        sf_roles.opportunity_contact_role_id as source_record_id,
        sf_roles.opportunity_id,
        identity.account_id,
        sf_roles.contact_id,
        trim(sf_roles.role) as source_value
    from sf_roles
    inner join sf_opportunities
        on sf_opportunities.opportunity_id = sf_roles.opportunity_id
    left join identity
        on identity.source_system = 'salesforce'
        and identity.source_account_id = sf_opportunities.account_id

),

hubspot_label_assignments as (

    select
        'hubspot' as source_system,
        'deal_contact_label' as source_field,
        {{ dbt.concat(['hs_deal_contacts.deal_id', "':'", 'hs_deal_contacts.contact_id']) }} as source_record_id,
        hs_deal_contacts.deal_id as opportunity_id,
        hs_deal_accounts.account_id,
        hs_deal_contacts.contact_id,
        trim(hs_deal_contacts.association_label) as source_value
    from hs_deal_contacts
    inner join hs_deals
        on hs_deals.deal_id = hs_deal_contacts.deal_id
    left join hs_deal_accounts
        on hs_deal_accounts.deal_id = hs_deal_contacts.deal_id

),

hs_contact_role_values as (

    {{ array_elements('hs_contacts', 'buying_roles', ['contact_id'], 'buying_role') }}

),

hubspot_contact_assignments as (

    select
        'hubspot' as source_system,
        'hs_buying_role' as source_field,
        hs_contact_role_values.contact_id as source_record_id,
        cast(null as {{ dbt.type_string() }}) as opportunity_id,
        persons.account_id,
        hs_contact_role_values.contact_id,
        trim(hs_contact_role_values.buying_role) as source_value
    from hs_contact_role_values
    left join persons
        on persons.source_system = 'hubspot'
        and persons.contact_id = hs_contact_role_values.contact_id
    where hs_contact_role_values.buying_role is not null
        and trim(hs_contact_role_values.buying_role) <> ''

),

unioned as (

    select * from salesforce_assignments
    union all
    select * from hubspot_label_assignments
    union all
    select * from hubspot_contact_assignments

),

final as (

    select
        unioned.source_system,
        unioned.source_field,
        unioned.source_record_id,
        unioned.opportunity_id,
        unioned.account_id,
        persons.person_key,
        unioned.source_value,
        role_map.canonical_role
    from unioned
    left join persons
        on persons.source_system = unioned.source_system
        and persons.contact_id = unioned.contact_id
    left join role_map
        on role_map.source_system = unioned.source_system
        and role_map.source_field = unioned.source_field
        and role_map.source_value = unioned.source_value

)

select * from final
