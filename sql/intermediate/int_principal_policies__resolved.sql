-- The policies that apply to each user and role: attached directly (managed or inline) and, for
-- users, through the groups they are in.
with attachments as (
    select * from stg_aws__iam_policy_attachments
),

memberships as (
    select * from stg_aws__iam_group_memberships
),

direct as (
    select account_id, principal_arn, principal_type, policy_key, policy_type, policy_label,
        'direct' as attached_via
    from attachments
    where principal_type in ('iam_user', 'iam_role')
),

via_group as (
    select m.account_id, m.user_arn as principal_arn, 'iam_user' as principal_type, a.policy_key,
        a.policy_type, a.policy_label, 'group:' || m.group_name as attached_via
    from memberships as m
    inner join attachments as a on a.account_id = m.account_id and a.principal_arn = m.group_arn
),

final as (
    select * from direct
    union all
    select * from via_group
)

select * from final
