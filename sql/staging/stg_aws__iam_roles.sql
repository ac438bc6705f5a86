-- IAM roles of each account's latest entitlement snapshot.
with source as (
    select * from src_aws_iam_roles
),

latest as (
    select * from stg_aws__iam_snapshots
),

final as (
    select
        s.account_id,
        s.arn,
        s.role_name,
        s.path,
        s.created_at,
        s.role_last_used_at,
        s.is_service_linked,
        s.is_sso,
        s.permissions_boundary_arn,
        s.assume_role_policy_document as trust_policy,
        s.snapshot_at
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
