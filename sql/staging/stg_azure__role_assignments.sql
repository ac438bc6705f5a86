-- Role assignments visible from each subscription, latest snapshot.
with source as (
    select * from src_azure_role_assignments
),

latest as (
    select * from stg_azure__subscription_snapshots
),

final as (
    select
        s.subscription_id,
        s.role_assignment_id,
        s.scope,
        s.scope_lc,
        s.scope_level,
        s.role_definition_id,
        s.principal_id,
        s.principal_type,
        s.condition,
        s.created_at
    from source as s
    inner join latest as l on s.subscription_id = l.subscription_id and s.snapshot_at = l.snapshot_at
)

select * from final
