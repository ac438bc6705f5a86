-- How much of the look-back window each account's trail actually covers: the first and last event
-- recorded in the account's trail folder inside the window. "Unused" is only ever judged over this
-- evidence; an account with no recorded event in the window (trail not delivering there, files not
-- yet collected) has no coverage row, and its unseen grants are unknown, not unused.
with events as (
    select * from stg_aws__cloudtrail_events
),

final as (
    select
        trail_account_id as account_id,
        min(event_time) as evidence_start,
        max(event_time) as evidence_end,
        count(*) as events
    from events
    where event_time >= getvariable('window_start') and event_time < getvariable('now')
    group by trail_account_id
)

select * from final
