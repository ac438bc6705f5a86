-- Statements of every service control policy, latest snapshot; account_id is the management
-- account, policy_key the SCP's ARN.
with source as (
    select * from src_aws_organizations_policy_statements
),

latest as (
    select * from stg_aws__organizations_snapshots
),

final as (
    select
        s.account_id,
        s.policy_key,
        s.statement_index,
        s.sid,
        s.effect,
        s.actions,
        s.not_actions,
        s.resources,
        s.not_resources,
        s.condition
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
