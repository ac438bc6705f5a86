-- Entra ID sign-ins from the lake, one row per record and partition (tenant_id, event date and
-- hour), kept between builds and updated per changed partition (see
-- rollup_aws_cloudtrail__events): a record delivered twice has the same content and time, so its
-- copies lie in one partition.
with source as (
    select * from src_azure_signin_events
),

final as (
    select
        tenant_id,
        date,
        hour,
        cast(date as timestamp) + to_hours(hour) as hour_start,
        sign_in_id,
        event_time,
        category,
        principal_id,
        principal_type,
        user_principal_name,
        app_id,
        is_success,
        is_interactive,
        _source_key,
        _source_line
    from source
    qualify row_number() over (partition by tenant_id, date, hour, sign_in_id order by _source_key, _source_line) = 1
)

select * from final
