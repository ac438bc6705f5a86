-- Users and roles (and Azure principals holding a role) with no sign of activity in the look-back window, and users' passwords and
-- access keys unused in it. Service-linked roles are left out (AWS services use them, people
-- cannot remove them), and so is anything created inside the window: too young to judge.
with principals as (
    select * from int_principals__listed
    where not is_service_linked
),

activity as (
    select * from int_identities__activity
),

credentials as (
    select * from int_credentials__listed
),

identities as (
    select
        p.account_id,
        p.principal_arn,
        p.principal_type,
        'identity' as credential,
        p.identity_name,
        p.created_at,
        a.last_activity_at,
        a.last_activity_source
    from principals as p
    left join activity as a on a.account_id = p.account_id and a.principal_arn = p.principal_arn
),

unused_credentials as (
    select
        c.account_id,
        c.principal_arn,
        'iam_user' as principal_type,
        c.credential,
        p.identity_name,
        c.created_at,
        c.last_used_at as last_activity_at,
        case when c.last_used_at is not null then 'credential_report' end as last_activity_source
    from credentials as c
    inner join principals as p on p.account_id = c.account_id and p.principal_arn = c.principal_arn
),

final as (
    select
        'aws' as cloud,
        account_id,
        principal_arn,
        principal_type,
        credential,
        identity_name,
        created_at,
        last_activity_at,
        last_activity_source,
        date_diff('second', coalesce(last_activity_at, created_at), getvariable('now')) // 86400 as days_inactive,
        getvariable('lookback_days') as window_days
    from (select * from identities union all select * from unused_credentials)
    where (last_activity_at is null or last_activity_at < getvariable('window_start'))
        and (created_at is null or created_at < getvariable('window_start'))
),

-- Azure principals holding a role assignment with no sign-in or activity in the window, judged
-- only where a source could have seen them.
azure as (
    select
        'azure' as cloud,
        tenant_id as account_id,
        principal_id as principal_arn,
        principal_type,
        'identity' as credential,
        identity_name,
        created_at,
        last_activity_at,
        last_activity_source,
        date_diff('second', coalesce(last_activity_at, created_at), getvariable('now')) // 86400 as days_inactive,
        getvariable('lookback_days') as window_days
    from int_azure_principals__activity
    where has_evidence
        and (last_activity_at is null or last_activity_at < getvariable('window_start'))
        and (created_at is null or created_at < getvariable('window_start'))
)

select * from final
union all
select * from azure
