with

source as (

    {{ filled_source('salesforce', 'contact', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'AccountId': 'varchar',
        'FirstName': 'varchar',
        'LastName': 'varchar',
        'Name': 'varchar',
        'Title': 'varchar',
        'Department': 'varchar',
        'Email': 'varchar',
        'Phone': 'varchar',
        'LeadSource': 'varchar',
        'ReportsToId': 'varchar',
        'OwnerId': 'varchar',
        'MailingCountry': 'varchar',
        'HasOptedOutOfEmail': 'boolean',
        'LastActivityDate': 'date',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as contact_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        AccountId as account_id,
        Email as email,
        LeadSource as lead_source,
        ReportsToId as reports_to_id,
        OwnerId as owner_id,
        MailingCountry as mailing_country,
        HasOptedOutOfEmail as has_opted_out_of_email,
        LastActivityDate as last_activity_date,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
