with

source as (

    {{ filled_source('salesforce', 'event', {
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
        'ActivityDateTime': 'timestamp with time zone',
        'StartDateTime': 'timestamp with time zone',
        'EndDateTime': 'timestamp with time zone',
        'DurationInMinutes': 'bigint',
        'IsAllDayEvent': 'boolean',
        'Type': 'varchar',
        'EventSubtype': 'varchar',
        'IsArchived': 'boolean',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as event_id,
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
        ActivityDateTime as activity_at,
        StartDateTime as start_at,
        EndDateTime as end_at,
        DurationInMinutes as duration_in_minutes,
        IsAllDayEvent as is_all_day_event,
        Type as event_type,
        EventSubtype as event_subtype,
        IsArchived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
