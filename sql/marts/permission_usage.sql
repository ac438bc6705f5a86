-- Per principal and action (operation): its rows (int_permission_usage__rows) with the evidence
-- window of its account (evidence_windows). A view: the rows are stored once. The list columns
-- are also given as text ('; '-joined) for BI clients that cannot read LIST columns; computed
-- here, not stored: the lake's objects keep the lists only.
with usage_rows as (
    select * from int_permission_usage__rows
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
    from usage_rows as r
    left join windows as w on w.cloud = r.cloud and w.account_id = r.account_id
)

select * from final
