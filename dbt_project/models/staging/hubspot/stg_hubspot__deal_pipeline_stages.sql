with

stages as (

    {{ filled_source('hubspot', 'pipeline_stages', {
        'id': 'varchar',
        'object_type': 'varchar',
        'pipeline_id': 'varchar',
        'stage_id': 'varchar',
        'label': 'varchar',
        'display_order': 'bigint',
        'is_closed': 'varchar',
        'probability': 'varchar',
        'archived': 'boolean',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'metadata': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}
    where object_type = 'deals'

),

pipelines as (

    {{ filled_source('hubspot', 'pipelines', {
        'id': 'varchar',
        'object_type': 'varchar',
        'pipeline_id': 'varchar',
        'label': 'varchar',
        'display_order': 'bigint',
        'archived': 'boolean',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}
    where object_type = 'deals'

),

renamed as (

    select
        stages.pipeline_id,
        stages.stage_id as deal_stage_id,
        pipelines.label as pipeline_label,
        stages.label as stage_label,
        stages.display_order,
        lower(stages.is_closed) = 'true' as is_closed,
        cast(stages.probability as {{ dbt.type_numeric() }}) as probability,
        -- HubSpot's closed-won stages are the closed ones with probability 1.0
        lower(stages.is_closed) = 'true' and cast(stages.probability as {{ dbt.type_numeric() }}) = 1 as is_closed_won,
        coalesce(stages.archived, false) or coalesce(stages._is_deleted, false) as is_deleted
    from stages
    left join pipelines on pipelines.pipeline_id = stages.pipeline_id

)

select * from renamed
