-- The Azure rows of the permission-usage mart: per subscription, principal and operation granted or used in the
-- look-back window. Reads (*/read) and data actions are unknown — the Activity Log records
-- neither (FORMATS.md §4.3) — and so is everything unseen in a subscription whose Activity Log
-- recorded nothing in the window; unused is only claimed for writes, deletes and actions the log
-- would have shown.
with grants as (
    select * from int_azure_grants__resolved
),

used as (
    select * from int_azure_actions__used
),

universe as (
    select * from int_azure_actions__universe
),

high_risk as (
    select lower(action) as operation_lc, min(reason) as reason
    from azure_high_risk_actions
    group by 1
),

coverage as (
    select subscription_id, min(event_time) as evidence_start, max(event_time) as evidence_end
    from stg_azure__activity_events
    where event_time >= getvariable('window_start') and event_time < getvariable('now')
    group by subscription_id
),

joined as (
    select
        coalesce(g.subscription_id, u.subscription_id) as subscription_id,
        coalesce(g.principal_id, u.principal_id) as principal_id,
        coalesce(g.principal_type, u.principal_type) as principal_type,
        coalesce(g.operation_lc, u.operation_lc) as operation_lc,
        g.granted_by,
        g.granting_assignments,
        g.is_conditional,
        g.is_all_resources,
        g.principal_id is not null as is_granted,
        coalesce(u.uses, 0) as uses,
        coalesce(u.attempts, 0) as attempts,
        u.first_used_at,
        u.last_used_at
    from grants as g
    full outer join used as u
        on g.subscription_id = u.subscription_id and g.principal_id = u.principal_id and g.operation_lc = u.operation_lc
),

final as (
    select
        'azure' as cloud,
        j.subscription_id as account_id,
        j.principal_id as principal_arn,
        j.principal_type,
        x.operation as action,
        x.provider as service,
        case
            when x.operation_lc like 'microsoft.authorization/%' and not x.operation_lc like '%/read' then 'Permissions management'
            when x.operation_lc like '%/read' then 'Read'
            else 'Write'
        end as access_level,
        case
            when j.uses > 0 and j.is_granted then 'used'
            when j.uses > 0 then 'used_not_granted'
            when x.is_data_action or x.operation_lc like '%/read' or cov.subscription_id is null then 'unknown'
            else 'unused'
        end as status,
        j.uses,
        j.attempts,
        j.first_used_at,
        j.last_used_at,
        coalesce(j.granted_by, cast([] as varchar[])) as granted_by,
        coalesce(j.granting_assignments, cast([] as varchar[])) as granting_statements,
        coalesce(j.is_conditional, false) as is_conditional,
        case when j.is_all_resources then 'all' when j.is_granted then 'narrowed' end as resource_scope,
        (x.operation_lc like 'microsoft.authorization/%' and not x.operation_lc like '%/read') or hr.operation_lc is not null as is_high_risk,
        case when hr.operation_lc is not null then hr.reason
            when x.operation_lc like 'microsoft.authorization/%' and not x.operation_lc like '%/read' then 'permissions management' end as high_risk_reason,
        getvariable('window_start') as window_start,
        getvariable('now') as window_end,
        cov.evidence_start,
        cov.evidence_end
    from joined as j
    inner join universe as x on x.operation_lc = j.operation_lc
    left join coverage as cov on cov.subscription_id = j.subscription_id
    left join high_risk as hr on hr.operation_lc = j.operation_lc
    where j.is_granted or j.uses > 0
)

select * from final
