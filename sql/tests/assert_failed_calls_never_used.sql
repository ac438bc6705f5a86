-- Actions whose only calls failed are never counted as used.
select u.*
from int_actions__used as u
where u.uses > 0 and u.first_used_at is null
