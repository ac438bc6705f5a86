-- What each Azure principal did in the look-back window, per operation: a successful record
-- (Succeeded) is a use, a Failed one an attempt; the Start and end records of one operation share a
-- correlation ID and count once.
with events as (
    select * from stg_azure__activity_events
    where event_time >= getvariable('window_start') and event_time < getvariable('now')
        and principal_id is not null and action is not null
),

principals as (
    select * from stg_azure__principals
),

final as (
    select
        e.subscription_id,
        e.principal_id,
        coalesce(min(p.principal_type), case lower(min(e.principal_type))
            when 'user' then 'user' when 'serviceprincipal' then 'service_principal' else 'user' end) as principal_type,
        e.action as operation_lc,
        count(distinct coalesce(e.correlation_id, e.record_key)) filter (where e.is_success) as uses,
        count(distinct coalesce(e.correlation_id, e.record_key)) filter (where lower(e.result_type) = 'failed') as attempts,
        min(e.event_time) filter (where e.is_success) as first_used_at,
        max(e.event_time) filter (where e.is_success) as last_used_at
    from events as e
    left join principals as p on p.principal_id = e.principal_id
    group by e.subscription_id, e.principal_id, e.action
    having count(*) filter (where e.is_success or lower(e.result_type) = 'failed') > 0
)

select * from final
