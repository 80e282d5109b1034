with

source as (

    {{ filled_source('hubspot', 'companies', {
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
        'domain': 'varchar',
        'website': 'varchar',
        'industry': 'varchar',
        'annualrevenue': 'decimal(38,9)',
        'numberofemployees': 'decimal(38,9)',
        'lifecyclestage': 'varchar',
        'type': 'varchar',
        'country': 'varchar',
        'city': 'varchar',
        'salesforceaccountid': 'varchar',
        'hs_num_child_companies': 'decimal(38,9)',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        id as company_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        name as company_name,
        domain,
        website,
        industry,
        annualrevenue as annual_revenue,
        cast(numberofemployees as bigint) as employee_count,
        lifecyclestage as lifecycle_stage,
        type as company_type,
        country,
        city,
        salesforceaccountid as salesforce_account_id,
        cast(hs_num_child_companies as integer) as child_company_count,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
