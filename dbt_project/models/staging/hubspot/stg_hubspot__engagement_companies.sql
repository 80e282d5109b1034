-- one view over the five engagement-type association tables (calls, emails, meetings, notes, tasks)
with

unioned as (

    select 'calls' as engagement_type, from_id as engagement_id, to_id as company_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from (
        {{ filled_source('hubspot', 'assoc_calls__companies', {'from_id': 'varchar', 'to_id': 'varchar', 'type_id': 'bigint', 'category': 'varchar', 'label': 'varchar', '_loaded_at': 'timestamp with time zone', '_is_deleted': 'boolean', '_deleted_at': 'timestamp with time zone'}) }}
    ) as src

    union all

    select 'emails' as engagement_type, from_id as engagement_id, to_id as company_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from (
        {{ filled_source('hubspot', 'assoc_emails__companies', {'from_id': 'varchar', 'to_id': 'varchar', 'type_id': 'bigint', 'category': 'varchar', 'label': 'varchar', '_loaded_at': 'timestamp with time zone', '_is_deleted': 'boolean', '_deleted_at': 'timestamp with time zone'}) }}
    ) as src

    union all

    select 'meetings' as engagement_type, from_id as engagement_id, to_id as company_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from (
        {{ filled_source('hubspot', 'assoc_meetings__companies', {'from_id': 'varchar', 'to_id': 'varchar', 'type_id': 'bigint', 'category': 'varchar', 'label': 'varchar', '_loaded_at': 'timestamp with time zone', '_is_deleted': 'boolean', '_deleted_at': 'timestamp with time zone'}) }}
    ) as src

    union all

    select 'notes' as engagement_type, from_id as engagement_id, to_id as company_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from (
        {{ filled_source('hubspot', 'assoc_notes__companies', {'from_id': 'varchar', 'to_id': 'varchar', 'type_id': 'bigint', 'category': 'varchar', 'label': 'varchar', '_loaded_at': 'timestamp with time zone', '_is_deleted': 'boolean', '_deleted_at': 'timestamp with time zone'}) }}
    ) as src

    union all

    select 'tasks' as engagement_type, from_id as engagement_id, to_id as company_id, type_id as association_type_id,
        coalesce(_is_deleted, false) as is_deleted
    from (
        {{ filled_source('hubspot', 'assoc_tasks__companies', {'from_id': 'varchar', 'to_id': 'varchar', 'type_id': 'bigint', 'category': 'varchar', 'label': 'varchar', '_loaded_at': 'timestamp with time zone', '_is_deleted': 'boolean', '_deleted_at': 'timestamp with time zone'}) }}
    ) as src

)

select * from unioned
