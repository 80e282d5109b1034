with

source as (

    {{ filled_source('salesforce', 'contract', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'AccountId': 'varchar',
        'ContractNumber': 'varchar',
        'StartDate': 'date',
        'ContractTerm': 'bigint',
        'EndDate': 'date',
        'Status': 'varchar',
        'StatusCode': 'varchar',
        'OwnerId': 'varchar',
        'ActivatedDate': 'timestamp with time zone',
        'CustomerSignedDate': 'date',
        'CurrencyIsoCode': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as contract_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        AccountId as account_id,
        ContractNumber as contract_number,
        StartDate as start_date,
        ContractTerm as contract_term,
        EndDate as end_date,
        Status as status,
        StatusCode as status_code,
        OwnerId as owner_id,
        ActivatedDate as activated_at,
        CustomerSignedDate as customer_signed_date,
        CurrencyIsoCode as currency_code,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
