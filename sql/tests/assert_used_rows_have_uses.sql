-- A permission is used only with at least one successful call; unused/unknown ones have none.
select *
from permission_usage
where (status in ('used', 'used_not_granted') and uses = 0)
    or (status in ('unused', 'unknown') and uses > 0)
