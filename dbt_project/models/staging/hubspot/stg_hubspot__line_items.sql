with

source as (

    {{ filled_source('hubspot', 'line_items', {
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
        'hs_product_id': 'decimal(38,9)',
        'hs_sku': 'varchar',
        'quantity': 'decimal(38,9)',
        'price': 'decimal(38,9)',
        'amount': 'decimal(38,9)',
        'discount': 'decimal(38,9)',
        'hs_line_item_currency_code': 'varchar',
        'recurringbillingfrequency': 'varchar',
        'hs_recurring_billing_start_date': 'date',
        'hs_recurring_billing_end_date': 'date',
        'hs_term_in_months': 'decimal(38,9)',
        'hs_recurring_billing_period': 'varchar',
        'hs_recurring_billing_number_of_payments': 'decimal(38,9)',
        'hs_mrr': 'decimal(38,9)',
        'hs_arr': 'decimal(38,9)',
        'hs_tcv': 'decimal(38,9)',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }, required=['id', 'amount']) }}

),

renamed as (

    select
        id as line_item_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        name as line_item_name,
        cast(cast(hs_product_id as bigint) as varchar) as product_id,
        hs_sku as sku,
        quantity,
        price,
        amount,
        discount,
        hs_line_item_currency_code as currency_code,
        recurringbillingfrequency as recurring_billing_frequency,
        hs_recurring_billing_start_date as recurring_billing_start_date,
        hs_recurring_billing_end_date as recurring_billing_end_date,
        cast(hs_term_in_months as integer) as term_in_months,
        hs_recurring_billing_period as recurring_billing_period,
        cast(hs_recurring_billing_number_of_payments as integer) as recurring_billing_number_of_payments,
        hs_mrr as mrr,
        hs_arr as arr,
        hs_tcv as tcv,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
