with

source as (

    select * from {{ source('hubspot', 'owners') }}

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
