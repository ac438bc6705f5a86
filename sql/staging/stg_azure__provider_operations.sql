-- The Azure permission catalog (Provider Operations Metadata), the latest snapshot of any tenant:
-- the catalog is the same everywhere, so one copy per operation is kept.
with source as (
    select s.*
    from src_azure_provider_operations as s
    inner join stg_azure__tenant_snapshots as l on s.tenant_id = l.tenant_id and s.snapshot_at = l.snapshot_at
),

final as (
    select
        operation,
        lower(operation) as operation_lc,
        provider,
        is_data_action
    from source
    qualify row_number() over (partition by lower(operation) order by tenant_id, operation) = 1
)

select * from final
