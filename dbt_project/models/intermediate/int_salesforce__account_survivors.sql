-- Every Salesforce account id (deleted and merged-away ones included) -> the survivor of its MasterRecordId chain
-- (metrics_definitions.md §2.7 rule 2; GitLab's map_merged_crm_account).
with recursive

accounts as (

    select account_id, master_record_id from {{ ref('stg_salesforce__accounts') }}

),

chain as (

    select account_id, account_id as current_id, master_record_id as next_id, 0 as depth
    from accounts

    union all

    select chain.account_id, accounts.account_id, accounts.master_record_id, chain.depth + 1
    from chain
    inner join accounts on accounts.account_id = chain.next_id
    where chain.depth < 50  -- guards against a cyclic chain

),

ends as (

    select
        account_id,
        current_id as survivor_account_id,
        depth as merge_depth,
        row_number() over (partition by account_id order by depth desc) as rn
    from chain

)

select account_id, survivor_account_id, merge_depth
from ends
where rn = 1
