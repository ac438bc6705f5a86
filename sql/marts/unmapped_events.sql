-- Calls no permission could be derived for, counted so the mapping can be improved: CloudTrail
-- (eventSource, eventName) pairs that map to no IAM action, and Azure Activity Log operations by a
-- principal that carry no RBAC action (no identity.authorization.action, and an operationName that
-- is not a write, delete or action).
with aws_events as (
    select * from rollup_aws_cloudtrail__events
    where action_mapping = 'unmapped'
),

azure_events as (
    select * from stg_azure__activity_events
    where action is null and principal_id is not null
),

final as (
    select
        'aws' as cloud,
        event_source,
        event_name,
        cast(sum(events) as bigint) as events,
        min(first_event_at) as first_seen_at,
        max(last_event_at) as last_seen_at
    from aws_events
    group by event_source, event_name
    union all
    select
        'azure',
        coalesce(resource_provider, 'unknown'),
        operation_name,
        count(*),
        min(event_time),
        max(event_time)
    from azure_events
    group by coalesce(resource_provider, 'unknown'), operation_name
)

select * from final
