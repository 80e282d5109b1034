with

source as (

    select * from {{ source('hubspot', 'assoc_deals__companies') }}

),

renamed as (

    select
        from_id as deal_id,
        to_id as company_id,
        type_id as association_type_id,
        category as association_category,
        label as association_label,
        coalesce(_is_deleted, false) as is_deleted,
        _loaded_at as loaded_at
    from source

)

select * from renamed
