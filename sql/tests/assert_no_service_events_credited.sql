-- AWS service events are attributed to no principal.
select *
from rollup_aws_cloudtrail__events
where principal_type = 'aws_service' and principal_arn is not null
