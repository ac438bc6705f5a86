-- permission_usage rows counted per principal, service, status and risk: the additive partial
-- aggregate service_usage and creep_scores are computed from. is_idle keeps the counts of idle rows
-- (granted, never called) apart, so that the organization build can keep them with the rows.
with usage_rows as (
    select * from int_permission_usage__rows
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        service,
        status,
        is_high_risk,
        uses = 0 and attempts = 0 as is_idle,
        count(*) as actions,
        max(last_used_at) as last_used_at
    from usage_rows
    group by all
)

select * from final
