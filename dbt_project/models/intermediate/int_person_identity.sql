-- One row per source contact record (Salesforce Contact, HubSpot contact) -> pseudonymous person and unified
-- account (metrics_definitions.md §2.8: a person is one lower-cased, trimmed email). The email itself does not
-- leave this model: `person_key` is an HMAC of it (macro person_key), so the same email in either CRM gives the
-- same key. A HubSpot contact's account comes from its `associatedcompanyid` (HubSpot's primary company), else
-- its primary company association, else its lowest associated company id.
with

sf_contacts as (

    select * from {{ ref('stg_salesforce__contacts') }}

),

hs_contacts as (

    select * from {{ ref('stg_hubspot__contacts') }}

),

hs_company_links as (

    select * from {{ ref('stg_hubspot__company_contacts') }}
    where not is_deleted

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

hs_association_company as (

    -- primary association (type 2, company -> contact) first, then the lowest company id
    select
        contact_id,
        company_id
    from (
        select
            contact_id,
            company_id,
            row_number() over (
                partition by contact_id
                order by case when association_label = 'Primary' then 0 else 1 end, company_id
            ) as rn
        from hs_company_links
    ) as ranked
    where rn = 1

),

salesforce_people as (

    select
        'salesforce' as source_system,
        sf_contacts.contact_id,
        {{ person_key('sf_contacts.email') }} as person_key,
        sf_contacts.account_id as source_account_id,
        identity.account_id,
        sf_contacts.is_deleted
    from sf_contacts
    left join identity
        on identity.source_system = 'salesforce'
        and identity.source_account_id = sf_contacts.account_id

),

hubspot_people as (

    select
        'hubspot' as source_system,
        hs_contacts.contact_id,
        {{ person_key('hs_contacts.email') }} as person_key,
        coalesce(hs_contacts.associated_company_id, hs_association_company.company_id) as source_account_id,
        identity.account_id,
        hs_contacts.is_archived or hs_contacts.is_deleted as is_deleted
    from hs_contacts
    left join hs_association_company
        on hs_association_company.contact_id = hs_contacts.contact_id
    left join identity
        on identity.source_system = 'hubspot'
        and identity.source_account_id = coalesce(hs_contacts.associated_company_id, hs_association_company.company_id)

),

unioned as (

    select * from salesforce_people
    union all
    select * from hubspot_people

)

select * from unioned
