-- Managed and inline policies attached to users, groups and roles, latest snapshot.
with source as (
    select * from src_aws_iam_policy_attachments
),

latest as (
    select * from stg_aws__iam_snapshots
),

final as (
    select
        s.account_id,
        s.principal_arn,
        s.principal_type,
        s.policy_type,
        s.policy_key,
        s.policy_arn,
        s.policy_name,
        case when s.policy_type = 'inline' then 'inline:' || s.policy_name else s.policy_name end as policy_label
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
