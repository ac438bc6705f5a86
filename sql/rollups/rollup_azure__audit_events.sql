-- Entra ID directory audit records from the lake, one row per record and partition (tenant_id,
-- event date and hour), kept between builds and updated per changed partition (see
-- rollup_aws_cloudtrail__events): a record delivered twice has the same content and time, so its
-- copies lie in one partition.
with source as (
    select * from src_azure_audit_events
),

final as (
    select
        tenant_id,
        date,
        hour,
        cast(date as timestamp) + to_hours(hour) as hour_start,
        audit_id,
        event_time,
        category,
        activity_display_name,
        operation_type,
        result,
        is_success,
        initiated_by_id,
        initiated_by_type,
        initiated_by_name,
        _source_key,
        _source_line
    from source
    qualify row_number() over (partition by tenant_id, date, hour, audit_id order by _source_key, _source_line) = 1
)

select * from final
