-- Role definitions usable in each subscription, latest snapshot.
with source as (
    select * from src_azure_role_definitions
),

latest as (
    select * from stg_azure__subscription_snapshots
),

final as (
    select
        s.subscription_id,
        s.role_definition_id,
        s.role_name,
        s.role_type,
        s.actions,
        s.not_actions,
        s.data_actions,
        s.not_data_actions,
        s.assignable_scopes
    from source as s
    inner join latest as l on s.subscription_id = l.subscription_id and s.snapshot_at = l.snapshot_at
)

select * from final
