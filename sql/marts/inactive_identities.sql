-- Users and roles with no sign of activity in the look-back window. Service-linked roles are left
-- out: AWS services use them, people cannot remove them.
with principals as (
    select * from int_principals__listed
    where not is_service_linked
),

activity as (
    select * from int_identities__activity
),

final as (
    select
        'aws' as cloud,
        p.account_id,
        p.principal_arn,
        p.principal_type,
        p.identity_name,
        p.created_at,
        a.last_activity_at,
        a.last_activity_source,
        date_diff('second', coalesce(a.last_activity_at, p.created_at), getvariable('now')) // 86400 as days_inactive,
        getvariable('lookback_days') as window_days
    from principals as p
    left join activity as a on a.account_id = p.account_id and a.principal_arn = p.principal_arn
    where a.last_activity_at is null or a.last_activity_at < getvariable('window_start')
)

select * from final
