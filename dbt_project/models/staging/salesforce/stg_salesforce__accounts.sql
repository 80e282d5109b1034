with

source as (

    select * from {{ source('salesforce', 'account') }}

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
