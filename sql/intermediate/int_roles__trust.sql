-- Who may assume each IAM role: the principals its trust policy's Allow statements name, split
-- into AWS accounts (an account's root, or any principal of it, trusts the whole account: its
-- identities still need sts:AssumeRole in their own policies), single IAM principals, identity
-- providers and AWS services. A Principal of "*" (or {"AWS": "*"}) trusts anyone, recorded as
-- the account '*'. Statements with a Condition are kept (an ExternalId or an organization
-- condition narrows who can, not whether the path exists) and flagged.
with roles as (
    select account_id, arn, trust_policy from stg_aws__iam_roles
    where trust_policy is not null and json_valid(trust_policy)
),

statements as (
    select account_id, arn,
        unnest(case when json_type(trust_policy, '$.Statement') = 'ARRAY'
            then json_extract(trust_policy, '$.Statement[*]')
            else [json_extract(trust_policy, '$.Statement')] end) as statement
    from roles
),

allowed as (
    select account_id, arn,
        json_extract(statement, '$.Principal') as principal,
        json_extract(statement, '$.Condition') is not null as is_conditional
    from statements
    where json_extract_string(statement, '$.Effect') = 'Allow' and json_extract(statement, '$.Principal') is not null
),

-- {"AWS": [...], "Federated": "...", "Service": [...]} → one row per (kind, value); "*" → ('AWS', '*').
by_kind as (
    select account_id, arn, is_conditional, kind,
        case when json_type(principal) = 'VARCHAR' then principal else json_extract(principal, '$."' || kind || '"') end as value
    from (
        select *, unnest(case when json_type(principal) = 'VARCHAR' then ['AWS'] else json_keys(principal) end) as kind
        from allowed
    )
),

principals as (
    select account_id, arn, is_conditional, kind,
        unnest(case when json_type(value) = 'ARRAY' then json_extract_string(value, '$[*]')
            else [json_extract_string(value, '$')] end) as principal
    from by_kind
),

classified as (
    select *,
        case
            when kind <> 'AWS' then null
            when principal = '*' then '*'
            when regexp_matches(principal, '^[0-9]{12}$') then principal
            else regexp_extract(principal, '^arn:aws[a-z-]*:(?:iam|sts)::([0-9]{12}):', 1)
        end as trusted_account,
        kind = 'AWS' and regexp_matches(principal, '^arn:aws[a-z-]*:(?:iam|sts)::[0-9]{12}:(?:user|role|assumed-role)/') as is_single_principal
    from principals
),

final as (
    select
        account_id,
        arn as principal_arn,
        coalesce(list_sort(list(distinct trusted_account) filter (where trusted_account is not null and trusted_account <> '')), []) as trusted_accounts,
        coalesce(list_sort(list(distinct principal) filter (where is_single_principal)), []) as trusted_principals,
        coalesce(list_sort(list(distinct principal) filter (where kind = 'Federated')), []) as trusted_federated,
        coalesce(list_sort(list(distinct principal) filter (where kind = 'Service')), []) as trusted_services,
        bool_or(is_conditional) as is_conditional
    from classified
    group by account_id, arn
)

select * from final
