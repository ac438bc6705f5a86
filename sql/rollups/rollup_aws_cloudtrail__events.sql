-- CloudTrail events counted per partition (trail account, event date and hour) and per who, what
-- and outcome, kept between builds: the models read this instead of the events, and a build
-- aggregates only the partitions that changed since the last one. Every copy of an event lands in
-- one partition (its trail account's, at its event hour), where the lake's merge keeps one row per
-- event_id; the ranking below keeps staging's rule (one row per event_id and recipient account)
-- all the same.
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

final as (
    select
        account_id,
        date,
        hour,
        cast(date as timestamp) + to_hours(hour) as hour_start,
        principal_account_id,
        principal_arn,
        principal_type,
        event_source,
        event_name,
        action_mapping,
        is_success,
        count(*) as events,
        min(event_time) as first_event_at,
        max(event_time) as last_event_at
    from deduped
    group by all
)

select * from final
