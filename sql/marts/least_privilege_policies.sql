-- A least-privilege identity policy per user and role: exactly the actions it used in the window.
with used as (
    select * from permission_usage
    where status in ('used', 'used_not_granted') and principal_type in ('iam_user', 'iam_role')
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        count(*) as action_count,
        cast(json_object(
            'Version', '2012-10-17',
            'Statement', json_array(json_object(
                'Effect', 'Allow',
                'Action', to_json(list_sort(list(action))),
                'Resource', '*'
            ))
        ) as varchar) as policy_document
    from used
    group by cloud, account_id, principal_arn, principal_type
)

select * from final
