-- The one system whose deals count as revenue for each account (metrics_definitions.md §2.7): the only CRM it
-- lives in, or var('revenue_system_of_record') when it lives in both, so shared accounts are never counted twice.
with

identity as (

    select * from {{ ref('int_account_identity') }}

),

presence as (

    select
        account_id,
        max(case when source_system = 'salesforce' then 1 else 0 end) = 1 as in_salesforce,
        max(case when source_system = 'hubspot' then 1 else 0 end) = 1 as in_hubspot
    from identity
    group by account_id

)

select
    account_id,
    in_salesforce,
    in_hubspot,
    case
        when in_salesforce and in_hubspot then '{{ var("revenue_system_of_record") }}'
        when in_salesforce then 'salesforce'
        else 'hubspot'
    end as revenue_system
from presence
