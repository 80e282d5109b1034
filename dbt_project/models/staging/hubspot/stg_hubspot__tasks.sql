with

source as (

    select * from {{ source('hubspot', 'tasks') }}

),

renamed as (

    select
        id as task_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hs_timestamp as occurred_at,
        hubspot_owner_id as owner_id,
        hs_activity_type as activity_type,
        hs_task_subject as task_subject,
        hs_task_status as task_status,
        hs_task_priority as task_priority,
        hs_task_type as task_type,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
