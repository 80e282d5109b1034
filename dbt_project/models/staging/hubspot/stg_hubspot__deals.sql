with

source as (

    {{ filled_source('hubspot', 'deals', {
        'id': 'varchar',
        'created_at': 'timestamp with time zone',
        'updated_at': 'timestamp with time zone',
        'archived': 'boolean',
        'archived_at': 'timestamp with time zone',
        'hs_object_id': 'decimal(38,9)',
        'createdate': 'timestamp with time zone',
        'hs_lastmodifieddate': 'timestamp with time zone',
        'hubspot_owner_id': 'varchar',
        'dealname': 'varchar',
        'amount': 'decimal(38,9)',
        'dealstage': 'varchar',
        'pipeline': 'varchar',
        'closedate': 'timestamp with time zone',
        'dealtype': 'varchar',
        'deal_currency_code': 'varchar',
        'amount_in_home_currency': 'decimal(38,9)',
        'hs_is_closed': 'boolean',
        'hs_is_closed_won': 'boolean',
        'hs_deal_stage_probability': 'decimal(38,9)',
        'hs_closed_amount': 'decimal(38,9)',
        'hs_mrr': 'decimal(38,9)',
        'hs_arr': 'decimal(38,9)',
        'hs_salesforceopportunityid': 'varchar',
        'closed_lost_reason': 'varchar',
        'closed_won_reason': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        id as deal_id,
        created_at,
        updated_at,
        archived_at,
        hs_lastmodifieddate as last_modified_at,
        hubspot_owner_id as owner_id,
        dealname as deal_name,
        amount,
        dealstage as deal_stage_id,
        pipeline as pipeline_id,
        {{ utc_date('closedate') }} as close_date,
        dealtype as deal_type,
        deal_currency_code as currency_code,
        amount_in_home_currency,
        hs_is_closed as is_closed,
        hs_is_closed_won as is_closed_won,
        hs_deal_stage_probability as deal_stage_probability,
        hs_closed_amount as closed_amount,
        hs_mrr as mrr,
        hs_arr as arr,
        hs_salesforceopportunityid as salesforce_opportunity_id,
        closed_lost_reason,
        closed_won_reason,
        archived as is_archived,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
