-- Every action a grant or a use can be about: the IAM action catalog, plus actions seen in
-- CloudTrail that the catalog does not know (new or renamed), so a use is never lost for want of a
-- catalog entry.
with catalog as (
    select service, action, access_level from aws_iam_actions
),

observed as (
    select action_lc, min(action) as action
    from rollup_aws_cloudtrail__actions
    group by 1
),

unknown_to_catalog as (
    select split_part(o.action, ':', 1) as service, o.action, cast(null as varchar) as access_level
    from observed as o
    where not exists (select 1 from catalog as c where lower(c.action) = o.action_lc)
),

final as (
    select service, action, lower(action) as action_lc, access_level, true as is_in_catalog
    from catalog
    union all
    select service, action, lower(action), access_level, false
    from unknown_to_catalog
)

select * from final
