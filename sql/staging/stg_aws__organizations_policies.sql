-- Service control policies and their targets, latest snapshot.
with source as (
    select * from src_aws_organizations_policies
),

latest as (
    select * from stg_aws__organizations_snapshots
),

final as (
    select
        s.account_id as management_account_id,
        s.arn,
        s.policy_id,
        s.policy_name,
        s.is_aws_managed,
        s.target_ids
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
