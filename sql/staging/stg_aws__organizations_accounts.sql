-- The organization's ACTIVE accounts and their place in the OU tree, latest snapshot.
with source as (
    select * from src_aws_organizations_accounts
),

latest as (
    select * from stg_aws__organizations_snapshots
),

final as (
    select
        s.account_id as management_account_id,
        s.member_account_id,
        s.name,
        s.organization_id,
        s.ou_path,
        s.parent_ids,
        s.is_management_account
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
