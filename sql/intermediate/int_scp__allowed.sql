-- The actions service control policies leave allowed in each member account. An action is
-- allowed only when, at every level from the root down to the account (each OU between, and the
-- account itself), at least one SCP attached there allows it, and no unconditional Deny on every
-- resource in an SCP of any of those levels denies it (FORMATS.md §3.3). The management account
-- is never restricted, so it has no rows; an account the organization snapshot does not list is
-- not narrowed either (unknown is not "denied"). A conditional or resource-narrowed SCP Allow
-- still allows (flagged conditional); a conditional SCP Deny leaves the action allowed.
-- Only the accounts with an entitlement snapshot among the sources (a build for some accounts
-- reads theirs): no other account's grants are narrowed here.
with accounts as (
    select * from stg_aws__organizations_accounts
    where not is_management_account
        and member_account_id in (select account_id from stg_aws__iam_snapshots)
),

policies as (
    select * from stg_aws__organizations_policies
),

statements as (
    select * from int_statements__expanded
),

attached as (
    select management_account_id, arn, unnest(target_ids) as target_id
    from policies
),

all_levels as (
    select distinct management_account_id, member_account_id,
        unnest(list_append(parent_ids, member_account_id)) as target_id
    from accounts
),

-- Accounts whose levels have the same SCPs attached (the OUs between are shared, and most
-- accounts carry only FullAWSAccess themselves) are allowed the same actions: each level's
-- policies listed, the levels listed in order of their lists, and the actions worked out once
-- per such signature, for its first account, then fanned out to the others (25 accounts of the
-- bench's organization: 1.4 s → 0.2 s, the same rows).
level_arns as (
    select l.management_account_id, l.member_account_id, l.target_id,
        list(a.arn order by a.arn) filter (where a.arn is not null) as arns
    from all_levels as l
    left join attached as a on a.management_account_id = l.management_account_id and a.target_id = l.target_id
    group by l.management_account_id, l.member_account_id, l.target_id
),

members as (
    select management_account_id, member_account_id,
        min(member_account_id) over (partition by management_account_id, signature) as representative_id
    from (
        select management_account_id, member_account_id, list(coalesce(arns, []) order by coalesce(arns, [])) as signature
        from level_arns
        group by management_account_id, member_account_id
    )
),

levels as (
    select l.*
    from all_levels as l
    semi join members as m
        on m.management_account_id = l.management_account_id and m.representative_id = l.member_account_id
),

level_counts as (
    select management_account_id, member_account_id, count(distinct target_id) as levels
    from levels
    group by management_account_id, member_account_id
),

level_policies as (
    select l.management_account_id, l.member_account_id, l.target_id, a.arn
    from levels as l
    inner join attached as a on a.management_account_id = l.management_account_id and a.target_id = l.target_id
),

level_statements as (
    select lp.management_account_id, lp.member_account_id, lp.target_id, s.effect, s.action,
        s.is_conditional, s.is_all_resources
    from level_policies as lp
    inner join statements as s on s.account_id = lp.management_account_id and s.policy_key = lp.arn
),

allowed_levels as (
    select management_account_id, member_account_id, action,
        count(distinct target_id) as levels,
        bool_or(is_conditional or not is_all_resources) as is_conditional
    from level_statements
    where effect = 'Allow'
    group by management_account_id, member_account_id, action
),

denied as (
    select distinct management_account_id, member_account_id, action
    from level_statements
    where effect = 'Deny' and not is_conditional and is_all_resources
),

representative_rows as (
    select a.management_account_id, a.member_account_id, a.action, a.is_conditional
    from allowed_levels as a
    inner join level_counts as c
        on c.management_account_id = a.management_account_id and c.member_account_id = a.member_account_id
    where a.levels = c.levels
        and not exists (
            select 1 from denied as d
            where d.management_account_id = a.management_account_id
                and d.member_account_id = a.member_account_id and d.action = a.action
        )
),

final as (
    select m.member_account_id as account_id, r.action, r.is_conditional
    from representative_rows as r
    inner join members as m
        on m.management_account_id = r.management_account_id and m.representative_id = r.member_account_id
)

select * from final
