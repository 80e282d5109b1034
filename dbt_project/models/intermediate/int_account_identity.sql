-- One row per source account record (Salesforce account or HubSpot company) -> its unified account.
-- Rules in order (metrics_definitions.md §2.7): Salesforce merges resolve to their survivor; a HubSpot company
-- joins the Salesforce account named by `salesforceaccountid` (15/18-character ids), else the live Salesforce
-- account with the same normalised domain (ambiguous domains do not match); remaining HubSpot companies that
-- share a normalised domain are one account, kept by the earliest created company.
with

sf_accounts as (

    select
        accounts.account_id,
        accounts.website,
        accounts.is_deleted,
        survivors.survivor_account_id,
        survivors.merge_depth
    from {{ ref('stg_salesforce__accounts') }} as accounts
    inner join {{ ref('int_salesforce__account_survivors') }} as survivors
        on survivors.account_id = accounts.account_id

),

personal_domains as (

    select domain from {{ ref('personal_email_domains') }}

),

sf_domains as (

    select
        {{ normalise_domain('website') }} as domain,
        min(survivor_account_id) as survivor_account_id
    from sf_accounts
    where not is_deleted
        and {{ normalise_domain('website') }} <> ''
        and {{ normalise_domain('website') }} not in (select domain from personal_domains)
    group by 1
    having count(distinct survivor_account_id) = 1

),

sf_ids_15 as (

    -- the 15-character form is case-sensitive, so it identifies an 18-character id exactly
    select substr(account_id, 1, 15) as id_15, survivor_account_id
    from sf_accounts

),

companies as (

    select
        company_id,
        created_at,
        is_archived or is_deleted as is_deleted,
        nullif(trim(salesforce_account_id), '') as salesforce_account_id,
        {{ normalise_domain("coalesce(nullif(trim(domain), ''), website)") }} as domain
    from {{ ref('stg_hubspot__companies') }}

),

companies_linked as (

    select
        companies.*,
        coalesce(by_id.survivor_account_id, by_domain.survivor_account_id) as linked_sf_account_id,
        case
            when by_id.survivor_account_id is not null then 'salesforceaccountid'
            when by_domain.survivor_account_id is not null then 'domain'
        end as link_rule
    from companies
    left join sf_ids_15 as by_id
        on by_id.id_15 = substr(companies.salesforce_account_id, 1, 15)
    left join sf_domains as by_domain
        on by_domain.domain = companies.domain
        and companies.domain not in (select domain from personal_domains)

),

hubspot_only as (

    select
        *,
        first_value(company_id) over (
            partition by case when domain = '' then company_id else domain end
            order by is_deleted, created_at, cast(company_id as {{ dbt.type_bigint() }}), company_id
            rows between unbounded preceding and unbounded following
        ) as survivor_company_id
    from companies_linked
    where linked_sf_account_id is null

),

salesforce_records as (

    select
        'salesforce' as source_system,
        account_id as source_account_id,
        'salesforce' as survivor_system,
        survivor_account_id as survivor_id,
        case when merge_depth > 0 then 'merged' else 'salesforce' end as record_rule,
        account_id = survivor_account_id as is_survivor,
        is_deleted
    from sf_accounts

),

hubspot_linked_records as (

    select
        'hubspot' as source_system,
        company_id as source_account_id,
        'salesforce' as survivor_system,
        linked_sf_account_id as survivor_id,
        link_rule as record_rule,
        false as is_survivor,
        is_deleted
    from companies_linked
    where linked_sf_account_id is not null

),

hubspot_only_records as (

    select
        'hubspot' as source_system,
        company_id as source_account_id,
        'hubspot' as survivor_system,
        survivor_company_id as survivor_id,
        case when company_id = survivor_company_id then 'hubspot' else 'duplicate_domain' end as record_rule,
        company_id = survivor_company_id as is_survivor,
        is_deleted
    from hubspot_only

),

unioned as (

    select * from salesforce_records
    union all
    select * from hubspot_linked_records
    union all
    select * from hubspot_only_records

)

select
    {{ dbt.hash(dbt.concat(['survivor_system', "':'", 'survivor_id'])) }} as account_id,
    source_system,
    source_account_id,
    survivor_system,
    survivor_id,
    record_rule,
    is_survivor,
    is_deleted
from unioned
