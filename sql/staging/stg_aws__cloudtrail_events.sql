-- CloudTrail events as delivered, one row per (event_id, recipient account): CloudTrail delivers
-- at least once, so a later copy of an event is dropped here even if it reached the lake twice.
with source as (
    select * from src_aws_cloudtrail_events
),

ranked as (
    select
        *,
        row_number() over (
            partition by event_id, recipient_account_id
            order by _source_key, _run_id
        ) as delivery_rank
    from source
),

final as (
    select
        account_id as trail_account_id,
        event_id,
        event_time,
        event_source,
        event_name,
        event_type,
        aws_region,
        error_code,
        is_success,
        recipient_account_id,
        shared_event_id,
        user_identity_type,
        principal_arn,
        principal_account_id,
        principal_type,
        session_name,
        source_identity,
        invoked_by,
        iam_actions,
        action_mapping,
        _source_key as source_key
    from ranked
    where delivery_rank = 1
)

select * from final
