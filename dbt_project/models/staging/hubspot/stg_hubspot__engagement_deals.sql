-- one view over the five engagement-type association tables (calls, emails, meetings, notes, tasks)
with

unioned as (

    select 'calls' as engagement_type, from_id as engagement_id, to_id as deal_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from {{ source('hubspot', 'assoc_calls__deals') }}

    union all

    select 'emails' as engagement_type, from_id as engagement_id, to_id as deal_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from {{ source('hubspot', 'assoc_emails__deals') }}

    union all

    select 'meetings' as engagement_type, from_id as engagement_id, to_id as deal_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from {{ source('hubspot', 'assoc_meetings__deals') }}

    union all

    select 'notes' as engagement_type, from_id as engagement_id, to_id as deal_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from {{ source('hubspot', 'assoc_notes__deals') }}

    union all

    select 'tasks' as engagement_type, from_id as engagement_id, to_id as deal_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from {{ source('hubspot', 'assoc_tasks__deals') }}

)

select * from unioned
