-- What each user and role is granted: the actions its Allow statements cover, minus those an
-- unconditional Deny on every resource removes (an explicit Deny wins), narrowed by its
-- permissions boundary when the snapshot holds the boundary policy's statements. A Deny that is
-- conditional or narrowed to some resources leaves the action granted elsewhere, so it is kept.
-- A boundary whose policy is not in the snapshot narrows nothing (unknown is not "denied").
-- Service control policies narrow every principal of a member account the organization snapshot
-- lists (int_scp__allowed), except service-linked roles, which SCPs never restrict; an action an
-- SCP allows only conditionally becomes a conditional grant.
with policies as (
    select * from int_principal_policies__resolved
),

statements as (
    select * from int_statements__expanded
),

-- Principals numbered, and grouped by what their policies say. Two principals attached to
-- statements with the same policy names, indexes, Sids, effects, action lists and the same
-- conditional and all-resources flags are granted the same actions by the same statements
-- (boundaries and SCPs, per principal and account, come after): the SSO roles, service roles and
-- AWS managed policies an organization repeats in every account. The actions are grouped once
-- per signature, for its first principal, and fanned out to the others. On the bench's
-- organization 25 accounts' 475 principals have 13 signatures, and their 2.9M grants took
-- 3.2 s instead of 7 s (the same rows); every principal is its own signature at worst.
principals as (
    select account_id, principal_arn, principal_type,
        row_number() over (order by account_id, principal_arn, principal_type) as principal_id
    from (select distinct account_id, principal_arn, principal_type from policies)
),

principal_signatures as (
    select principal_id, list(statement order by statement) as signature
    from (
        select pr.principal_id,
            {label: p.policy_label, statement_index: c.statement_index, sid: c.sid, effect: c.effect,
                actions: c.actions, not_actions: c.not_actions, is_conditional: c.condition is not null,
                is_all_resources: list_contains(c.resources, '*') and len(c.not_resources) = 0} as statement
        from policies as p
        inner join principals as pr
            on pr.account_id = p.account_id and pr.principal_arn = p.principal_arn and pr.principal_type = p.principal_type
        inner join stg_aws__iam_policy_statements as c on c.account_id = p.account_id and c.policy_key = p.policy_key
    )
    group by principal_id
),

-- Each principal's representative: the first principal with its signature (a window, which
-- takes NULL fields of a signature as equal, as the grouping above does).
members as (
    select principal_id, min(principal_id) over (partition by signature) as representative_id
    from principal_signatures
),

statement_keys as (
    select distinct account_id, policy_key, statement_index, sid
    from statements
),

-- The representatives' statements, numbered.
attached_statements as (
    select pr.principal_id, p.account_id, p.policy_key, k.statement_index, p.policy_label,
        p.policy_label || '#' || k.statement_index || coalesce(' (' || k.sid || ')', '') as statement_ref,
        row_number() over (order by pr.principal_id, p.policy_label, p.policy_key, k.statement_index) as statement_id
    from policies as p
    inner join principals as pr
        on pr.account_id = p.account_id and pr.principal_arn = p.principal_arn and pr.principal_type = p.principal_type
    semi join members as m on m.representative_id = pr.principal_id
    inner join statement_keys as k on k.account_id = p.account_id and k.policy_key = p.policy_key
),

principal_statements as (
    select a.principal_id, a.statement_id, s.effect, s.action, s.is_conditional, s.is_all_resources
    from attached_statements as a
    inner join statements as s
        on s.account_id = a.account_id and s.policy_key = a.policy_key and s.statement_index = a.statement_index
),

-- One group per representative and action: whether an Allow grants it (and by which statements)
-- and whether an unconditional Deny on every resource removes it (an explicit Deny wins).
action_groups as (
    select principal_id, action,
        count(*) filter (where effect = 'Allow') as statements,
        min(statement_id) filter (where effect = 'Allow') as statement_id,
        bool_and(is_conditional) filter (where effect = 'Allow') as is_conditional,
        bool_or(is_all_resources) filter (where effect = 'Allow') as is_all_resources,
        bool_or(effect = 'Deny' and not is_conditional and is_all_resources) as is_denied
    from principal_statements
    group by principal_id, action
),

allow_groups as (
    select * from action_groups
    where statements > 0 and not is_denied
),

multi_lists as (
    select s.principal_id, s.action,
        list_sort(list(distinct a.policy_label)) as granted_by,
        list_sort(list(distinct a.statement_ref)) as granting_statements
    from principal_statements as s
    semi join (select principal_id, action from allow_groups where statements > 1) as m
        on m.principal_id = s.principal_id and m.action = s.action
    inner join attached_statements as a on a.statement_id = s.statement_id
    where s.effect = 'Allow'
    group by s.principal_id, s.action
),

-- The granted rows of each signature: a single statement's names joined from its number,
-- several statements' lists from multi_lists.
allowed as (
    select g.principal_id, g.action, [a.policy_label] as granted_by, [a.statement_ref] as granting_statements,
        g.is_conditional, g.is_all_resources
    from allow_groups as g
    inner join attached_statements as a on a.statement_id = g.statement_id
    where g.statements = 1
    union all
    select g.principal_id, g.action, m.granted_by, m.granting_statements, g.is_conditional, g.is_all_resources
    from allow_groups as g
    inner join multi_lists as m on m.principal_id = g.principal_id and m.action = g.action
    where g.statements > 1
),

allows as (
    select p.account_id, p.principal_arn, p.principal_type, a.action, a.granted_by, a.granting_statements,
        a.is_conditional, a.is_all_resources
    from allowed as a
    inner join members as m on m.representative_id = a.principal_id
    inner join principals as p on p.principal_id = m.principal_id
),

boundaries as (
    select account_id, arn as principal_arn, permissions_boundary_arn
    from stg_aws__iam_users
    where permissions_boundary_arn is not null
    union all
    select account_id, arn, permissions_boundary_arn
    from stg_aws__iam_roles
    where permissions_boundary_arn is not null
),

known_boundaries as (
    select b.*
    from boundaries as b
    where exists (
        select 1 from statements as s
        where s.account_id = b.account_id and s.policy_key = b.permissions_boundary_arn
    )
),

boundary_allows as (
    select b.account_id, b.principal_arn, s.action
    from known_boundaries as b
    inner join statements as s on s.account_id = b.account_id and s.policy_key = b.permissions_boundary_arn
    where s.effect = 'Allow'
    except
    select b.account_id, b.principal_arn, s.action
    from known_boundaries as b
    inner join statements as s on s.account_id = b.account_id and s.policy_key = b.permissions_boundary_arn
    where s.effect = 'Deny' and not s.is_conditional and s.is_all_resources
),

scp_accounts as (
    select distinct account_id from int_scp__allowed
),

scp_allowed as (
    select * from int_scp__allowed
),

-- Left joins rather than (NOT) EXISTS in OR-ed conditions, which DuckDB evaluated ~2.4× slower
-- on an organization's grants. boundary_allows and scp_allowed hold one row per key; the
-- accounts without SCPs are a small list (a mark join).
final as (
    select a.account_id, a.principal_arn, a.principal_type, a.action, a.granted_by, a.granting_statements,
        a.is_conditional or (coalesce(sa.is_conditional, false) and a.principal_arn not like '%:role/aws-service-role/%')
            as is_conditional,
        a.is_all_resources
    from allows as a
    left join scp_allowed as sa on sa.account_id = a.account_id and sa.action = a.action
    left join (select distinct account_id, principal_arn from known_boundaries) as kb
        on kb.account_id = a.account_id and kb.principal_arn = a.principal_arn
    left join boundary_allows as ba
        on ba.account_id = a.account_id and ba.principal_arn = a.principal_arn and ba.action = a.action
    where (kb.principal_arn is null or ba.action is not null)
        and (sa.action is not null or a.principal_arn like '%:role/aws-service-role/%'
            or a.account_id not in (select account_id from scp_accounts))
)

select * from final
