-- The latest directory snapshot of each tenant, across its tables at once.
with snapshots as (
    select tenant_id, snapshot_at from src_azure_principals
    union all
    select tenant_id, snapshot_at from src_azure_group_members
    union all
    select tenant_id, snapshot_at from src_azure_provider_operations
),

final as (
    select tenant_id, max(snapshot_at) as snapshot_at
    from snapshots
    group by tenant_id
)

select * from final
