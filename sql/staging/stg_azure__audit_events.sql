-- Entra ID directory audit records, each once per tenant.
with source as (
    select * from rollup_azure__audit_events
),

final as (
    select * exclude (date, hour, hour_start, _source_key, _source_line)
    from source
    qualify row_number() over (partition by tenant_id, audit_id order by _source_key, _source_line) = 1
)

select * from final
