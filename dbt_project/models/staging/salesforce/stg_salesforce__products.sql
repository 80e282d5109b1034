with

source as (

    {{ filled_source('salesforce', 'product2', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'Name': 'varchar',
        'ProductCode': 'varchar',
        'Family': 'varchar',
        'IsActive': 'boolean',
        'Description': 'varchar',
        'QuantityUnitOfMeasure': 'varchar',
        'CurrencyIsoCode': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as product_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        Name as product_name,
        ProductCode as product_code,
        Family as product_family,
        IsActive as is_active,
        QuantityUnitOfMeasure as quantity_unit_of_measure,
        CurrencyIsoCode as currency_code,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
