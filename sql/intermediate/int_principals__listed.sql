-- Every IAM user and role of the latest snapshots: the identities grants and inactivity are about.
with users as (
    select * from stg_aws__iam_users
),

roles as (
    select * from stg_aws__iam_roles
),

final as (
    select account_id, arn as principal_arn, 'iam_user' as principal_type, user_name as identity_name,
        created_at, false as is_service_linked
    from users
    union all
    select account_id, arn, 'iam_role', role_name, created_at, is_service_linked
    from roles
)

select * from final
