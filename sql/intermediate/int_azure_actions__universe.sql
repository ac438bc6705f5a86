-- Every Azure operation a grant or a use can be about: the provider operations catalog, plus
-- operations seen in the Activity Log that the catalog lacks (new, or a catalog not collected), so
-- a use is never lost for want of a catalog entry.
with catalog as (
    select * from stg_azure__provider_operations
),

observed as (
    select action as operation_lc, min(operation_name) as operation
    from stg_azure__activity_events
    where action is not null
    group by action
),

unknown_to_catalog as (
    select o.operation, o.operation_lc, split_part(o.operation_lc, '/', 1) as provider
    from observed as o
    where not exists (select 1 from catalog as c where c.operation_lc = o.operation_lc)
),

final as (
    select operation, operation_lc, provider, is_data_action, true as is_in_catalog
    from catalog
    union all
    select operation, operation_lc, provider, false, false
    from unknown_to_catalog
)

select * from final
