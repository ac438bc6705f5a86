-- Which identity to fix first, organization-wide: what an attacker would gain through it, times how
-- sure we are that what it holds is unused. The formula, with a worked example, is in the YAML.
with scores as (
    select * from creep_scores
),

exposure as (
    select * from identity_exposure
),

steps as (
    select * from remediation_actions
),

organization as (
    select * from stg_aws__organizations_accounts
),

tiers as (
    select * from account_tiers
),

subscriptions as (
    select * from stg_azure__subscriptions
),

-- Account weights: the management account 2 (service control policies never restrict it), else
-- the largest weight of the account_tiers patterns its name or OU path matches, else 1.
accounts as (
    select
        o.member_account_id as account_id,
        any_value(o.name) as account_name,
        case when bool_or(o.is_management_account) then 2.0
            else coalesce(max(cast(t.weight as double)), 1.0) end as account_tier
    from organization as o
    left join tiers as t on lower(coalesce(o.name, '') || ' ' || coalesce(o.ou_path, '')) like lower(t.pattern)
    group by o.member_account_id
),

known_accounts as (
    select account_id from accounts
    union
    select account_id from exposure where cloud = 'aws'
),

-- Roles of other accounts an identity can step into: their trust policy admits its account (or
-- anyone, or the identity by ARN) and it holds sts:AssumeRole.
trust_edges as (
    select account_id as role_account_id, principal_arn as role_arn, unnest(trusted_accounts) as trusted_account
    from exposure
    where cloud = 'aws' and principal_type = 'iam_role'
),

named_edges as (
    select account_id as role_account_id, principal_arn as role_arn, unnest(trusted_principals) as trusted_principal
    from exposure
    where cloud = 'aws' and principal_type = 'iam_role'
),

reach as (
    -- (The account's edges and the '*' ones apart: a join on an OR runs as a nested loop over
    -- every identity and edge of the organization.)
    select e.cloud, e.account_id, e.principal_arn, r.role_account_id
    from exposure as e
    inner join trust_edges as r on r.trusted_account = e.account_id and r.role_account_id <> e.account_id
    where e.cloud = 'aws' and e.can_assume_roles
    union
    select e.cloud, e.account_id, e.principal_arn, r.role_account_id
    from exposure as e
    inner join (select * from trust_edges where trusted_account = '*') as r on r.role_account_id <> e.account_id
    where e.cloud = 'aws' and e.can_assume_roles
    union
    select e.cloud, e.account_id, e.principal_arn, n.role_account_id
    from exposure as e
    inner join named_edges as n on n.role_account_id <> e.account_id and n.trusted_principal = e.principal_arn
    where e.cloud = 'aws' and e.can_assume_roles
    union
    -- An Azure principal is one identity across the tenant: its grants in other subscriptions.
    select a.cloud, a.account_id, a.principal_arn, b.account_id
    from exposure as a
    inner join exposure as b on b.cloud = 'azure' and b.principal_arn = a.principal_arn and b.account_id <> a.account_id
    where a.cloud = 'azure'
),

reach_totals as (
    select r.cloud, r.account_id, r.principal_arn,
        list_sort(list(distinct r.role_account_id)) as reached_accounts,
        sum(coalesce(t.account_tier, 1.0)) as reach_weight
    from (select distinct * from reach) as r
    left join accounts as t on r.cloud = 'aws' and t.account_id = r.role_account_id
    group by all
),

outside as (
    select distinct e.cloud, e.account_id, e.principal_arn
    from exposure as e, unnest(e.trusted_accounts) as u(trusted_account)
    where e.cloud = 'aws' and (u.trusted_account = '*'
        or (u.trusted_account <> e.account_id and u.trusted_account not in (select account_id from known_accounts)))
),

first_steps as (
    select cloud, account_id, principal_arn, count(*) as remediation_steps,
        arg_min(step_kind || ': ' || target_label, step_number) as first_step
    from steps
    group by all
),

components as (
    select
        s.cloud,
        s.account_id,
        coalesce(a.account_name, n.subscription_name, s.account_id) as account_name,
        case when s.cloud = 'aws' then coalesce(a.account_tier, 1.0) else 1.0 end as account_tier,
        s.principal_arn,
        e.display_name,
        s.principal_type,
        s.score,
        s.band,
        s.unused_count,
        s.unused_high_risk_count,
        e.unused_attack_paths,
        coalesce(r.reached_accounts, []) as reached_accounts,
        coalesce(r.reach_weight, 0) as reach_weight,
        o.principal_arn is not null as is_trusted_from_outside,
        e.active_access_keys,
        e.unused_access_keys,
        e.has_console_without_mfa,
        e.last_activity_at,
        e.created_at,
        e.evidence_days,
        e.window_days,
        coalesce(f.remediation_steps, 0) as remediation_steps,
        f.first_step
    from scores as s
    inner join exposure as e on e.cloud = s.cloud and e.account_id = s.account_id and e.principal_arn = s.principal_arn
    left join accounts as a on s.cloud = 'aws' and a.account_id = s.account_id
    left join subscriptions as n on s.cloud = 'azure' and n.subscription_id = s.account_id
    left join reach_totals as r on r.cloud = s.cloud and r.account_id = s.account_id and r.principal_arn = s.principal_arn
    left join outside as o on o.cloud = s.cloud and o.account_id = s.account_id and o.principal_arn = s.principal_arn
    left join first_steps as f on f.cloud = s.cloud and f.account_id = s.account_id and f.principal_arn = s.principal_arn
),

gains as (
    select *,
        round(10 * ln(1 + unused_high_risk_count) + 5 * unused_attack_paths + 2 * ln(1 + unused_count), 2) as own_gain,
        round(10 * reach_weight, 2) as reach_gain,
        round(5 * active_access_keys + 5 * unused_access_keys + 10 * cast(has_console_without_mfa as integer)
            + 20 * cast(is_trusted_from_outside as integer), 2) as credential_gain,
        round(least(1.0, evidence_days / nullif(window_days, 0)), 3) as confidence
    from components
),

final as (
    select *,
        round(coalesce(confidence, 0) * (account_tier * own_gain + reach_gain + credential_gain), 1) as priority,
        concat_ws('; ',
            case when unused_high_risk_count > 0 then unused_high_risk_count || ' unused high-risk grants (' || unused_attack_paths || ' attack paths)' end,
            case when unused_count > 0 then unused_count || ' unused grants' end,
            case when account_tier <> 1.0 then 'account weight ' || account_tier end,
            case when len(reached_accounts) > 0 then 'reaches ' || len(reached_accounts) || ' other account(s): ' || array_to_string(reached_accounts, ', ') end,
            case when is_trusted_from_outside then 'trusted from outside the organization' end,
            case when active_access_keys > 0 then active_access_keys || ' active access key(s), ' || unused_access_keys || ' unused' end,
            case when has_console_without_mfa then 'console password without MFA' end,
            'evidence ' || evidence_days || ' of ' || window_days || ' days'
                || case when last_activity_at is null then ', never active' else ', last active ' || strftime(last_activity_at, '%Y-%m-%d') end
        ) as priority_reason,
        -- for BI clients that cannot read LIST columns
        array_to_string(reached_accounts, '; ') as reached_accounts_text
    from gains
),

-- An Azure principal is one identity however many subscriptions it holds roles in: it is ranked
-- once, by the subscription where its priority is highest (the others are its reached_accounts).
identities as (
    select * from final
    qualify cloud = 'aws' or row_number() over (partition by cloud, principal_arn order by priority desc, account_id) = 1
)

select
    cast(row_number() over (order by priority desc, unused_high_risk_count desc, unused_count desc, cloud, account_id, principal_arn) as integer) as priority_rank,
    *
from identities
