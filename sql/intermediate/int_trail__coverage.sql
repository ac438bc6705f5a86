-- How much of the look-back window each account's trail actually covers: the first and last event
-- recorded in the account's trail folder inside the window. "Unused" is only ever judged over this
-- evidence; an account with no recorded event in the window (trail not delivering there, files not
-- yet collected) has no coverage row, and its unseen grants are unknown, not unused.
with events as (
    select * from rollup_aws_cloudtrail__events
),

final as (
    select
        account_id,
        min(first_event_at) as evidence_start,
        max(last_event_at) as evidence_end,
        cast(sum(events) as bigint) as events
    from events
    where hour_start >= getvariable('window_start') and hour_start < getvariable('now')
    group by account_id
)

select * from final
