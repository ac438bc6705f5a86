-- Unused high-risk permissions: what to remove first. Each row names the statements that grant it
-- and the window over which it was judged unused. A view: its rows (int_unused_high_risk__rows)
-- with the evidence window of their account (evidence_windows), and the list columns as text
-- ('; '-joined, for BI clients that cannot read LIST columns), computed here, not stored.
with risky as (
    select * from int_unused_high_risk__rows
),

windows as (
    select * from evidence_windows
),

final as (
    select
        r.*,
        w.window_start,
        w.window_end,
        w.evidence_start,
        w.evidence_end,
        array_to_string(r.granted_by, '; ') as granted_by_text,
        array_to_string(r.granting_statements, '; ') as granting_statements_text
    from risky as r
    left join windows as w on w.cloud = r.cloud and w.account_id = r.account_id
)

select * from final
