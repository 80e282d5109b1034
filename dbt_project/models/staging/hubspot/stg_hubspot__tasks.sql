with

source as (

    {{ filled_source('hubspot', 'tasks', {
        'id': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'archived': 'boolean',
        'archived_at': 'timestamp with time zone',
        'hs_object_id': 'decimal(38,9)',
        'hs_createdate': 'timestamp with time zone',
        'hs_lastmodifieddate': 'timestamp with time zone',
        'hs_timestamp': 'timestamp with time zone',
        'hubspot_owner_id': 'varchar',
        'hs_body_preview': 'varchar',
        'hs_activity_type': 'varchar',
        'hs_task_subject': 'varchar',
        'hs_task_body': 'varchar',
        'hs_task_status': 'varchar',
        'hs_task_priority': 'varchar',
        'hs_task_type': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

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
