-- Group memberships of each account's latest entitlement snapshot.
with source as (
    select * from src_aws_iam_group_memberships
),

latest as (
    select * from stg_aws__iam_snapshots
),

final as (
    select
        s.account_id,
        s.user_arn,
        s.group_arn,
        s.group_name
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
