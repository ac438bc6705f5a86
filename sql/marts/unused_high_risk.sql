-- Unused high-risk permissions: what to remove first. Each row names the statements that grant it
-- and the window over which it was judged unused.
with usage as (
    select * from permission_usage
    where status = 'unused' and is_high_risk
),

final as (
    select
        cloud,
        account_id,
        principal_arn,
        principal_type,
        action,
        access_level,
        high_risk_reason,
        granted_by,
        granting_statements,
        is_conditional,
        resource_scope,
        attempts,
        window_start,
        window_end,
        evidence_start,
        evidence_end
    from usage
)

select * from final
