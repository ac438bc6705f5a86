-- The AWS routes by which an identity holds its policies, one per managed policy, inline policy
-- or group, with the policy labels only that route grants: a label granted through two routes (a
-- policy attached directly and through a group) is removed by neither alone. Entitlement-side
-- only (attachments and statements, no activity), so the organization build caches it with the
-- grants, by grants fingerprint; remediation_actions joins it to what was used.
with attachments as (
    select * from int_principal_policies__resolved
),

denying as (
    select distinct account_id, policy_key from stg_aws__iam_policy_statements where effect = 'Deny'
),

routes as (
    select
        a.account_id, a.principal_arn, a.principal_type,
        case
            when a.attached_via <> 'direct' then 'remove_from_group'
            when a.policy_type = 'managed' then 'detach_managed_policy'
            else 'remove_inline_policy'
        end as step_kind,
        case when a.attached_via <> 'direct' then substr(a.attached_via, 7) else a.policy_key end as target,
        case when a.attached_via <> 'direct' then 'group ' || substr(a.attached_via, 7) else a.policy_label end as target_label,
        list_distinct(list(a.policy_label)) as labels,
        bool_or(d.policy_key is not null) as has_deny
    from attachments as a
    left join denying as d on d.account_id = a.account_id and d.policy_key = a.policy_key
    group by all
),

label_routes as (
    select account_id, principal_arn, label, count(*) as routes
    from (select account_id, principal_arn, unnest(labels) as label from routes)
    group by all
),

final as (
    select r.account_id, r.principal_arn, r.principal_type, r.step_kind, r.target, r.target_label,
        list_sort(coalesce(list(l.label) filter (where l.routes = 1), [])) as labels,
        r.has_deny
    from routes as r
    left join label_routes as l on l.account_id = r.account_id and l.principal_arn = r.principal_arn and list_contains(r.labels, l.label)
    group by all
)

select * from final
