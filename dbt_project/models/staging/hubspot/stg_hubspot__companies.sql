with

source as (

    select * from {{ source('hubspot', 'companies') }}

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
