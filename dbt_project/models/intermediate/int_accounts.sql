-- One row per unified account with its attributes: the Salesforce survivor's fields, filled from the linked
-- HubSpot company where Salesforce is blank; HubSpot-only accounts take the surviving company's fields.
with recursive

identity as (

    select * from {{ ref('int_account_identity') }}

),

sf_accounts as (

    select * from {{ ref('stg_salesforce__accounts') }}

),

sf_users as (

    select user_id, user_name from {{ ref('stg_salesforce__users') }}

),

companies as (

    select * from {{ ref('stg_hubspot__companies') }}

),

owners as (

    select owner_id, owner_name from {{ ref('stg_hubspot__owners') }}

),

revenue_systems as (

    select * from {{ ref('int_account_revenue_systems') }}

),

survivors as (

    select distinct account_id, survivor_system, survivor_id
    from identity

),

linked_companies as (

    -- the company that represents the account in HubSpot: linked by id before domain, then the oldest live one
    select
        identity.account_id,
        identity.source_account_id as company_id,
        row_number() over (
            partition by identity.account_id
            order by
                identity.is_deleted,
                case identity.record_rule when 'salesforceaccountid' then 0 when 'hubspot' then 0 else 1 end,
                companies.created_at,
                identity.source_account_id
        ) as preference
    from identity
    inner join companies on companies.company_id = identity.source_account_id
    where identity.source_system = 'hubspot'

),

match_rules as (

    select
        account_id,
        case
            when max(case when record_rule = 'salesforceaccountid' then 1 else 0 end) = 1 then 'salesforceaccountid'
            when max(case when record_rule = 'domain' then 1 else 0 end) = 1 then 'domain'
            when max(case when source_system = 'salesforce' then 1 else 0 end) = 1 then 'salesforce_only'
            else 'hubspot_only'
        end as match_rule
    from identity
    group by account_id

),

parents as (

    -- Salesforce ParentId resolved to the parent's unified account (merged parents to their survivor)
    select
        survivors.account_id,
        parent_identity.account_id as parent_account_id
    from survivors
    inner join sf_accounts on sf_accounts.account_id = survivors.survivor_id
    inner join identity as parent_identity
        on parent_identity.source_system = 'salesforce' and parent_identity.source_account_id = sf_accounts.parent_id
    where survivors.survivor_system = 'salesforce'
        and parent_identity.account_id <> survivors.account_id

),

ancestry as (

    select account_id, parent_account_id as ancestor_id, 1 as depth
    from parents

    union all

    select ancestry.account_id, parents.parent_account_id, ancestry.depth + 1
    from ancestry
    inner join parents on parents.account_id = ancestry.ancestor_id
    where ancestry.depth < 20  -- guards against a cyclic hierarchy

),

ultimate_parents as (

    select account_id, ancestor_id as ultimate_parent_account_id
    from (
        select *, row_number() over (partition by account_id order by depth desc) as rn
        from ancestry
    ) as ranked
    where rn = 1

),

final as (

    select
        survivors.account_id,
        coalesce(sf_accounts.account_name, companies.company_name) as account_name,
        nullif(coalesce(
            nullif({{ normalise_domain('sf_accounts.website') }}, ''),
            {{ normalise_domain("coalesce(nullif(trim(companies.domain), ''), companies.website)") }}
        ), '') as domain,
        sf_accounts.account_id as salesforce_account_id,
        linked_companies.company_id as hubspot_company_id,
        match_rules.match_rule,
        revenue_systems.revenue_system,
        coalesce(sf_accounts.industry, companies.industry) as industry,
        cast(coalesce(sf_accounts.employee_count, companies.employee_count) as {{ dbt.type_bigint() }})
            as employee_count,
        cast(coalesce(sf_accounts.annual_revenue, companies.annual_revenue) as decimal(18, 2)) as annual_revenue,
        coalesce(sf_accounts.country, companies.country) as country,
        coalesce(sf_users.user_name, owners.owner_name) as owner_name,
        parents.parent_account_id,
        coalesce(ultimate_parents.ultimate_parent_account_id, survivors.account_id) as ultimate_parent_account_id,
        coalesce(sf_accounts.is_deleted, companies.is_archived or companies.is_deleted, false) as is_deleted
    from survivors
    left join sf_accounts
        on survivors.survivor_system = 'salesforce' and sf_accounts.account_id = survivors.survivor_id
    left join linked_companies
        on linked_companies.account_id = survivors.account_id and linked_companies.preference = 1
    left join companies
        on companies.company_id = linked_companies.company_id
    left join sf_users on sf_users.user_id = sf_accounts.owner_id
    left join owners on owners.owner_id = companies.owner_id
    left join match_rules on match_rules.account_id = survivors.account_id
    left join revenue_systems on revenue_systems.account_id = survivors.account_id
    left join parents on parents.account_id = survivors.account_id
    left join ultimate_parents on ultimate_parents.account_id = survivors.account_id

)

select * from final
