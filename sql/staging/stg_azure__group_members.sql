-- Transitive group members, latest snapshot of each tenant.
with source as (
    select * from src_azure_group_members
),

latest as (
    select * from stg_azure__tenant_snapshots
),

final as (
    select s.tenant_id, s.group_id, s.member_id, s.member_type
    from source as s
    inner join latest as l on s.tenant_id = l.tenant_id and s.snapshot_at = l.snapshot_at
)

select * from final
