-- What each principal did in the look-back window, per action: successful calls are uses, failed
-- ones attempts. Only calls credited to a user, role or root and mapped to an action count; the
-- copies of one cross-account call (same shared_event_id) are one call. Read from the rollup,
-- whose rows are whole hours: the window's ends are hours too (the runner aligns now).
with actions as (
    select * from rollup_aws_cloudtrail__actions
),

in_window as (
    select *
    from actions
    where hour_start >= getvariable('window_start')
        and hour_start < getvariable('now')
        and principal_type in ('iam_user', 'iam_role', 'root')
        and principal_arn is not null
        and action_mapping in ('default', 'exception')
),

final as (
    select
        principal_account_id as account_id,
        principal_arn,
        principal_type,
        action_lc,
        cast(coalesce(sum(calls) filter (where is_success and shared_event_id is null), 0) as bigint)
            + count(distinct shared_event_id) filter (where is_success) as uses,
        cast(coalesce(sum(calls) filter (where not is_success and shared_event_id is null), 0) as bigint)
            + count(distinct shared_event_id) filter (where not is_success) as attempts,
        min(first_event_at) filter (where is_success) as first_used_at,
        max(last_event_at) filter (where is_success) as last_used_at
    from in_window
    group by principal_account_id, principal_arn, principal_type, action_lc
)

select * from final
