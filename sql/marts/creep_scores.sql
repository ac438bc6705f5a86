-- The permission creep score of each AWS user and role and each Azure user, service principal and
-- managed identity (per subscription), 0 (uses what it holds) to 100.
with usage as (
    select * from int_permission_usage__counts
    where principal_type in ('iam_user', 'iam_role', 'user', 'service_principal', 'managed_identity')
),

counts as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        coalesce(cast(sum(actions) filter (where status in ('used', 'unused', 'unknown')) as bigint), 0) as granted_count,
        coalesce(cast(sum(actions) filter (where status in ('used', 'used_not_granted')) as bigint), 0) as used_count,
        coalesce(cast(sum(actions) filter (where status = 'unused') as bigint), 0) as unused_count,
        coalesce(cast(sum(actions) filter (where status = 'unknown') as bigint), 0) as unknown_count,
        coalesce(cast(sum(actions) filter (where status = 'unused' and is_high_risk) as bigint), 0) as unused_high_risk_count
    from usage
    group by cloud, account_id, principal_arn, principal_type
),

scored as (
    select *,
        case when granted_count - unknown_count > 0
            then unused_count / (granted_count - unknown_count)
            else 0 end as unused_share
    from counts
),

final as (
    select
        cloud, account_id, principal_arn, principal_type, granted_count, used_count, unused_count,
        unknown_count, unused_high_risk_count, round(unused_share, 4) as unused_share,
        cast(round(60 * unused_share + 40 * least(unused_high_risk_count, 10) / 10) as integer) as score
    from scored
)

select
    *,
    case when score <= 33 then 'low' when score <= 66 then 'medium' else 'high' end as band
from final
