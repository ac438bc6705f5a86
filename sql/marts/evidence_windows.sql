-- The look-back window and the evidence inside it, per account (subscription for Azure): what
-- every permission_usage row of the account was judged over. Kept apart from the rows so that an
-- account's idle rows (granted, never called) stay the same from hour to hour while the window
-- slides; the permission_usage view joins them back.
with aws_accounts as (
    select account_id from stg_aws__iam_snapshots
    union
    select account_id from int_actions__used
),

coverage as (
    select * from int_trail__coverage
),

azure as (
    select distinct account_id, evidence_start, evidence_end
    from int_azure__permission_usage
),

final as (
    select
        'aws' as cloud,
        a.account_id,
        getvariable('window_start') as window_start,
        getvariable('now') as window_end,
        c.evidence_start,
        c.evidence_end
    from aws_accounts as a
    left join coverage as c on c.account_id = a.account_id
    union all
    select
        'azure' as cloud,
        account_id,
        getvariable('window_start') as window_start,
        getvariable('now') as window_end,
        evidence_start,
        evidence_end
    from azure
)

select * from final
