-- Service-level roll-up of permission_usage per principal, like IAM Access Advisor's last-accessed
-- view, but with the unknown class kept apart.
with usage as (
    select * from permission_usage
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        service,
        count(*) filter (where status in ('used', 'unused', 'unknown')) as granted_actions,
        count(*) filter (where status in ('used', 'used_not_granted')) as used_actions,
        count(*) filter (where status = 'unused') as unused_actions,
        count(*) filter (where status = 'unknown') as unknown_actions,
        max(last_used_at) as last_used_at,
        case
            when count(*) filter (where status in ('used', 'used_not_granted')) > 0 then 'used'
            when count(*) filter (where status = 'unused') > 0 then 'unused'
            else 'unknown'
        end as status
    from usage
    group by cloud, account_id, principal_arn, principal_type, service
)

select * from final
