-- AWS service events are attributed to no principal.
select *
from stg_aws__cloudtrail_events
where principal_type = 'aws_service' and principal_arn is not null
