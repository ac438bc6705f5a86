-- The rows of unused_high_risk without the evidence window (evidence_windows holds it per
-- account; the unused_high_risk view joins them back).
with usage as (
    select * from int_permission_usage__rows
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
        attempts
    from usage
)

select * from final
