with

source as (

    {{ filled_source('salesforce', 'opportunitylineitem', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'OpportunityId': 'varchar',
        'PricebookEntryId': 'varchar',
        'Product2Id': 'varchar',
        'ProductCode': 'varchar',
        'Name': 'varchar',
        'Quantity': 'decimal(12,2)',
        'UnitPrice': 'decimal(18,2)',
        'ListPrice': 'decimal(18,2)',
        'TotalPrice': 'decimal(18,2)',
        'Discount': 'decimal(3,0)',
        'ServiceDate': 'date',
        'Description': 'varchar',
        'SortOrder': 'bigint',
        'CurrencyIsoCode': 'varchar',
        'Term_Months__c': 'decimal(4,0)',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }, required=['Id', 'OpportunityId', 'TotalPrice']) }}

),

renamed as (

    select
        Id as opportunity_line_item_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        OpportunityId as opportunity_id,
        PricebookEntryId as pricebook_entry_id,
        Product2Id as product2_id,
        ProductCode as product_code,
        Name as line_item_name,
        Quantity as quantity,
        UnitPrice as unit_price,
        ListPrice as list_price,
        TotalPrice as total_price,
        Discount as discount,
        ServiceDate as service_date,
        SortOrder as sort_order,
        CurrencyIsoCode as currency_code,
        cast({{ adapter.quote(var('term_months_field')) }} as integer) as term_months,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
