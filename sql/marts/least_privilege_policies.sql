-- Least-privilege identity policies per user and role: exactly the actions it used in the window,
-- one statement per service (service:* only when every catalog action of the service was used),
-- split into several policies so that none exceeds the 6,144-character managed-policy limit.
-- For Azure principals: a custom role definition (the JSON `az role definition create` takes)
-- holding exactly the operations used in the subscription, assignable at that subscription.
with used as (
    select * from permission_usage
    where cloud = 'aws' and status in ('used', 'used_not_granted') and principal_type in ('iam_user', 'iam_role')
),

azure_used as (
    select * from permission_usage
    where cloud = 'azure' and status in ('used', 'used_not_granted')
),

azure_roles as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        1 as policy_number,
        count(*) as action_count,
        cast(json_object(
            'Name', 'permlake least privilege ' || principal_arn,
            'IsCustom', true,
            'Description', 'The operations ' || principal_arn || ' used in the look-back window',
            'Actions', to_json(list_sort(list(action))),
            'NotActions', to_json(cast([] as varchar[])),
            'DataActions', to_json(cast([] as varchar[])),
            'NotDataActions', to_json(cast([] as varchar[])),
            'AssignableScopes', to_json(['/subscriptions/' || account_id])
        ) as varchar) as policy_document
    from azure_used
    group by cloud, account_id, principal_arn, principal_type
),

service_sizes as (
    select service, count(*) as catalog_actions
    from int_actions__universe
    where is_in_catalog
    group by service
),

catalog_actions as (
    select action_lc from int_actions__universe where is_in_catalog
),

-- catalog_used counts only the catalog's actions: a name the catalog does not know (new, or a
-- forged event) must not make a service look wholly used and widen its statement to service:*.
per_service as (
    select u.cloud, u.account_id, u.principal_arn, u.principal_type, u.service, list_sort(list(u.action)) as actions,
        count(*) as action_count,
        count(c.action_lc) as catalog_used
    from used as u
    left join catalog_actions as c on c.action_lc = lower(u.action)
    group by u.cloud, u.account_id, u.principal_arn, u.principal_type, u.service
),

-- Long action lists are cut into chunks of 80 so that every statement stays well under the limit.
chunked as (
    select p.*, s.catalog_actions,
        unnest(case when p.catalog_used = s.catalog_actions then [[p.service || ':*']]
            else [p.actions[i:i + 79] for i in range(1, len(p.actions) + 1, 80)] end) as statement_actions,
        generate_subscripts(case when p.catalog_used = s.catalog_actions then [[p.service || ':*']]
            else [p.actions[i:i + 79] for i in range(1, len(p.actions) + 1, 80)] end, 1) as chunk
    from per_service as p
    left join service_sizes as s on s.service = p.service
),

statements as (
    select *,
        cast(json_object(
            'Sid', 'Use' || regexp_replace(upper(service[1]) || service[2:], '[^A-Za-z0-9]', '', 'g') || case when chunk > 1 then 'Part' || chunk else '' end,
            'Effect', 'Allow',
            'Action', to_json(statement_actions),
            'Resource', '*'
        ) as varchar) as statement
    from chunked
),

-- Pack statements in service order into policies of at most ~3,000 characters of statements
-- before the one that crosses it: with statements under 3,000 characters each, no policy
-- document reaches 6,144.
packed as (
    select *,
        (sum(length(statement) + 1) over (
            partition by cloud, account_id, principal_arn order by service, chunk rows unbounded preceding
        ) - length(statement) - 1) // 3000 as policy_part
    from statements
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        cast(policy_part + 1 as integer) as policy_number,
        cast(sum(len(statement_actions)) as bigint) as action_count,
        '{"Version":"2012-10-17","Statement":[' || string_agg(statement, ',' order by service, chunk) || ']}' as policy_document
    from packed
    group by cloud, account_id, principal_arn, principal_type, policy_part
)

select * from final
union all
select cloud, account_id, principal_arn, principal_type, cast(policy_number as integer), cast(action_count as bigint), policy_document
from azure_roles
