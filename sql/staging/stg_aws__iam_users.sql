-- IAM users of each account's latest entitlement snapshot.
with source as (
    select * from src_aws_iam_users
),

latest as (
    select * from stg_aws__iam_snapshots
),

final as (
    select
        s.account_id,
        s.arn,
        s.user_name,
        s.path,
        s.created_at,
        s.permissions_boundary_arn,
        s.snapshot_at
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
