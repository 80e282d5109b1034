with

source as (

    {{ filled_source('salesforce', 'opportunity', {
        'Id': 'varchar',
        'IsDeleted': 'boolean',
        'CreatedDate': 'timestamp with time zone',
        'CreatedById': 'varchar',
        'LastModifiedDate': 'timestamp with time zone',
        'LastModifiedById': 'varchar',
        'SystemModstamp': 'timestamp with time zone',
        'AccountId': 'varchar',
        'Name': 'varchar',
        'StageName': 'varchar',
        'Amount': 'decimal(18,2)',
        'Probability': 'decimal(3,0)',
        'ExpectedRevenue': 'decimal(18,2)',
        'CloseDate': 'date',
        'IsClosed': 'boolean',
        'IsWon': 'boolean',
        'Type': 'varchar',
        'ForecastCategory': 'varchar',
        'ForecastCategoryName': 'varchar',
        'LeadSource': 'varchar',
        'NextStep': 'varchar',
        'OwnerId': 'varchar',
        'Pricebook2Id': 'varchar',
        'HasOpportunityLineItem': 'boolean',
        'CurrencyIsoCode': 'varchar',
        'FiscalYear': 'bigint',
        'FiscalQuarter': 'bigint',
        'LastStageChangeDate': 'timestamp with time zone',
        'MEDDIC_Metrics__c': 'varchar',
        'MEDDIC_Economic_Buyer__c': 'varchar',
        'MEDDIC_Decision_Criteria__c': 'varchar',
        'MEDDIC_Decision_Process__c': 'varchar',
        'MEDDIC_Identify_Pain__c': 'varchar',
        'MEDDIC_Champion__c': 'varchar',
        '_loaded_at': 'timestamp with time zone',
        '_is_deleted': 'boolean',
        '_deleted_at': 'timestamp with time zone'
    }, required=['Id', 'AccountId', 'CloseDate', 'IsWon']) }}

),

renamed as (

    select
        Id as opportunity_id,
        CreatedDate as created_at,
        CreatedById as created_by_id,
        LastModifiedDate as last_modified_at,
        LastModifiedById as last_modified_by_id,
        SystemModstamp as system_modstamp,
        AccountId as account_id,
        Name as opportunity_name,
        StageName as stage_name,
        Amount as amount,
        Probability as probability,
        ExpectedRevenue as expected_revenue,
        CloseDate as close_date,
        IsClosed as is_closed,
        IsWon as is_won,
        Type as opportunity_type,
        ForecastCategory as forecast_category,
        ForecastCategoryName as forecast_category_name,
        LeadSource as lead_source,
        OwnerId as owner_id,
        Pricebook2Id as pricebook2_id,
        HasOpportunityLineItem as has_opportunity_line_item,
        CurrencyIsoCode as currency_code,
        FiscalYear as fiscal_year,
        FiscalQuarter as fiscal_quarter,
        LastStageChangeDate as last_stage_change_at,
{%- for letter, field in var('meddic_fields').items() %}
        {{ adapter.quote(field) }} as meddic_{{ letter }},
{%- endfor %}
        coalesce(_is_deleted, false) as is_deleted,
        _deleted_at as deleted_at,
        _loaded_at as loaded_at
    from source

)

select * from renamed
