-- CloudTrail events no IAM action could be derived for: counted so the mapping can be improved.
with events as (
    select * from stg_aws__cloudtrail_events
    where action_mapping = 'unmapped'
),

final as (
    select
        event_source,
        event_name,
        count(*) as events,
        min(event_time) as first_seen_at,
        max(event_time) as last_seen_at
    from events
    group by event_source, event_name
)

select * from final
