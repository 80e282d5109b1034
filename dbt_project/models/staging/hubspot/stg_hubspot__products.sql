with

source as (

    select * from {{ source('hubspot', 'products') }}

),

renamed as (

    select
        id as product_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        name as product_name,
        hs_sku as sku,
        price,
        recurringbillingfrequency as recurring_billing_frequency,
        hs_product_type as product_type,
        product_family,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
