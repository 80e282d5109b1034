with

source as (

    {{ filled_source('hubspot', 'products', {
        'id': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'archived': 'boolean',
        'archived_at': 'timestamp with time zone',
        'hs_object_id': 'decimal(38,9)',
        'createdate': 'timestamp with time zone',
        'hs_lastmodifieddate': 'timestamp with time zone',
        'hubspot_owner_id': 'varchar',
        'name': 'varchar',
        'hs_sku': 'varchar',
        'price': 'decimal(38,9)',
        'description': 'varchar',
        'recurringbillingfrequency': 'varchar',
        'hs_product_type': 'varchar',
        'product_family': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        id as product_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        name as product_name,
        hs_sku as sku,
        price,
        recurringbillingfrequency as recurring_billing_frequency,
        hs_product_type as product_type,
        product_family,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
