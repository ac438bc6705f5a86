package schemas

import "time"

// Lineage column docs shared by every table.
var lineageDocs = map[string]string{
	"_run_id":     "ID of the permlake run that wrote the row.",
	"_source_key": "Storage key (or API call) of the source object the row was read from.",
}

func withLineage(docs map[string]string) map[string]string {
	for k, v := range lineageDocs {
		docs[k] = v
	}
	return docs
}

// CloudTrailEvent is one row of aws_cloudtrail_events: one CloudTrail record, flattened, with the
// principal it is attributed to and the IAM action(s) it exercised.
type CloudTrailEvent struct {
	EventID                 string    `parquet:"event_id"`
	EventTime               time.Time `parquet:"event_time,timestamp(microsecond:local)"`
	EventVersion            string    `parquet:"event_version"`
	EventSource             string    `parquet:"event_source"`
	EventName               string    `parquet:"event_name"`
	EventType               string    `parquet:"event_type"`
	EventCategory           *string   `parquet:"event_category,optional"`
	AWSRegion               string    `parquet:"aws_region"`
	SourceIPAddress         *string   `parquet:"source_ip_address,optional"`
	UserAgent               *string   `parquet:"user_agent,optional"`
	ErrorCode               *string   `parquet:"error_code,optional"`
	ErrorMessage            *string   `parquet:"error_message,optional"`
	IsReadOnly              *bool     `parquet:"is_read_only,optional"`
	IsManagementEvent       *bool     `parquet:"is_management_event,optional"`
	RecipientAccountID      string    `parquet:"recipient_account_id"`
	SharedEventID           *string   `parquet:"shared_event_id,optional"`
	RequestID               *string   `parquet:"request_id,optional"`
	VPCEndpointID           *string   `parquet:"vpc_endpoint_id,optional"`
	UserIdentityType        string    `parquet:"user_identity_type"`
	UserIdentityARN         *string   `parquet:"user_identity_arn,optional"`
	UserIdentityAccountID   *string   `parquet:"user_identity_account_id,optional"`
	UserIdentityPrincipalID *string   `parquet:"user_identity_principal_id,optional"`
	AccessKeyID             *string   `parquet:"access_key_id,optional"`
	InvokedBy               *string   `parquet:"invoked_by,optional"`
	PrincipalARN            *string   `parquet:"principal_arn,optional"`
	PrincipalAccountID      *string   `parquet:"principal_account_id,optional"`
	PrincipalType           string    `parquet:"principal_type"`
	SessionName             *string   `parquet:"session_name,optional"`
	SourceIdentity          *string   `parquet:"source_identity,optional"`
	IsMFAAuthenticated      *bool     `parquet:"is_mfa_authenticated,optional"`
	IsSuccess               bool      `parquet:"is_success"`
	IAMActions              []string  `parquet:"iam_actions,list"`
	ActionMapping           string    `parquet:"action_mapping"`
	RequestParameters       *string   `parquet:"request_parameters,optional"`
	ResponseElements        *string   `parquet:"response_elements,optional"`
	AdditionalEventData     *string   `parquet:"additional_event_data,optional"`
	Resources               *string   `parquet:"resources,optional"`
	RunID                   string    `parquet:"_run_id"`
	SourceKey               string    `parquet:"_source_key"`
}

// Principal types written to principal_type (CloudTrail events) and the identity tables.
const (
	PrincipalIAMUser   = "iam_user" // an IAM user, directly or through GetFederationToken
	PrincipalIAMRole   = "iam_role" // an IAM role (any assumed-role session, SSO permission sets included)
	PrincipalRoot      = "root"     // the account root user
	PrincipalService   = "aws_service"
	PrincipalAccount   = "aws_account" // another account, no principal detail
	PrincipalFederated = "federated"   // SAML / web identity with no role to credit
	PrincipalUnknown   = "unknown"
)

// Action mapping outcomes written to action_mapping.
const (
	MappingDefault       = "default"         // <prefix>:<eventName>
	MappingException     = "exception"       // from the reviewed exceptions table
	MappingNoPermission  = "no_permission"   // the call needs no IAM permission (iam_actions empty)
	MappingNotAPrincipal = "not_a_principal" // service events: not a principal's call (iam_actions still set)
	MappingUnmapped      = "unmapped"        // could not be mapped (iam_actions empty, counted in unmapped_events)
)

// CloudTrailEvents is the aws_cloudtrail_events table.
var CloudTrailEvents = newTable("aws_cloudtrail_events",
	"CloudTrail records from trail buckets, one row per delivered event, deduplicated on event_id within its partition.",
	"one row per (recipient account, eventID); partitioned by the trail account and the UTC hour of event_time",
	CloudTrailEvent{}, []string{"event_id"}, withLineage(map[string]string{
		"event_id":                   "CloudTrail eventID (GUID); the deduplication key (delivery is at-least-once).",
		"event_time":                 "eventTime: when the request completed (UTC).",
		"event_version":              "eventVersion of the record format (e.g. 1.08).",
		"event_source":               "eventSource, the service endpoint (e.g. s3.amazonaws.com).",
		"event_name":                 "eventName, the API operation as recorded (may carry a dated suffix).",
		"event_type":                 "eventType: AwsApiCall, AwsServiceEvent, AwsConsoleSignIn, AwsConsoleAction, ...",
		"event_category":             "eventCategory: Management, Data, NetworkActivity or Insight.",
		"aws_region":                 "awsRegion the request was made to.",
		"source_ip_address":          "sourceIPAddress of the caller (or the service name for service calls).",
		"user_agent":                 "userAgent of the caller (truncated at 1 KB by CloudTrail).",
		"error_code":                 "errorCode; set only when the call failed (AccessDenied, ...).",
		"error_message":              "errorMessage; set only when the call failed.",
		"is_read_only":               "readOnly flag of the record.",
		"is_management_event":        "managementEvent flag of the record.",
		"recipient_account_id":       "recipientAccountId: the account that received the event.",
		"shared_event_id":            "sharedEventID: shared by the copies of one call delivered to several accounts.",
		"request_id":                 "requestID of the API call.",
		"vpc_endpoint_id":            "vpcEndpointId when the call came through a VPC endpoint.",
		"user_identity_type":         "userIdentity.type as recorded (IAMUser, AssumedRole, Root, FederatedUser, AWSService, ...).",
		"user_identity_arn":          "userIdentity.arn as recorded (a session ARN for assumed roles).",
		"user_identity_account_id":   "userIdentity.accountId: the account owning the calling identity.",
		"user_identity_principal_id": "userIdentity.principalId.",
		"access_key_id":              "userIdentity.accessKeyId (AKIA... long-term, ASIA... temporary).",
		"invoked_by":                 "userIdentity.invokedBy: the AWS service that made the call on the principal's behalf.",
		"principal_arn":              "The principal the call is credited to: the IAM user, the role (session issuer), the root ARN; NULL for service events.",
		"principal_account_id":       "Account of the credited principal (the caller's account, also for cross-account calls).",
		"principal_type":             "Kind of credited principal: iam_user, iam_role, root, aws_service, aws_account, federated, unknown.",
		"session_name":               "Role session name (who was behind an assumed role), or the federated user's name.",
		"source_identity":            "sessionContext.sourceIdentity, when set.",
		"is_mfa_authenticated":       "sessionContext.attributes.mfaAuthenticated.",
		"is_success":                 "True when the call succeeded (no errorCode). Failed calls are attempts, never uses.",
		"iam_actions":                "IAM actions the call exercised (service:Action), empty when it needs none or is unmapped.",
		"action_mapping":             "How iam_actions was derived: default, exception, no_permission, not_a_principal, unmapped.",
		"request_parameters":         "requestParameters as JSON text.",
		"response_elements":          "responseElements as JSON text.",
		"additional_event_data":      "additionalEventData as JSON text.",
		"resources":                  "resources array as JSON text.",
	}))
