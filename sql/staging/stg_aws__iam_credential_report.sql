-- Credential report rows of each account's latest snapshot: the last use of passwords and keys.
with source as (
    select * from src_aws_iam_credential_report
),

latest as (
    select * from stg_aws__iam_snapshots
),

final as (
    select
        s.account_id,
        s.arn,
        s."user" as user_name,
        s.is_password_enabled,
        s.password_last_used_at,
        s.password_last_changed_at,
        s.is_access_key_1_active,
        s.access_key_1_last_rotated_at,
        s.access_key_1_last_used_at,
        s.is_access_key_2_active,
        s.access_key_2_last_rotated_at,
        s.access_key_2_last_used_at,
        s.is_mfa_active
    from source as s
    inner join latest as l on s.account_id = l.account_id and s.snapshot_at = l.snapshot_at
)

select * from final
