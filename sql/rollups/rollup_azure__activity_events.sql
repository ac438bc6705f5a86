-- Activity Log records from the lake, one row per record and partition (subscription_id, event
-- date and hour), kept between builds and updated per changed partition (see
-- rollup_aws_cloudtrail__events): a record delivered twice has the same content and time, so its
-- copies lie in one partition.
with source as (
    select * from src_azure_activity_events
),

final as (
    select
        subscription_id,
        date,
        hour,
        cast(date as timestamp) + to_hours(hour) as hour_start,
        record_key,
        event_time,
        resource_id_lc,
        resource_group,
        resource_provider,
        operation_name,
        action,
        category,
        result_type,
        is_success,
        correlation_id,
        principal_id,
        principal_type,
        app_id,
        caller,
        role_assignment_id,
        _source_key,
        _source_line
    from source
    qualify row_number() over (partition by subscription_id, date, hour, record_key order by _source_key, _source_line) = 1
)

select * from final
