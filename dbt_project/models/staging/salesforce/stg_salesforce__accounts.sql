with

source as (

    {{ filled_source('salesforce', 'account', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'Name': 'varchar',
        'Type': 'varchar',
        'ParentId': 'varchar',
        'MasterRecordId': 'varchar',
        'Industry': 'varchar',
        'Website': 'varchar',
        'AnnualRevenue': 'decimal(18,0)',
        'NumberOfEmployees': 'bigint',
        'OwnerId': 'varchar',
        'BillingStreet': 'varchar',
        'BillingCity': 'varchar',
        'BillingState': 'varchar',
        'BillingPostalCode': 'varchar',
        'BillingCountry': 'varchar',
        'AccountSource': 'varchar',
        'CurrencyIsoCode': 'varchar',
        'Description': 'varchar',
        'LastActivityDate': 'date',
        'Health_Score__c': 'decimal(5,1)',
        'Customer_Tier__c': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as account_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        Name as account_name,
        Type as account_type,
        ParentId as parent_id,
        MasterRecordId as master_record_id,
        Industry as industry,
        Website as website,
        AnnualRevenue as annual_revenue,
        NumberOfEmployees as employee_count,
        OwnerId as owner_id,
        BillingCity as billing_city,
        BillingState as billing_state,
        BillingCountry as country,
        AccountSource as account_source,
        CurrencyIsoCode as currency_code,
        LastActivityDate as last_activity_date,
        Health_Score__c as health_score,
        Customer_Tier__c as customer_tier,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
