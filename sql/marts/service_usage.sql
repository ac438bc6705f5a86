-- Service-level roll-up of permission_usage per principal, like IAM Access Advisor's last-accessed
-- view, but with the unknown class kept apart.
with counts as (
    select * from int_permission_usage__counts
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        service,
        coalesce(cast(sum(actions) filter (where status in ('used', 'unused', 'unknown')) as bigint), 0) as granted_actions,
        coalesce(cast(sum(actions) filter (where status in ('used', 'used_not_granted')) as bigint), 0) as used_actions,
        coalesce(cast(sum(actions) filter (where status = 'unused') as bigint), 0) as unused_actions,
        coalesce(cast(sum(actions) filter (where status = 'unknown') as bigint), 0) as unknown_actions,
        max(last_used_at) as last_used_at,
        case
            when count(*) filter (where status in ('used', 'used_not_granted')) > 0 then 'used'
            when count(*) filter (where status = 'unused') > 0 then 'unused'
            else 'unknown'
        end as status
    from counts
    group by cloud, account_id, principal_arn, principal_type, service
)

select * from final
