with

source as (

    {{ filled_source('hubspot', 'assoc_deals__line_items', {
        'from_id': 'varchar',
        'to_id': 'varchar',
        'type_id': 'bigint',
        'category': 'varchar',
        'label': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        from_id as deal_id,
        to_id as line_item_id,
        type_id as association_type_id,
        category as association_category,
        label as association_label,
        coalesce(_is_deleted, false) as is_deleted,
        _loaded_at as loaded_at
    from source

)

select * from renamed
