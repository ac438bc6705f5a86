-- Concrete steps towards least privilege (int_remediation_actions__rows) with the evidence window
-- of their account (evidence_windows). A view: the lake stores the rows without the window, which
-- moves every hour while the steps change only when what was used does.
with step_rows as (
    select * from int_remediation_actions__rows
),

windows as (
    select * from evidence_windows
),

final as (
    select
        r.* exclude (least_privilege_policy_numbers_text),
        w.evidence_start,
        w.evidence_end,
        r.least_privilege_policy_numbers_text
    from step_rows as r
    left join windows as w on w.cloud = r.cloud and w.account_id = r.account_id
)

select * from final
