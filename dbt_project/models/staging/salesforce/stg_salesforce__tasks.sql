with

source as (

    {{ filled_source('salesforce', 'task', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'WhoId': 'varchar',
        'WhatId': 'varchar',
        'AccountId': 'varchar',
        'OwnerId': 'varchar',
        'Subject': 'varchar',
        'ActivityDate': 'date',
        'Status': 'varchar',
        'Priority': 'varchar',
        'Type': 'varchar',
        'TaskSubtype': 'varchar',
        'CallDurationInSeconds': 'bigint',
        'CallType': 'varchar',
        'CallDisposition': 'varchar',
        'IsClosed': 'boolean',
        'CompletedDateTime': 'timestamp with time zone',
        'IsArchived': 'boolean',
        'Description': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as task_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        WhoId as who_id,
        WhatId as what_id,
        AccountId as account_id,
        OwnerId as owner_id,
        Subject as subject,
        ActivityDate as activity_date,
        Status as status,
        Priority as priority,
        Type as task_type,
        TaskSubtype as task_subtype,
        CallDurationInSeconds as call_duration_in_seconds,
        CallType as call_type,
        CallDisposition as call_disposition,
        IsClosed as is_closed,
        CompletedDateTime as completed_at,
        IsArchived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
