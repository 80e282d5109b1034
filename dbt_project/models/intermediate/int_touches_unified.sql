-- One row per live touch (activity) in either CRM, mapped to its unified account and pseudonymous person
-- (metrics_definitions.md §2.8):
--   Salesforce Task/Event: account by AccountId, else WhatId -> opportunity -> account (or WhatId = an account),
--   else WhoId -> contact -> account; person = WhoId's contact.
--   HubSpot calls/emails/meetings/notes/tasks: account by the engagement's company association, else its
--   contact's company; person = its associated contact (the lowest contact id when several).
-- Deleted Salesforce activities and archived/deleted HubSpot engagements are dropped. Salesforce Tasks that the
-- HubSpot-Salesforce connector mirrored from a HubSpot email or call (same person, same channel, timestamps within
-- var('mirror_match_seconds')) are dropped, so each mirrored activity counts once, as its HubSpot original; the
-- matching is one-to-one (a pair counts when each is the other's closest candidate), so a second, genuine
-- Salesforce email to the same person a minute later is kept.
-- The match runs against every HubSpot engagement, archived ones included: a copy of an engagement deleted at
-- its source is dropped with it. HubSpot serves no associations for archived engagements, so one without a
-- person matches a task of its channel at exactly the same instant whose subject contains its subject.
with

sf_tasks as (

    select * from {{ ref('stg_salesforce__tasks') }}

),

sf_events as (

    select * from {{ ref('stg_salesforce__events') }}

),

sf_opportunities as (

    select opportunity_id, account_id from {{ ref('stg_salesforce__opportunities') }}

),

hs_calls as (select * from {{ ref('stg_hubspot__calls') }}),
hs_emails as (select * from {{ ref('stg_hubspot__emails') }}),
hs_meetings as (select * from {{ ref('stg_hubspot__meetings') }}),
hs_notes as (select * from {{ ref('stg_hubspot__notes') }}),
hs_tasks as (select * from {{ ref('stg_hubspot__tasks') }}),

hs_engagement_companies as (

    select * from {{ ref('stg_hubspot__engagement_companies') }}
    where not is_deleted

),

hs_engagement_contacts as (

    select * from {{ ref('stg_hubspot__engagement_contacts') }}
    where not is_deleted

),

identity as (

    select * from {{ ref('int_account_identity') }}

),

persons as (

    select * from {{ ref('int_person_identity') }}

),

sf_person_accounts as (

    select contact_id, person_key, account_id from persons where source_system = 'salesforce'

),

hs_person_accounts as (

    select contact_id, person_key, account_id from persons where source_system = 'hubspot'

),

sf_activities as (

    select
        task_id as activity_id,
        'Task' as activity_object,
        case task_subtype when 'Email' then 'email' when 'Call' then 'call' else 'task' end as channel,
        subject,
        -- an open task has only its due date
        coalesce(completed_at, {{ utc_midnight('activity_date') }}) as occurred_at,
        account_id as source_account_id,
        what_id,
        who_id,
        is_deleted
    from sf_tasks

    union all

    select
        event_id as activity_id,
        'Event' as activity_object,
        'meeting' as channel,
        subject,
        coalesce(start_at, activity_at, {{ utc_midnight('activity_date') }}) as occurred_at,
        account_id as source_account_id,
        what_id,
        who_id,
        is_deleted
    from sf_events

),

sf_resolved as (

    select
        sf_activities.activity_id,
        sf_activities.activity_object,
        sf_activities.channel,
        sf_activities.subject,
        sf_activities.occurred_at,
        coalesce(
            by_account.account_id,
            by_opportunity.account_id,
            by_what_account.account_id,
            who.account_id
        ) as account_id,
        who.person_key,
        sf_activities.is_deleted
    from sf_activities
    left join identity as by_account
        on by_account.source_system = 'salesforce'
        and by_account.source_account_id = sf_activities.source_account_id
    left join sf_opportunities
        on sf_opportunities.opportunity_id = sf_activities.what_id
    left join identity as by_opportunity
        on by_opportunity.source_system = 'salesforce'
        and by_opportunity.source_account_id = sf_opportunities.account_id
    left join identity as by_what_account
        on by_what_account.source_system = 'salesforce'
        and by_what_account.source_account_id = sf_activities.what_id
    left join sf_person_accounts as who
        on who.contact_id = sf_activities.who_id

),

hs_activities as (

    select 'calls' as engagement_type, call_id as activity_id, 'call' as channel, call_title as subject,
        occurred_at, is_archived or is_deleted as is_deleted
    from hs_calls
    union all
    select 'emails', email_id, 'email', email_subject, occurred_at, is_archived or is_deleted from hs_emails
    union all
    select 'meetings', meeting_id, 'meeting', meeting_title, occurred_at, is_archived or is_deleted from hs_meetings
    union all
    select 'notes', note_id, 'note', cast(null as {{ dbt.type_string() }}), occurred_at, is_archived or is_deleted
    from hs_notes
    union all
    select 'tasks', task_id, 'task', task_subject, occurred_at, is_archived or is_deleted from hs_tasks

),

hs_company_account as (

    select
        hs_engagement_companies.engagement_type,
        hs_engagement_companies.engagement_id,
        min(identity.account_id) as account_id
    from hs_engagement_companies
    inner join identity
        on identity.source_system = 'hubspot'
        and identity.source_account_id = hs_engagement_companies.company_id
    group by 1, 2

),

hs_contact_person as (

    select engagement_type, engagement_id, person_key, account_id
    from (
        select
            hs_engagement_contacts.engagement_type,
            hs_engagement_contacts.engagement_id,
            hs_person_accounts.person_key,
            hs_person_accounts.account_id,
            row_number() over (
                partition by hs_engagement_contacts.engagement_type, hs_engagement_contacts.engagement_id
                order by hs_engagement_contacts.contact_id
            ) as rn
        from hs_engagement_contacts
        inner join hs_person_accounts
            on hs_person_accounts.contact_id = hs_engagement_contacts.contact_id
    ) as ranked
    where rn = 1

),

hs_resolved as (

    select
        hs_activities.engagement_type,
        hs_activities.activity_id,
        hs_activities.channel,
        hs_activities.subject,
        hs_activities.occurred_at,
        coalesce(hs_company_account.account_id, hs_contact_person.account_id) as account_id,
        hs_contact_person.person_key,
        hs_activities.is_deleted
    from hs_activities
    left join hs_company_account
        on hs_company_account.engagement_type = hs_activities.engagement_type
        and hs_company_account.engagement_id = hs_activities.activity_id
    left join hs_contact_person
        on hs_contact_person.engagement_type = hs_activities.engagement_type
        and hs_contact_person.engagement_id = hs_activities.activity_id

),

mirror_candidates as (

    -- Salesforce email/call tasks with a HubSpot twin of the same person and channel at (almost) the same time
    select
        sf_resolved.activity_id as sf_activity_id,
        hs_resolved.engagement_type,
        hs_resolved.activity_id as hs_activity_id,
        abs({{ dbt.datediff('hs_resolved.occurred_at', 'sf_resolved.occurred_at', 'second') }}) as seconds_apart
    from sf_resolved
    inner join hs_resolved
        on hs_resolved.person_key = sf_resolved.person_key
        and hs_resolved.channel = sf_resolved.channel
        and hs_resolved.occurred_at >= {{ dbt.dateadd('second', -1 * var('mirror_match_seconds'), 'sf_resolved.occurred_at') }}
        and hs_resolved.occurred_at <= {{ dbt.dateadd('second', var('mirror_match_seconds'), 'sf_resolved.occurred_at') }}
    where sf_resolved.activity_object = 'Task'
        and sf_resolved.channel in ('email', 'call')

    union all

    -- HubSpot returns no associations for archived engagements, so those (and any without a contact) match only
    -- a task of the same channel at exactly the same instant whose subject contains theirs
    select
        sf_resolved.activity_id as sf_activity_id,
        hs_resolved.engagement_type,
        hs_resolved.activity_id as hs_activity_id,
        0 as seconds_apart
    from sf_resolved
    inner join hs_resolved
        on hs_resolved.occurred_at = sf_resolved.occurred_at
        and hs_resolved.channel = sf_resolved.channel
    where sf_resolved.activity_object = 'Task'
        and sf_resolved.channel in ('email', 'call')
        and hs_resolved.person_key is null
        and (hs_resolved.subject is null or {{ dbt.position('hs_resolved.subject', 'sf_resolved.subject') }} > 0)

),

mirrored_sf_tasks as (

    -- one copy per original: a pair counts when each is the other's closest candidate
    select sf_activity_id as activity_id
    from (
        select
            sf_activity_id,
            row_number() over (
                partition by sf_activity_id order by seconds_apart, engagement_type, hs_activity_id
            ) as sf_rank,
            row_number() over (
                partition by engagement_type, hs_activity_id order by seconds_apart, sf_activity_id
            ) as hs_rank
        from mirror_candidates
    ) as ranked
    where sf_rank = 1 and hs_rank = 1

),

unioned as (

    select
        {{ dbt.concat(["'salesforce:'", 'sf_resolved.activity_object', "':'", 'sf_resolved.activity_id']) }} as touch_id,
        'salesforce' as source_system,
        sf_resolved.activity_id as source_activity_id,
        sf_resolved.channel,
        sf_resolved.occurred_at,
        sf_resolved.account_id,
        sf_resolved.person_key
    from sf_resolved
    left join mirrored_sf_tasks
        on mirrored_sf_tasks.activity_id = sf_resolved.activity_id
    where not sf_resolved.is_deleted
        and mirrored_sf_tasks.activity_id is null

    union all

    select
        {{ dbt.concat(["'hubspot:'", 'engagement_type', "':'", 'activity_id']) }} as touch_id,
        'hubspot' as source_system,
        activity_id as source_activity_id,
        channel,
        occurred_at,
        account_id,
        person_key
    from hs_resolved
    where not is_deleted

),

final as (

    select
        touch_id,
        source_system,
        source_activity_id,
        channel,
        occurred_at,
        {{ utc_date('occurred_at') }} as occurred_date,
        account_id,
        person_key
    from unioned

)

select * from final
