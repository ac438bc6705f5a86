-- The latest sign of use of each Azure principal that holds a role assignment: a successful
-- sign-in (any of the four sign-in logs), a successful Activity Log operation by it, a successful
-- directory change it made (audit log), or Graph's lastSuccessfulSignInDateTime. Failed sign-ins and failed operations are not use: a disabled
-- account, or someone spraying passwords at a forgotten one, does not make it active.
-- has_evidence is false when none of those sources could have seen it — no sign-in log exported
-- for the tenant in the window, no Activity Log record of any subscription in it, and no
-- signInActivity from Graph — so that it is never called inactive on no evidence.
with holders as (
    select distinct principal_id from int_azure_assignments__expanded
),

principals as (
    select p.*
    from stg_azure__principals as p
    inner join holders as h on h.principal_id = p.principal_id
    where p.principal_type in ('user', 'service_principal', 'managed_identity')
),

signins as (
    select principal_id, max(event_time) as last_at
    from stg_azure__signin_events
    where principal_id is not null and is_success and event_time < getvariable('now')
    group by principal_id
),

activity as (
    select principal_id, max(event_time) as last_at
    from stg_azure__activity_events
    where principal_id is not null and is_success and event_time < getvariable('now')
    group by principal_id
),

audits as (
    select initiated_by_id as principal_id, max(event_time) as last_at
    from stg_azure__audit_events
    where initiated_by_id is not null and is_success and event_time < getvariable('now')
    group by initiated_by_id
),

signin_tenants as (
    select distinct tenant_id
    from stg_azure__signin_events
    where event_time >= getvariable('window_start') and event_time < getvariable('now')
),

activity_seen as (
    select count(*) > 0 as any_activity
    from stg_azure__activity_events
    where event_time >= getvariable('window_start') and event_time < getvariable('now')
),

sources as (
    select p.tenant_id, p.principal_id, s.last_at, 'sign_in_log' as source from principals as p inner join signins as s on s.principal_id = p.principal_id
    union all
    select p.tenant_id, p.principal_id, a.last_at, 'activity_log' from principals as p inner join activity as a on a.principal_id = p.principal_id
    union all
    select p.tenant_id, p.principal_id, a.last_at, 'audit_log' from principals as p inner join audits as a on a.principal_id = p.principal_id
    union all
    select tenant_id, principal_id, last_successful_sign_in_at, 'graph_sign_in_activity'
    from principals
    where has_sign_in_activity and last_successful_sign_in_at is not null
),

latest as (
    select tenant_id, principal_id, max(last_at) as last_activity_at, arg_max(source, last_at) as last_activity_source
    from sources
    group by tenant_id, principal_id
),

final as (
    select
        p.tenant_id,
        p.principal_id,
        p.principal_type,
        coalesce(p.user_principal_name, p.display_name, p.principal_id) as identity_name,
        p.created_at,
        l.last_activity_at,
        l.last_activity_source,
        p.has_sign_in_activity
            or exists (select 1 from signin_tenants as t where t.tenant_id = p.tenant_id)
            or (select any_activity from activity_seen) as has_evidence
    from principals as p
    left join latest as l on l.tenant_id = p.tenant_id and l.principal_id = p.principal_id
)

select * from final
