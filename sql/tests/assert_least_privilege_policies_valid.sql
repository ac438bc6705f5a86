-- Least-privilege policies are valid JSON, within the managed-policy size limit (AWS), and allow
-- only actions the principal used (a service:* wildcard only when the whole service was used);
-- Azure custom roles name their actions and an assignable scope.
with policies as (
    select * from least_privilege_policies
),

statements as (
    select principal_arn, unnest(from_json(json_extract(policy_document, '$.Statement'), '["json"]')) as statement
    from policies
    where cloud = 'aws' and json_valid(policy_document)
),

actions as (
    select principal_arn, unnest(from_json(json_extract(statement, '$.Action'), '["varchar"]')) as action
    from statements
    union all
    select principal_arn, unnest(from_json(json_extract(policy_document, '$.Actions'), '["varchar"]'))
    from policies
    where cloud = 'azure' and json_valid(policy_document)
),

invalid as (
    select principal_arn, 'invalid JSON or over 6144 characters' as problem
    from policies
    where not json_valid(policy_document) or (cloud = 'aws' and length(policy_document) > 6144)
    union all
    select principal_arn, 'Azure custom role without Actions or AssignableScopes'
    from policies
    where cloud = 'azure' and json_valid(policy_document)
        and (json_array_length(policy_document, '$.Actions') = 0 or json_array_length(policy_document, '$.AssignableScopes') = 0)
),

ungranted as (
    select a.principal_arn, 'allows ' || a.action || ', which it did not use' as problem
    from actions as a
    where not exists (
        select 1 from permission_usage as u
        where u.principal_arn = a.principal_arn
            and u.status in ('used', 'used_not_granted')
            and (u.action = a.action or (a.action like '%:*' and u.service = split_part(a.action, ':', 1)))
    )
)

select * from invalid
union all
select * from ungranted
