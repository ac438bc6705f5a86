-- Each Azure subscription's name, tenant and state, as discovery listed them at its latest
-- snapshot (a lake written before azure_subscriptions existed has none: names fall back to IDs).
with source as (
    select * from src_azure_subscriptions
),

latest as (
    select subscription_id, max(snapshot_at) as snapshot_at
    from source
    group by subscription_id
),

final as (
    select
        s.subscription_id,
        s.subscription_name,
        s.tenant_id,
        s.state,
        s.snapshot_at
    from source as s
    inner join latest as l on s.subscription_id = l.subscription_id and s.snapshot_at = l.snapshot_at
)

select * from final
