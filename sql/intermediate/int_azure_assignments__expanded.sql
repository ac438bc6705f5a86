-- Who holds each Azure role assignment: the assigned user, service principal or managed identity
-- itself, and for a group every transitive member (nested groups' members included; the nested
-- groups themselves hold nothing of their own here). A service principal the directory snapshot
-- knows as a managed identity is typed so.
with assignments as (
    select * from stg_azure__role_assignments
),

members as (
    select * from stg_azure__group_members
),

principals as (
    select * from stg_azure__principals
),

direct as (
    select a.subscription_id, a.principal_id,
        coalesce(p.principal_type, a.principal_type) as principal_type,
        a.role_assignment_id, a.role_definition_id, a.scope, a.scope_lc, a.scope_level, a.condition,
        'direct' as assigned_via
    from assignments as a
    left join principals as p on p.principal_id = a.principal_id
    where a.principal_type <> 'group'
),

via_group as (
    select a.subscription_id, m.member_id as principal_id, m.member_type as principal_type,
        a.role_assignment_id, a.role_definition_id, a.scope, a.scope_lc, a.scope_level, a.condition,
        'group:' || a.principal_id as assigned_via
    from assignments as a
    inner join members as m on m.group_id = a.principal_id
    where a.principal_type = 'group' and m.member_type <> 'group'
),

final as (
    select distinct * from direct
    union
    select distinct * from via_group
)

select * from final
