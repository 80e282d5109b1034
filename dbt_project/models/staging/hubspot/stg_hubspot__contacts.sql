with

source as (

    {{ filled_source('hubspot', 'contacts', {
        'id': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'archived': 'boolean',
        'archived_at': 'timestamp with time zone',
        'hs_object_id': 'decimal(38,9)',
        'createdate': 'timestamp with time zone',
        'lastmodifieddate': 'timestamp with time zone',
        'hubspot_owner_id': 'varchar',
        'email': 'varchar',
        'firstname': 'varchar',
        'lastname': 'varchar',
        'jobtitle': 'varchar',
        'associatedcompanyid': 'decimal(38,9)',
        'lifecyclestage': 'varchar',
        'hs_buying_role': 'varchar[]',
        'salesforcecontactid': 'varchar',
        'country': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        id as contact_id,
        created_at,
        updated_at,
        archived_at,
        lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        email,
        cast(cast(associatedcompanyid as bigint) as varchar) as associated_company_id,
        lifecyclestage as lifecycle_stage,
        hs_buying_role as buying_roles,
        salesforcecontactid as salesforce_contact_id,
        country,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
