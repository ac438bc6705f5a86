-- Every active long-term credential of an IAM user from the credential report: console passwords
-- and access keys, with when each was created and last used. The root user's row is left out:
-- root is not an IAM identity one can remove.
with report as (
    select * from stg_aws__iam_credential_report
    where user_name <> '<root_account>'
),

final as (
    select account_id, arn as principal_arn, 'console_password' as credential,
        password_last_changed_at as created_at, password_last_used_at as last_used_at
    from report
    where is_password_enabled
    union all
    select account_id, arn, 'access_key_1', access_key_1_last_rotated_at, access_key_1_last_used_at
    from report
    where is_access_key_1_active
    union all
    select account_id, arn, 'access_key_2', access_key_2_last_rotated_at, access_key_2_last_used_at
    from report
    where is_access_key_2_active
)

select * from final
