-- The latest organization snapshot of each management account, across the organization tables
-- at once: a table whose latest snapshot is empty (the last custom SCP was deleted) must show
-- nothing, not an older snapshot.
with snapshots as (
    select account_id, snapshot_at from src_aws_organizations_accounts
    union all
    select account_id, snapshot_at from src_aws_organizations_policies
    union all
    select account_id, snapshot_at from src_aws_organizations_policy_statements
),

final as (
    select account_id, max(snapshot_at) as snapshot_at
    from snapshots
    group by account_id
)

select * from final
