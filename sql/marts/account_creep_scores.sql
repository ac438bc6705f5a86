-- The accounts' roll-up of their identities' creep scores.
with scores as (
    select * from creep_scores
),

final as (
    select
        cloud,
        account_id,
        count(*) as identities,
        count(*) filter (where band = 'high') as high_band_identities,
        cast(round(avg(score)) as integer) as score
    from scores
    group by cloud, account_id
)

select
    *,
    case when score <= 33 then 'low' when score <= 66 then 'medium' else 'high' end as band
from final
