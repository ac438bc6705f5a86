-- permission_usage's granted rows counted per principal and the policies and statements behind
-- them: the additive partial aggregate remediation_actions (what a step removes) and
-- identity_exposure (who holds sts:AssumeRole) are computed from. is_idle keeps the counts of idle
-- rows (granted, never called) apart, as int_permission_usage__counts does, so that the
-- organization build keeps them with the idle rows instead of reading those again every hour.
with usage_rows as (
    select * from int_permission_usage__rows
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        granted_by,
        granting_statements,
        uses = 0 and attempts = 0 as is_idle,
        count(*) filter (where status = 'used') as used,
        count(*) filter (where status = 'unused') as unused,
        count(*) filter (where status = 'unknown') as unknown,
        count(*) filter (where status = 'unused' and is_high_risk) as unused_high_risk,
        bool_or(is_conditional) as is_conditional,
        bool_or(lower(action) = 'sts:assumerole') as has_assume_role
    from usage_rows
    where status in ('used', 'unused', 'unknown') and len(granted_by) > 0
    group by all
)

select * from final
