with

source as (

    select * from {{ source('salesforce', 'task') }}

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
