with

source as (

    {{ filled_source('hubspot', 'owners', {
        'id': 'varchar',
        'email': 'varchar',
        'first_name': 'varchar',
        'last_name': 'varchar',
        'user_id': 'varchar',
        'user_id_including_inactive': 'varchar',
        'type': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'archived': 'boolean',
        'primary_team_id': 'varchar',
        'teams': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        id as owner_id,
        email as owner_email,
        trim(concat(coalesce(first_name, ''), ' ', coalesce(last_name, ''))) as owner_name,
        user_id,
        type as owner_type,
        created_at,
        updated_at,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _loaded_at as loaded_at
    from source

)

select * from renamed
