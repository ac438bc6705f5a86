-- The rows of permission_usage without its evidence window (evidence_windows: one row per
-- account, joined by the permission_usage view). Per principal and action (AWS) or operation
-- (Azure: int_azure__permission_usage), granted or used in the look-back window: used, unused,
-- unknown (the trail could not have recorded it, or recorded nothing for the account in the
-- window) or used_not_granted (no identity policy here grants it: a resource policy, another
-- account's principal, or a snapshot gap). Built a few accounts at a time (batch_by in the
-- YAML): the inputs are pruned to the batch's accounts up front, since the full outer join keeps
-- DuckDB from pushing the batch filter down itself.
--
-- Idle rows (uses = 0 and attempts = 0: granted, never called in the window) depend on the
-- account's grants, which of its keys were called, and whether its trail recorded anything — not
-- on the hour. The organization build keeps them per account and, for the accounts listed in
-- the variable active_only, computes only the rows of keys called in the window.
with batch_grants as (
    select * from int_grants__resolved
    where getvariable('batch_keys') is null or list_contains(getvariable('batch_keys'), account_id)
),

called as (
    select account_id, principal_arn, action_lc from int_actions__used
    where (uses > 0 or attempts > 0) and list_contains(getvariable('active_only'), account_id)
),

grants as (
    select * from batch_grants
    where getvariable('active_only') is null or not list_contains(getvariable('active_only'), account_id)
    union all
    select g.* from batch_grants as g
    semi join called as c
        on c.account_id = g.account_id and c.principal_arn = g.principal_arn and c.action_lc = lower(g.action)
),

used as (
    select * from int_actions__used
    where getvariable('batch_keys') is null or list_contains(getvariable('batch_keys'), account_id)
),

universe as (
    select * from int_actions__universe
),

high_risk as (
    select lower(action) as action_lc, min(reason) as reason
    from aws_high_risk_actions
    group by 1
),

-- Actions a management-events trail cannot record, with the data-event class that would record
-- them ('none': never an event of their own).
data_plane as (
    select distinct u.action_lc, o.data_event_class
    from universe as u
    inner join aws_unobservable_actions as o on u.action_lc glob lower(o.pattern)
),

-- What the trails of each account record beyond management events, and the services whose events
-- they exclude (configured: aws.trail.data_events, aws.trail.excluded_services; '*' = every account).
data_events as (
    select distinct account_id, lower(data_event_class) as data_event_class from aws_trail_data_events
),

excluded as (
    select distinct account_id, lower(service) as service from aws_trail_excluded_services
),

coverage as (
    select * from int_trail__coverage
),

-- The universe with what the status and risk of each action need, apart from its account.
actions as (
    select u.action_lc, u.action, u.service, u.access_level,
        dp.action_lc is not null as is_data_plane, dp.data_event_class,
        coalesce(u.access_level = 'Permissions management', false) or hr.action_lc is not null as is_high_risk,
        case when hr.action_lc is not null then hr.reason
            when u.access_level = 'Permissions management' then 'permissions management' end as high_risk_reason
    from universe as u
    left join data_plane as dp on dp.action_lc = u.action_lc
    left join high_risk as hr on hr.action_lc = u.action_lc
),

-- Each side joins the universe before the full outer join: DuckDB estimates a full outer join
-- far below either side (measured: 4,615 rows for 2.9M), and a 22,091-action universe joined
-- after it was taken as the probe side, building a hash table of the 2.9M rows and their lists
-- (4.4 s of a 7.7 s model, in an organization build's batch).
granted as (
    select g.*, x as x
    from grants as g
    inner join actions as x on x.action_lc = lower(g.action)
),

used_actions as (
    select u.*, x as x
    from used as u
    inner join actions as x on x.action_lc = u.action_lc
),

joined as (
    select
        coalesce(g.account_id, u.account_id) as account_id,
        coalesce(g.principal_arn, u.principal_arn) as principal_arn,
        coalesce(g.principal_type, u.principal_type) as principal_type,
        coalesce(g.x, u.x) as x,
        g.granted_by,
        g.granting_statements,
        g.is_conditional,
        g.is_all_resources,
        g.principal_arn is not null as is_granted,
        coalesce(u.uses, 0) as uses,
        coalesce(u.attempts, 0) as attempts,
        u.first_used_at,
        u.last_used_at
    from granted as g
    full outer join used_actions as u
        on g.account_id = u.account_id and g.principal_arn = u.principal_arn and g.x.action_lc = u.action_lc
),

final as (
    select
        'aws' as cloud,
        j.account_id,
        j.principal_arn,
        j.principal_type,
        j.x.action,
        j.x.service,
        j.x.access_level,
        case
            when j.uses > 0 and (j.is_granted or j.principal_type = 'root') then 'used'
            when j.uses > 0 then 'used_not_granted'
            -- no event of the account's trail in the window: nothing could have been seen
            when cov.account_id is null then 'unknown'
            -- (joins on the account and on '*' rather than correlated EXISTS with IN: ~4× faster)
            when (j.x.is_data_plane and de_own.account_id is null and de_all.account_id is null)
                or ex_own.account_id is not null or ex_all.account_id is not null
                then 'unknown'
            else 'unused'
        end as status,
        j.uses,
        j.attempts,
        j.first_used_at,
        j.last_used_at,
        case when j.principal_type = 'root' then ['root'] else coalesce(j.granted_by, cast([] as varchar[])) end as granted_by,
        coalesce(j.granting_statements, cast([] as varchar[])) as granting_statements,
        coalesce(j.is_conditional, false) as is_conditional,
        case when j.principal_type = 'root' or j.is_all_resources then 'all'
            when j.is_granted then 'narrowed' end as resource_scope,
        j.x.is_high_risk,
        j.x.high_risk_reason
    from joined as j
    left join coverage as cov on cov.account_id = j.account_id
    left join data_events as de_own on de_own.data_event_class = j.x.data_event_class and de_own.account_id = j.account_id
    left join data_events as de_all on de_all.data_event_class = j.x.data_event_class and de_all.account_id = '*'
    left join excluded as ex_own on ex_own.service = j.x.service and ex_own.account_id = j.account_id
    left join excluded as ex_all on ex_all.service = j.x.service and ex_all.account_id = '*'
    where j.is_granted or j.uses > 0
),

azure as (
    select * exclude (window_start, window_end, evidence_start, evidence_end) from int_azure__permission_usage
    where getvariable('batch_keys') is null or list_contains(getvariable('batch_keys'), account_id)
)

select * from final
union all
select * from azure
