-- The rows of remediation_actions, without their account's evidence window: the window moves every
-- hour, the steps only when what was used does, and the organization build leaves an account's
-- stored object as it is while its rows are the same.
-- Concrete steps that take an identity towards least privilege, each with what it removes. A grant
-- is removed by a step when every policy (or statement, or Azure assignment) that grants it goes
-- with the step; a step is offered only when it removes no grant the identity used, so applying
-- it cannot break what the trail saw. Steps:
--   detach_managed_policy, remove_inline_policy, remove_from_group: an attachment none of whose
--     grants was used (policies with a Deny statement are never offered: detaching them widens);
--   remove_inline_statement: a statement of a used inline policy, none of whose grants was used;
--   replace_with_least_privilege: every policy replaced by least_privilege_policies' documents;
--   deactivate_access_key, remove_console_password: long-term credentials unused in the window;
--   delete_inactive_identity: a user or role with no activity in the window (inactive_identities);
--   remove_role_assignment, remove_from_group, replace_with_custom_role: the same for Azure.
with usage_grants as (
    select * from int_permission_usage__grants
),

aws_route_rows as (
    select * from int_remediation__routes
),

least_privilege as (
    select * from least_privilege_policies
),

credentials as (
    select * from int_credentials__listed
),

inactive as (
    select * from inactive_identities
),

-- The grants, counted by the policies and statements behind them (idle and active rows together).
grants as (
    select
        cloud, account_id, principal_arn, principal_type, granted_by, granting_statements,
        sum(used) as used,
        sum(unused) as unused,
        sum(unknown) as unknown,
        sum(unused_high_risk) as unused_high_risk,
        bool_or(is_conditional) as is_conditional
    from usage_grants
    group by all
),

-- AWS routes (managed policy, inline policy, group) with the labels each alone grants.
aws_routes as (
    select account_id, principal_arn, principal_type, step_kind, target, target_label, 'label' as key_kind,
        labels as keys, has_deny
    from aws_route_rows
),

-- Statements of inline policies, offered one by one where the policy as a whole was used. A
-- statement string is '<label>#<index>[ (<Sid>)]'.
inline_statements as (
    select distinct account_id, principal_arn, principal_type, unnest(granting_statements) as statement
    from grants
    where cloud = 'aws'
),

-- Azure: one route per direct assignment, as permission_usage names it ('<role> at <scope> [<id>]'),
-- and one per group the principal holds assignments through ('… (group:<id>) [<id>]').
azure_assignments as (
    select distinct account_id, principal_arn, principal_type, unnest(granting_statements) as assignment
    from grants
    where cloud = 'azure'
),

azure_routes as (
    select account_id, principal_arn, principal_type,
        case when group_id <> '' then 'remove_from_group' else 'remove_role_assignment' end as step_kind,
        case when group_id <> '' then group_id else coalesce(nullif(regexp_extract(min(assignment), '\[([^\]]+)\]$', 1), ''), min(assignment)) end as target,
        case when group_id <> '' then 'group ' || group_id else min(assignment) end as target_label,
        'statement' as key_kind,
        list(assignment) as keys,
        false as has_deny
    from (
        select *, regexp_extract(assignment, '\(group:([^)]+)\)', 1) as group_id,
            case when regexp_extract(assignment, '\(group:([^)]+)\)', 1) <> '' then '' else assignment end as direct_key
        from azure_assignments
    )
    group by account_id, principal_arn, principal_type, group_id, direct_key
),

routes as (
    select 'aws' as cloud, * from aws_routes
    union all
    select 'aws', s.account_id, s.principal_arn, s.principal_type, 'remove_inline_statement', s.statement, s.statement, 'statement', [s.statement], false
    from inline_statements as s
    inner join aws_routes as p on p.account_id = s.account_id and p.principal_arn = s.principal_arn
        and p.step_kind = 'remove_inline_policy' and starts_with(s.statement, p.target_label || '#')
    union all
    select 'azure', * from azure_routes
),

-- What each route removes: the grants whose labels (or statements) all go with it. An inner join
-- with the list test as a filter, then every route again: a left join whose condition is more than
-- equalities runs as a nested loop over every route and grant of the batch (7 s against 0.2 s for
-- 1,000 accounts).
matched as (
    select
        r.cloud, r.account_id, r.principal_arn, r.principal_type, r.step_kind, r.target, r.target_label, r.has_deny,
        sum(g.used) as removes_used,
        sum(g.unused) as removes_unused,
        sum(g.unknown) as removes_unknown,
        sum(g.unused_high_risk) as removes_high_risk,
        bool_or(g.is_conditional) as is_conditional
    from routes as r
    inner join grants as g on g.cloud = r.cloud and g.account_id = r.account_id and g.principal_arn = r.principal_arn
    where len(r.keys) > 0
        and case when r.key_kind = 'label' then list_has_all(r.keys, g.granted_by) else list_has_all(r.keys, g.granting_statements) end
    group by all
),

removals as (
    select
        r.cloud, r.account_id, r.principal_arn, r.principal_type, r.step_kind, r.target, r.target_label, r.has_deny,
        coalesce(m.removes_used, 0) as removes_used,
        coalesce(m.removes_unused, 0) as removes_unused,
        coalesce(m.removes_unknown, 0) as removes_unknown,
        coalesce(m.removes_high_risk, 0) as removes_high_risk,
        coalesce(m.is_conditional, false) as is_conditional
    from (select distinct cloud, account_id, principal_arn, principal_type, step_kind, target, target_label, has_deny from routes) as r
    left join matched as m on m.cloud = r.cloud and m.account_id = r.account_id and m.principal_arn = r.principal_arn
        and m.principal_type is not distinct from r.principal_type and m.step_kind = r.step_kind
        and m.target is not distinct from r.target and m.target_label is not distinct from r.target_label
        and m.has_deny = r.has_deny
),

-- An inline statement is offered only where its policy cannot go whole (the policy was used).
whole_policies as (
    select account_id, principal_arn, target_label from removals
    where step_kind = 'remove_inline_policy' and removes_used = 0
),

safe_removals as (
    select *, cast(null as integer[]) as least_privilege_policy_numbers, cast(null as timestamp) as last_used_at
    from removals as r
    where removes_used = 0 and not has_deny and removes_unused + removes_unknown > 0
        and not (step_kind = 'remove_inline_statement' and exists (
            select 1 from whole_policies as w
            where w.account_id = r.account_id and w.principal_arn = r.principal_arn and starts_with(r.target, w.target_label || '#')))
),

-- Replacing everything by the least-privilege documents: for identities that used something and
-- hold unused grants (every grant not used goes).
totals as (
    select cloud, account_id, principal_arn, principal_type,
        sum(used) as used, sum(unused) as unused, sum(unknown) as unknown, sum(unused_high_risk) as unused_high_risk,
        bool_or(is_conditional) as is_conditional
    from grants
    group by all
),

least_privilege_numbers as (
    select cloud, account_id, principal_arn, list_sort(list(policy_number)) as numbers
    from least_privilege
    group by all
),

replacements as (
    select
        t.cloud, t.account_id, t.principal_arn, t.principal_type,
        case when t.cloud = 'azure' then 'replace_with_custom_role' else 'replace_with_least_privilege' end as step_kind,
        'least_privilege_policies' as target,
        case when t.cloud = 'azure' then 'custom role ''permlake least privilege ' || t.principal_arn || ''''
            else 'permlake least-privilege policies ' || array_to_string(l.numbers, ', ') end as target_label,
        false as has_deny,
        0 as removes_used, t.unused as removes_unused, t.unknown as removes_unknown, t.unused_high_risk as removes_high_risk,
        t.is_conditional,
        l.numbers as least_privilege_policy_numbers,
        cast(null as timestamp) as last_used_at
    from totals as t
    inner join least_privilege_numbers as l on l.cloud = t.cloud and l.account_id = t.account_id and l.principal_arn = t.principal_arn
    where t.used > 0 and t.unused + t.unknown > 0
),

credential_steps as (
    select
        'aws' as cloud, c.account_id, c.principal_arn, 'iam_user' as principal_type,
        case when c.credential = 'console_password' then 'remove_console_password' else 'deactivate_access_key' end as step_kind,
        c.credential as target,
        case when c.credential = 'console_password' then 'console password' else replace(c.credential, '_', ' ') end as target_label,
        false as has_deny, 0 as removes_used, 0 as removes_unused, 0 as removes_unknown, 0 as removes_high_risk, false as is_conditional,
        cast(null as integer[]) as least_privilege_policy_numbers,
        c.last_used_at
    from credentials as c
    where (c.last_used_at is null or c.last_used_at < getvariable('window_start'))
        and (c.created_at is null or c.created_at < getvariable('window_start'))
),

deletions as (
    select
        i.cloud, i.account_id, i.principal_arn, i.principal_type, 'delete_inactive_identity' as step_kind,
        i.principal_arn as target, i.identity_name as target_label, false as has_deny,
        coalesce(t.used, 0) as removes_used, coalesce(t.unused, 0) as removes_unused, coalesce(t.unknown, 0) as removes_unknown,
        coalesce(t.unused_high_risk, 0) as removes_high_risk, coalesce(t.is_conditional, false) as is_conditional,
        cast(null as integer[]) as least_privilege_policy_numbers,
        i.last_activity_at as last_used_at
    from inactive as i
    left join totals as t on t.cloud = i.cloud and t.account_id = i.account_id and t.principal_arn = i.principal_arn
    where i.cloud = 'aws' and i.credential = 'identity' and coalesce(t.used, 0) = 0
),

steps as (
    select * from safe_removals
    union all
    select * from replacements
    union all
    select * from credential_steps
    union all
    select * from deletions
),

final as (
    select
        s.cloud,
        s.account_id,
        s.principal_arn,
        s.principal_type,
        cast(row_number() over (
            partition by s.cloud, s.account_id, s.principal_arn
            order by s.removes_high_risk desc, s.removes_unused desc, s.step_kind, s.target
        ) as integer) as step_number,
        s.step_kind,
        s.target,
        s.target_label,
        cast(s.removes_unused as bigint) as removes_unused,
        cast(s.removes_high_risk as bigint) as removes_high_risk,
        cast(s.removes_unknown as bigint) as removes_unknown,
        cast(s.removes_used as bigint) as removes_used,
        s.least_privilege_policy_numbers,
        s.last_used_at,
        s.is_conditional,
        concat_ws('; ',
            case when s.removes_unknown > 0 then s.removes_unknown || ' removed grants are not recorded by the trail (unknown): check them before applying' end,
            case when s.is_conditional then 'some removed grants are conditional; conditions were not evaluated' end,
            case when s.step_kind in ('replace_with_least_privilege', 'replace_with_custom_role') then 'the replacement allows the used actions on every resource (Resource ''*'' or the whole subscription)' end,
            case when s.step_kind = 'remove_from_group' then 'removes the identity from the group only; the group keeps its permissions for its other members' end,
            case when s.target_label like '% at /providers/Microsoft.Management/%' then 'the assignment is at a management group: removing it affects every subscription below it' end
        ) as caveats,
        -- for BI clients that cannot read LIST columns
        array_to_string(s.least_privilege_policy_numbers, '; ') as least_privilege_policy_numbers_text
    from steps as s
)

select * from final
