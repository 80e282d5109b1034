with

source as (

    select * from {{ source('salesforce', 'opportunityhistory') }}

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
