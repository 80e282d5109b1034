with

source as (

    select * from {{ source('hubspot', 'emails') }}

),

renamed as (

    select
        id as email_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hs_timestamp as occurred_at,
        hubspot_owner_id as owner_id,
        hs_activity_type as activity_type,
        hs_email_subject as email_subject,
        hs_email_direction as email_direction,
        hs_email_status as email_status,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
