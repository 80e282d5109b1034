with

source as (

    select * from {{ source('salesforce', 'event') }}

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
