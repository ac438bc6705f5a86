-- The last sign of life of each principal before now, from every source that shows one:
-- CloudTrail (any call credited to it, failed or needing no permission included), the credential
-- report (password and access keys) and RoleLastUsed.
with events as (
    select principal_account_id as account_id, principal_arn, max(last_event_at) as activity_at,
        'cloudtrail' as source
    from rollup_aws_cloudtrail__events
    where principal_arn is not null
        and principal_type in ('iam_user', 'iam_role', 'root')
        and hour_start < getvariable('now')
    group by 1, 2
),

credentials as (
    select account_id, arn as principal_arn,
        greatest(password_last_used_at, access_key_1_last_used_at, access_key_2_last_used_at) as activity_at,
        'credential_report' as source
    from stg_aws__iam_credential_report
),

roles as (
    select account_id, arn as principal_arn, role_last_used_at as activity_at, 'role_last_used' as source
    from stg_aws__iam_roles
),

signals as (
    select * from events
    union all
    select * from credentials where activity_at is not null and activity_at < getvariable('now')
    union all
    select * from roles where activity_at is not null and activity_at < getvariable('now')
),

final as (
    select account_id, principal_arn,
        max(activity_at) as last_activity_at,
        arg_max(source, activity_at) as last_activity_source
    from signals
    group by account_id, principal_arn
)

select * from final
