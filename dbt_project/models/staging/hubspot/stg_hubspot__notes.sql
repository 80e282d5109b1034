with

source as (

    select * from {{ source('hubspot', 'notes') }}

),

renamed as (

    select
        id as note_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hs_timestamp as occurred_at,
        hubspot_owner_id as owner_id,
        hs_activity_type as activity_type,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
