-- The IAM actions CloudTrail events exercised, per partition (trail account, event date and hour)
-- and per principal, action and outcome, kept between builds (see rollup_aws_cloudtrail__events).
-- A cross-account call is recorded once in each account it touched under one shared_event_id, so
-- those calls keep their shared_event_id here and are counted once across partitions by the
-- models; every other event is counted where it lies.
with source as (
    select * from src_aws_cloudtrail_events
),

deduped as (
    select *
    from source
    qualify row_number() over (
        partition by account_id, date, hour, event_id, recipient_account_id
        order by _source_key, _run_id
    ) = 1
),

event_actions as (
    select account_id, date, hour, principal_account_id, principal_arn, principal_type, action_mapping,
        is_success, event_id, shared_event_id, event_time, unnest(iam_actions) as action
    from deduped
),

-- one row per event and action, whatever the case variants of the action's name
per_event as (
    select account_id, date, hour, principal_account_id, principal_arn, principal_type, action_mapping,
        is_success, event_id, shared_event_id, lower(action) as action_lc, min(action) as action,
        any_value(event_time) as event_time
    from event_actions
    group by all
),

final as (
    select
        account_id,
        date,
        hour,
        cast(date as timestamp) + to_hours(hour) as hour_start,
        principal_account_id,
        principal_arn,
        principal_type,
        action_lc,
        min(action) as action,
        action_mapping,
        is_success,
        shared_event_id,
        count(*) as calls,
        min(event_time) as first_event_at,
        max(event_time) as last_event_at
    from per_event
    group by account_id, date, hour, principal_account_id, principal_arn, principal_type, action_lc,
        action_mapping, is_success, shared_event_id
)

select * from final
