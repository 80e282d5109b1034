with

source as (

    select * from {{ source('hubspot', 'calls') }}

),

renamed as (

    select
        id as call_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hs_timestamp as occurred_at,
        hubspot_owner_id as owner_id,
        hs_activity_type as activity_type,
        hs_call_title as call_title,
        hs_call_direction as call_direction,
        cast(hs_call_duration as bigint) as call_duration,
        hs_call_status as call_status,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
