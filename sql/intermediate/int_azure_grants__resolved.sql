-- What each Azure principal is granted in each subscription: every assignment's role actions
-- minus that role's notActions (and dataActions minus notDataActions), expanded against the
-- operations universe. Azure wildcards: * matches any run of characters (slashes included),
-- case-insensitively; every other character is literal, so patterns become LIKE patterns with
-- %, _ and the escape character escaped. NotActions is not a deny: another assignment granting
-- the same action still grants it (FORMATS.md §4.5), so subtraction is per assignment.
with holders as (
    select * from int_azure_assignments__expanded
),

roles as (
    select * from stg_azure__role_definitions
),

universe as (
    select * from int_azure_actions__universe
),

patterns as (
    select subscription_id, role_definition_id, role_name, false as is_data, lower(unnest(actions)) as pattern, 'allow' as kind from roles
    union all
    select subscription_id, role_definition_id, role_name, false, lower(unnest(not_actions)), 'not' from roles
    union all
    select subscription_id, role_definition_id, role_name, true, lower(unnest(data_actions)), 'allow' from roles
    union all
    select subscription_id, role_definition_id, role_name, true, lower(unnest(not_data_actions)), 'not' from roles
),

-- Expand each distinct pattern once per plane.
pattern_actions as (
    select p.pattern, p.is_data, u.operation_lc
    from (select distinct pattern, is_data from patterns) as p
    inner join universe as u
        on u.is_data_action = p.is_data
        and u.operation_lc like replace(replace(replace(replace(
            p.pattern, '\', '\\'), '%', '\%'), '_', '\_'), '*', '%') escape '\'
),

role_actions as (
    select subscription_id, role_definition_id, role_name, operation_lc
    from patterns as p
    inner join pattern_actions as pa on pa.pattern = p.pattern and pa.is_data = p.is_data
    where p.kind = 'allow'
    except
    select subscription_id, role_definition_id, role_name, operation_lc
    from patterns as p
    inner join pattern_actions as pa on pa.pattern = p.pattern and pa.is_data = p.is_data
    where p.kind = 'not'
),

held as (
    select h.subscription_id, h.principal_id, h.principal_type, ra.operation_lc, ra.role_name,
        h.role_assignment_id, h.scope, h.scope_level, h.condition, h.assigned_via
    from holders as h
    inner join role_actions as ra on ra.subscription_id = h.subscription_id and ra.role_definition_id = h.role_definition_id
),

final as (
    select
        subscription_id,
        principal_id,
        min(principal_type) as principal_type,
        operation_lc,
        list_sort(list(distinct role_name)) as granted_by,
        list_sort(list(distinct role_name || ' at ' || scope || case when assigned_via = 'direct' then '' else ' (' || assigned_via || ')' end
            || ' [' || role_assignment_id || ']')) as granting_assignments,
        bool_and(condition is not null) as is_conditional,
        bool_or(scope_level in ('root', 'management_group', 'subscription')) as is_all_resources
    from held
    group by subscription_id, principal_id, operation_lc
)

select * from final
