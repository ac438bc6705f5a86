-- What each principal did in the look-back window, per action: successful calls are uses, failed
-- ones attempts. Only calls credited to a user, role or root and mapped to an action count; the
-- copies of one cross-account call (same shared_event_id) are one call.
with events as (
    select * from stg_aws__cloudtrail_events
),

in_window as (
    select *
    from events
    where event_time >= getvariable('window_start')
        and event_time < getvariable('now')
        and principal_type in ('iam_user', 'iam_role', 'root')
        and principal_arn is not null
        and action_mapping in ('default', 'exception')
),

calls as (
    select principal_account_id as account_id, principal_arn, principal_type, is_success, event_time,
        coalesce(shared_event_id, event_id) as call_id, unnest(iam_actions) as action
    from in_window
),

final as (
    select
        account_id,
        principal_arn,
        principal_type,
        lower(action) as action_lc,
        count(distinct call_id) filter (where is_success) as uses,
        count(distinct call_id) filter (where not is_success) as attempts,
        min(event_time) filter (where is_success) as first_used_at,
        max(event_time) filter (where is_success) as last_used_at
    from calls
    group by account_id, principal_arn, principal_type, lower(action)
)

select * from final
