with

source as (

    -- present only in multi-currency orgs
    {{ filled_source('salesforce', 'datedconversionrate', {'Id': 'varchar', 'CreatedDate': 'timestamptz', 'CreatedById': 'varchar', 'LastModifiedDate': 'timestamptz', 'LastModifiedById': 'varchar', 'SystemModstamp': 'timestamptz', 'IsoCode': 'varchar', 'ConversionRate': 'decimal(18, 6)', 'StartDate': 'date', 'NextStartDate': 'date', '_is_deleted': 'boolean', '_deleted_at': 'timestamptz', '_loaded_at': 'timestamptz'}) }}

),

renamed as (

    select
        Id as dated_conversion_rate_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        IsoCode as currency_code,
        ConversionRate as conversion_rate,
        StartDate as start_date,
        NextStartDate as next_start_date,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
