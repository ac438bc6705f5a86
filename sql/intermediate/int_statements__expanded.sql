-- Each policy statement expanded into the concrete actions it covers: Action patterns matched
-- against the action universe (IAM wildcards * and ?, case-insensitive), NotAction statements
-- covering every action but the ones they list. IAM knows only * and ?; every other character is
-- literal, so patterns become LIKE patterns with %, _ and the escape character escaped (GLOB would
-- read [..] as a character class and \ as an escape). Service control policies are expanded the
-- same way (account_id is then the management account, policy_key the SCP's ARN).
with statements as (
    select * from stg_aws__iam_policy_statements
    union all
    select * from stg_aws__organizations_policy_statements
),

universe as (
    select * from int_actions__universe
),

action_patterns as (
    select account_id, policy_key, statement_index, sid, effect, condition, resources, not_resources,
        lower(unnest(actions)) as pattern
    from statements
),

-- Expand each distinct pattern once, not once per statement that uses it.
pattern_actions as (
    select p.pattern, u.action
    from (select distinct pattern from action_patterns) as p
    inner join universe as u
        on u.action_lc like replace(replace(replace(replace(replace(
            p.pattern, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_') escape '\'
),

by_action as (
    select ap.account_id, ap.policy_key, ap.statement_index, ap.sid, ap.effect, ap.condition, ap.resources,
        ap.not_resources, pa.action
    from action_patterns as ap
    inner join pattern_actions as pa on pa.pattern = ap.pattern
),

not_action_statements as (
    select * from statements where len(not_actions) > 0
),

excluded as (
    select distinct s.account_id, s.policy_key, s.statement_index, u.action
    from (
        select account_id, policy_key, statement_index, lower(unnest(not_actions)) as pattern
        from not_action_statements
    ) as s
    inner join universe as u
        on u.action_lc like replace(replace(replace(replace(replace(
            s.pattern, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%'), '?', '_') escape '\'
),

by_not_action as (
    select s.account_id, s.policy_key, s.statement_index, s.sid, s.effect, s.condition, s.resources,
        s.not_resources, u.action
    from not_action_statements as s
    cross join universe as u
    where not exists (
        select 1 from excluded as e
        where e.account_id = s.account_id and e.policy_key = s.policy_key
            and e.statement_index = s.statement_index and e.action = u.action
    )
),

final as (
    select distinct
        account_id,
        policy_key,
        statement_index,
        sid,
        effect,
        action,
        condition is not null as is_conditional,
        list_contains(resources, '*') and len(not_resources) = 0 as is_all_resources
    from (select * from by_action union all select * from by_not_action)
)

select * from final
