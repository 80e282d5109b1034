with

source as (

    select * from {{ source('hubspot', 'contacts') }}

),

renamed as (

    select
        id as contact_id,
        created_at,
        updated_at,
        archived_at,
        lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        email,
        cast(cast(associatedcompanyid as bigint) as varchar) as associated_company_id,
        lifecyclestage as lifecycle_stage,
        hs_buying_role as buying_roles,
        salesforcecontactid as salesforce_contact_id,
        country,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
