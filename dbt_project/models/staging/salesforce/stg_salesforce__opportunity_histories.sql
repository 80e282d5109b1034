with

source as (

    {{ filled_source('salesforce', 'opportunityhistory', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'OpportunityId': 'varchar',
        'StageName': 'varchar',
        'Amount': 'decimal(18,2)',
        'ExpectedRevenue': 'decimal(18,2)',
        'CloseDate': 'date',
        'Probability': 'decimal(3,0)',
        'ForecastCategory': 'varchar',
        'PrevAmount': 'decimal(18,2)',
        'PrevCloseDate': 'date',
        'CurrencyIsoCode': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }) }}

),

renamed as (

    select
        Id as opportunity_history_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        SystemModstamp as system_modstamp,
        OpportunityId as opportunity_id,
        StageName as stage_name,
        Amount as amount,
        ExpectedRevenue as expected_revenue,
        CloseDate as close_date,
        Probability as probability,
        ForecastCategory as forecast_category,
        PrevAmount as prev_amount,
        PrevCloseDate as prev_close_date,
        CurrencyIsoCode as currency_code,
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
