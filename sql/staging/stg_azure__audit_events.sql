-- Entra ID directory audit records, each once per tenant.
with source as (
    select * from rollup_azure__audit_events
),

final as (
    select
        tenant_id,
        audit_id,
        event_time,
        category,
        activity_display_name,
        operation_type,
        result,
        is_success,
        initiated_by_id,
        initiated_by_type,
        initiated_by_name
    from source
    qualify row_number() over (partition by tenant_id, audit_id order by _source_key, _source_line) = 1
)

select * from final
