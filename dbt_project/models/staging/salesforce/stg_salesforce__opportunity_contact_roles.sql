with

source as (

    {{ filled_source('salesforce', 'opportunitycontactrole', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'OpportunityId': 'varchar',
        'ContactId': 'varchar',
        'Role': 'varchar',
        'IsPrimary': 'boolean',
        'CurrencyIsoCode': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as opportunity_contact_role_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        OpportunityId as opportunity_id,
        ContactId as contact_id,
        Role as role,
        IsPrimary as is_primary,
        CurrencyIsoCode as currency_code,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
