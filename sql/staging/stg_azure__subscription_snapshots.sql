-- The latest RBAC snapshot of each subscription, across its tables at once: a table whose latest
-- snapshot is empty (the last custom role was deleted) must show nothing, not an older snapshot.
with snapshots as (
    select subscription_id, snapshot_at from src_azure_role_definitions
    union all
    select subscription_id, snapshot_at from src_azure_role_assignments
),

final as (
    select subscription_id, max(snapshot_at) as snapshot_at
    from snapshots
    group by subscription_id
)

select * from final
