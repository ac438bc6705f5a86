-- The latest entitlement snapshot of each account, over every IAM table at once: a table whose
-- latest snapshot is empty (the last group was deleted) must show nothing, not an older snapshot.
with snapshots as (
    select account_id, snapshot_at from src_aws_iam_users
    union all
    select account_id, snapshot_at from src_aws_iam_groups
    union all
    select account_id, snapshot_at from src_aws_iam_roles
    union all
    select account_id, snapshot_at from src_aws_iam_policies
    union all
    select account_id, snapshot_at from src_aws_iam_group_memberships
    union all
    select account_id, snapshot_at from src_aws_iam_policy_attachments
    union all
    select account_id, snapshot_at from src_aws_iam_policy_statements
    union all
    select account_id, snapshot_at from src_aws_iam_credential_report
),

final as (
    select account_id, max(snapshot_at) as snapshot_at
    from snapshots
    group by account_id
)

select * from final
