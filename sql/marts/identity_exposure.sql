-- What each identity exposes beyond its grants, and how long the evidence behind its unused grants
-- is: names, last activity from every source, long-term credentials, who may assume it (roles),
-- whether it may assume roles itself, and how many distinct attack paths its unused high-risk
-- grants open. identity_priority ranks the organization's identities from these columns.
with scores as (
    select * from creep_scores
),

usage_grants as (
    select * from int_permission_usage__grants
),

high_risk as (
    select * from unused_high_risk
),

windows as (
    select * from evidence_windows
),

principals as (
    select * from int_principals__listed
),

activity as (
    select * from int_identities__activity
),

credentials as (
    select * from int_credentials__listed
),

report as (
    select * from stg_aws__iam_credential_report
),

trust as (
    select * from int_roles__trust
),

azure_principals as (
    select * from int_azure_principals__activity
),

azure_names as (
    select principal_id, display_name, user_principal_name from stg_azure__principals
),

paths as (
    select cloud, account_id, principal_arn, count(distinct high_risk_reason) as unused_attack_paths
    from high_risk
    group by all
),

-- sts:AssumeRole held in any form (used, unused or unknown): the identity can step into the roles
-- that trust it or its account.
assumers as (
    select distinct cloud, account_id, principal_arn
    from usage_grants
    where cloud = 'aws' and has_assume_role
),

keys as (
    select account_id, principal_arn,
        count(*) filter (where credential like 'access_key_%') as active_access_keys,
        count(*) filter (where credential like 'access_key_%'
            and (last_used_at is null or last_used_at < getvariable('window_start'))
            and (created_at is null or created_at < getvariable('window_start'))) as unused_access_keys,
        bool_or(credential = 'console_password') as has_console_password
    from credentials
    group by all
),

aws as (
    select
        s.cloud,
        s.account_id,
        s.principal_arn,
        s.principal_type,
        coalesce(p.identity_name, nullif(regexp_extract(s.principal_arn, '[^/:]+$'), ''), s.principal_arn) as display_name,
        cast(null as varchar) as user_principal_name,
        p.created_at,
        a.last_activity_at,
        a.last_activity_source,
        coalesce(k.active_access_keys, 0) as active_access_keys,
        coalesce(k.unused_access_keys, 0) as unused_access_keys,
        coalesce(k.has_console_password, false) as has_console_password,
        coalesce(k.has_console_password and not coalesce(r.is_mfa_active, false), false) as has_console_without_mfa,
        coalesce(t.trusted_accounts, []) as trusted_accounts,
        coalesce(t.trusted_principals, []) as trusted_principals,
        coalesce(t.trusted_federated, []) as trusted_federated,
        coalesce(t.trusted_services, []) as trusted_services,
        x.principal_arn is not null as can_assume_roles
    from scores as s
    left join principals as p on p.account_id = s.account_id and p.principal_arn = s.principal_arn
    left join activity as a on a.account_id = s.account_id and a.principal_arn = s.principal_arn
    left join keys as k on k.account_id = s.account_id and k.principal_arn = s.principal_arn
    left join report as r on r.account_id = s.account_id and r.arn = s.principal_arn
    left join trust as t on t.account_id = s.account_id and t.principal_arn = s.principal_arn
    left join assumers as x on x.account_id = s.account_id and x.principal_arn = s.principal_arn
    where s.cloud = 'aws'
),

azure as (
    select
        s.cloud,
        s.account_id,
        s.principal_arn,
        s.principal_type,
        coalesce(n.display_name, n.user_principal_name, s.principal_arn) as display_name,
        n.user_principal_name,
        a.created_at,
        a.last_activity_at,
        a.last_activity_source,
        0 as active_access_keys,
        0 as unused_access_keys,
        false as has_console_password,
        false as has_console_without_mfa,
        cast([] as varchar[]) as trusted_accounts,
        cast([] as varchar[]) as trusted_principals,
        cast([] as varchar[]) as trusted_federated,
        cast([] as varchar[]) as trusted_services,
        false as can_assume_roles
    from scores as s
    left join azure_principals as a on a.principal_id = s.principal_arn
    left join azure_names as n on n.principal_id = s.principal_arn
    where s.cloud = 'azure'
),

joined as (
    select * from aws
    union all
    select * from azure
),

-- evidence_days: how long its unused grants are known to have gone unused. The trail's evidence
-- in the account covers every identity; an identity with no activity since before that evidence
-- began was idle since its last activity (or, never active, since it was created) by IAM's own
-- records (RoleLastUsed, the credential report) or Entra's sign-ins. Capped at the window.
final as (
    select
        j.*,
        coalesce(ph.unused_attack_paths, 0) as unused_attack_paths,
        w.evidence_start,
        w.evidence_end,
        round(least(getvariable('lookback_days'), greatest(
            coalesce(date_diff('second', w.evidence_start, w.evidence_end) / 86400.0, 0),
            case when j.last_activity_at is null or j.last_activity_at < coalesce(w.evidence_start, getvariable('now'))
                then coalesce(date_diff('second', coalesce(j.last_activity_at, j.created_at), getvariable('now')) / 86400.0, 0)
                else 0 end
        )), 1) as evidence_days,
        getvariable('lookback_days') as window_days,
        -- the lists as text for BI clients that cannot read LIST columns ('; ' occurs in none:
        -- see the YAML)
        array_to_string(j.trusted_accounts, '; ') as trusted_accounts_text,
        array_to_string(j.trusted_principals, '; ') as trusted_principals_text,
        array_to_string(j.trusted_federated, '; ') as trusted_federated_text,
        array_to_string(j.trusted_services, '; ') as trusted_services_text
    from joined as j
    left join paths as ph on ph.cloud = j.cloud and ph.account_id = j.account_id and ph.principal_arn = j.principal_arn
    left join windows as w on w.cloud = j.cloud and w.account_id = j.account_id
)

select * from final
