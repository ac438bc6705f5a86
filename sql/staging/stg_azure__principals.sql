-- Entra ID principals, latest snapshot of each tenant.
with source as (
    select * from src_azure_principals
),

latest as (
    select * from stg_azure__tenant_snapshots
),

final as (
    select
        s.tenant_id,
        s.principal_id,
        s.principal_type,
        s.display_name,
        s.user_principal_name,
        s.app_id,
        s.is_enabled,
        s.created_at,
        s.last_sign_in_at,
        s.last_non_interactive_sign_in_at,
        s.last_successful_sign_in_at,
        s.has_sign_in_activity
    from source as s
    inner join latest as l on s.tenant_id = l.tenant_id and s.snapshot_at = l.snapshot_at
)

select * from final
