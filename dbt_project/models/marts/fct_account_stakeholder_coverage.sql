-- One row per unified account, as of var('as_of_date') (metrics_definitions.md §2.8).
--   contacts_total: distinct people (person_key; a contact without an email counts on its own) among the live
--     Salesforce and HubSpot contacts of the account.
--   contacts_engaged_90d: distinct people touched in the var('engaged_days') days before the as-of date
--     ([as_of - engaged_days, as_of), the as-of instant being 00:00 UTC of the as-of date).
--   has_<role>: the canonical role is held at the account by anyone, from any live source assignment in
--     int_opportunity_roles: contact roles of all live Salesforce opportunities and labels of all live HubSpot deals
--     (open or closed, any age), and the hs_buying_role of the account's live HubSpot contacts. Buying roles are an
--     account-level fact here, so hs_buying_role (which has no opportunity) counts alike; roles_covered,
--     required_roles_covered and role_coverage_ratio (required present / var('required_buying_roles')) use the same
--     flags, so the ratio never disagrees with them.
--   is_single_threaded: at most one person engaged in the window (no engaged contact at all counts too); role
--     holders are reported separately (role_holder_contacts) because a role on a record is not an active thread.
--   meddic_completeness: average over the account's open Salesforce opportunities and those closed within
--     var('meddic_recent_days') of the as-of date of (non-blank MEDDIC fields / number of MEDDIC fields); null when
--     there is none.
{%- set roles = [
    ('Champion', 'has_champion'),
    ('Economic Buyer', 'has_economic_buyer'),
    ('Decision Maker', 'has_decision_maker'),
    ('Influencer', 'has_influencer'),
    ('Blocker', 'has_blocker'),
    ('Technical Buyer', 'has_technical_buyer'),
    ('User', 'has_user'),
    ('Other', 'has_other'),
] %}
{%- set required = var('required_buying_roles') %}
{%- set meddic_count = var('meddic_fields') | length %}
with

identity as (

    select * from {{ ref('int_account_identity') }}

),

persons as (

    select * from {{ ref('int_person_identity') }}
    where not is_deleted and account_id is not null

),

touches as (

    select * from {{ ref('int_touches_unified') }}
    where account_id is not null and person_key is not null

),

role_assignments as (

    select * from {{ ref('int_opportunity_roles') }}
    where account_id is not null and canonical_role is not null

),

opportunities as (

    select * from {{ ref('int_opportunities') }}
    where source = 'salesforce' and account_id is not null

),

accounts as (

    select distinct account_id from identity

),

contacts as (

    select
        account_id,
        count(distinct person_key)
            + sum(case when person_key is null then 1 else 0 end) as contacts_total
    from persons
    group by account_id

),

engaged as (

    -- engaged contacts are contacts: a person deleted since the touch, or now at another account, is not counted
    -- (otherwise engaged could exceed contacts_total and a coverage share pass 100%)
    select
        touches.account_id,
        count(distinct touches.person_key) as contacts_engaged_90d
    from touches
    inner join persons
        on persons.account_id = touches.account_id
        and persons.person_key = touches.person_key
    where touches.occurred_date >= cast({{ dbt.dateadd('day', -1 * var('engaged_days'), as_of_date()) }} as date)
        and touches.occurred_date < {{ as_of_date() }}
    group by touches.account_id

),

roles as (

    select
        account_id,
        {%- for role, column in roles %}
        max(case when canonical_role = '{{ role }}' then 1 else 0 end) as {{ column }},
        {%- endfor %}
        count(distinct person_key) as role_holder_contacts
    from role_assignments
    group by account_id

),

meddic as (

    select
        account_id,
        count(*) as meddic_opportunities,
        avg(cast(meddic_fields_filled as {{ type_double() }}) / {{ meddic_count }}) as meddic_completeness
    from opportunities
    where not is_closed
        or close_date >= cast({{ dbt.dateadd('day', -1 * var('meddic_recent_days'), as_of_date()) }} as date)
    group by account_id

),

joined as (

    select
        accounts.account_id,
        coalesce(contacts.contacts_total, 0) as contacts_total,
        coalesce(engaged.contacts_engaged_90d, 0) as contacts_engaged_90d,
        {%- for role, column in roles %}
        coalesce(roles.{{ column }}, 0) = 1 as {{ column }},
        {%- endfor %}
        {%- for role, column in roles %}
        coalesce(roles.{{ column }}, 0){{ ' +' if not loop.last }}
        {%- endfor %} as roles_covered,
        {%- for role, column in roles if role in required %}
        coalesce(roles.{{ column }}, 0){{ ' +' if not loop.last }}
        {%- else %}
        0
        {%- endfor %} as required_roles_covered,
        coalesce(roles.role_holder_contacts, 0) as role_holder_contacts,
        coalesce(meddic.meddic_opportunities, 0) as meddic_opportunities,
        meddic.meddic_completeness
    from accounts
    left join contacts
        on contacts.account_id = accounts.account_id
    left join engaged
        on engaged.account_id = accounts.account_id
    left join roles
        on roles.account_id = accounts.account_id
    left join meddic
        on meddic.account_id = accounts.account_id

),

final as (

    select
        cast(account_id as {{ dbt.type_string() }}) as account_id,
        cast({{ as_of_date() }} as date) as as_of_date,
        cast(contacts_total as {{ dbt.type_bigint() }}) as contacts_total,
        cast(contacts_engaged_90d as {{ dbt.type_bigint() }}) as contacts_engaged_90d,
        {%- for role, column in roles %}
        cast({{ column }} as {{ dbt.type_boolean() }}) as {{ column }},
        {%- endfor %}
        cast(roles_covered as {{ dbt.type_int() }}) as roles_covered,
        cast(required_roles_covered as {{ dbt.type_int() }}) as required_roles_covered,
        cast({{ required | length }} as {{ dbt.type_int() }}) as required_roles_total,
        {%- if required | length > 0 %}
        cast(required_roles_covered as {{ type_double() }}) / {{ required | length }} as role_coverage_ratio,
        {%- else %}
        cast(null as {{ type_double() }}) as role_coverage_ratio,
        {%- endif %}
        cast(role_holder_contacts as {{ dbt.type_bigint() }}) as role_holder_contacts,
        cast(contacts_engaged_90d <= 1 as {{ dbt.type_boolean() }}) as is_single_threaded,
        cast(meddic_opportunities as {{ dbt.type_bigint() }}) as meddic_opportunities,
        cast(meddic_completeness as {{ type_double() }}) as meddic_completeness
    from joined

)

select * from final
