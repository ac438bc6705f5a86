package transform

import (
	"regexp"
	"sort"
	"strings"

	json "github.com/goccy/go-json"

	"github.com/permlake/permlake/schemas"
)

// This file is the one reviewed place where CloudTrail (eventSource, eventName) pairs become IAM
// actions. The default is `<eventSource without .amazonaws.com>:<eventName>`; every departure from
// it is listed below with its source. Add to these tables, never special-case elsewhere.

// serviceRenames maps an eventSource prefix to the IAM service prefix where they differ.
// Sources: CloudTracker SERVICE_RENAMES; iann0036/iam-dataset aws/map.json
// cloudtrail_service_mappings (FORMATS.md §2.2.1).
var serviceRenames = map[string]string{
	"monitoring":                 "cloudwatch",
	"email":                      "ses",
	"pinpoint":                   "mobiletargeting",
	"tagging":                    "tag",
	"pricelist":                  "pricing",
	"rdsdata":                    "rds-data",
	"qconnect":                   "wisdom",
	"migrationhub":               "mgh",
	"amazonmq":                   "mq",
	"opensearchservice":          "es",
	"servicecatalog-appregistry": "servicecatalog",
	"transcribestreaming":        "transcribe",
	"taxconsole":                 "tax",
}

// eventRenames maps "<iam prefix>:<eventName>" (after the dated suffix is cut) to the IAM
// action(s) the call needs, where the API operation name is not the IAM action name.
// Sources: FORMATS.md §2.2.3-4 (CloudTracker EVENT_RENAMES, iam-dataset map.json, S3 API reference).
var eventRenames = map[string][]string{
	"s3:ListBuckets":                        {"s3:ListAllMyBuckets"},
	"s3:ListObjects":                        {"s3:ListBucket"},
	"s3:ListObjectsV2":                      {"s3:ListBucket"},
	"s3:ListObjectVersions":                 {"s3:ListBucketVersions"},
	"s3:HeadObject":                         {"s3:GetObject"},
	"s3:HeadBucket":                         {"s3:ListBucket"},
	"s3:GetBucketAccessControlPolicy":       {"s3:GetBucketAcl"},
	"s3:SetBucketAccessControlPolicy":       {"s3:PutBucketAcl"},
	"s3:GetBucketLoggingStatus":             {"s3:GetBucketLogging"},
	"s3:SetBucketLoggingStatus":             {"s3:PutBucketLogging"},
	"s3:GetBucketCors":                      {"s3:GetBucketCORS"},
	"s3:PutBucketCors":                      {"s3:PutBucketCORS"},
	"s3:DeleteBucketCors":                   {"s3:PutBucketCORS"},
	"s3:GetBucketLifecycle":                 {"s3:GetLifecycleConfiguration"},
	"s3:GetBucketLifecycleConfiguration":    {"s3:GetLifecycleConfiguration"},
	"s3:PutBucketLifecycle":                 {"s3:PutLifecycleConfiguration"},
	"s3:PutBucketLifecycleConfiguration":    {"s3:PutLifecycleConfiguration"},
	"s3:DeleteBucketLifecycle":              {"s3:PutLifecycleConfiguration"},
	"s3:GetBucketEncryption":                {"s3:GetEncryptionConfiguration"},
	"s3:PutBucketEncryption":                {"s3:PutEncryptionConfiguration"},
	"s3:DeleteBucketEncryption":             {"s3:PutEncryptionConfiguration"},
	"s3:GetBucketReplication":               {"s3:GetReplicationConfiguration"},
	"s3:PutBucketReplication":               {"s3:PutReplicationConfiguration"},
	"s3:DeleteBucketReplication":            {"s3:PutReplicationConfiguration"},
	"s3:GetBucketNotificationConfiguration": {"s3:GetBucketNotification"},
	"s3:PutBucketNotificationConfiguration": {"s3:PutBucketNotification"},
	"s3:DeleteObjects":                      {"s3:DeleteObject"},
	"s3:CreateMultipartUpload":              {"s3:PutObject"},
	"s3:UploadPart":                         {"s3:PutObject"},
	"s3:CompleteMultipartUpload":            {"s3:PutObject"},
	"s3:CopyObject":                         {"s3:GetObject", "s3:PutObject"},
	"s3:UploadPartCopy":                     {"s3:GetObject", "s3:PutObject"},
	"lambda:Invoke":                         {"lambda:InvokeFunction"},
	"lambda:InvokeAsync":                    {"lambda:InvokeFunction"},
	"lambda:GetLayerVersionByArn":           {"lambda:GetLayerVersion"},
}

// noPermission lists calls that need no IAM permission: they are activity of the caller but never
// a "used" action. Sources: FORMATS.md §2.2.5 (STS API reference; iam-dataset
// sdk_permissionless_actions; CloudTracker NO_IAM).
var noPermission = map[string]bool{
	"sts:GetCallerIdentity":      true,
	"sts:GetSessionToken":        true,
	"dynamodb:DescribeEndpoints": true,
	"signin:ConsoleLogin":        true,
	"signin:CheckMfa":            true,
	"signin:SwitchRole":          true,
	"signin:ExitRole":            true,
	"signin:RenewRole":           true,
}

// datedSuffix matches API-version suffixes at the end of an event name: Lambda's
// ListFunctions20150331 and GetFunctionConfiguration20150331v2, CloudFront's
// ListDistributions2020_05_31. Anchored at the end so names containing "20" elsewhere survive.
var datedSuffix = regexp.MustCompile(`(?:\d{8}|\d{4}_\d{2}_\d{2})(?:v\d+)?$`)

// MapEvent returns the IAM actions a CloudTrail event with eventSource and eventName exercised and
// how they were found (schemas.Mapping*). Calls needing no permission return no action and
// MappingNoPermission; sources that are not AWS service endpoints return MappingUnmapped.
func MapEvent(eventSource, eventName string) ([]string, string) {
	prefix, ok := strings.CutSuffix(eventSource, ".amazonaws.com")
	if !ok || !validServiceName(prefix) || !validEventName(eventName) {
		return nil, schemas.MappingUnmapped
	}
	rule := schemas.MappingDefault
	if p, ok := serviceRenames[prefix]; ok {
		prefix, rule = p, schemas.MappingException
	}
	name := eventName
	// Only a name ending in a digit can carry a dated suffix: checking that first keeps the regexp
	// off almost every event (it cost 3% of the ingest in the bench profile).
	if last := name[len(name)-1]; last >= '0' && last <= '9' {
		if cut := datedSuffix.ReplaceAllString(name, ""); cut != name && cut != "" {
			name, rule = cut, schemas.MappingException
		}
	}
	action := prefix + ":" + name
	if noPermission[action] {
		return nil, schemas.MappingNoPermission
	}
	if acts, ok := eventRenames[action]; ok {
		return append([]string(nil), acts...), schemas.MappingException
	}
	return []string{action}, rule
}

// maxEventName bounds an eventName: API operation names are identifiers well under this.
const maxEventName = 128

// validEventName says whether name has the form of an API operation name (FORMATS.md §2.1: the
// eventName is the public API operation name): a letter, then letters, digits and the
// underscores of a dated suffix (§2.2.2: ListDistributions2020_05_31). Anything else — above all
// the IAM wildcards * and ? — must never become part of an IAM action: one forged record with
// eventName "*" would make the least-privilege policy grant <service>:* (issue 13).
func validEventName(name string) bool {
	if name == "" || len(name) > maxEventName || !isLetter(name[0]) {
		return false
	}
	for i := 1; i < len(name); i++ {
		if c := name[i]; !isLetter(c) && !(c >= '0' && c <= '9') && c != '_' {
			return false
		}
	}
	return true
}

// validServiceName says whether s, an eventSource without ".amazonaws.com", has the form of an
// AWS service endpoint name (FORMATS.md §1.3): dot-separated lowercase labels of letters, digits
// and inner hyphens (sso-directory, access-analyzer).
func validServiceName(s string) bool {
	if s == "" || len(s) > 63 {
		return false
	}
	for label := range strings.SplitSeq(s, ".") {
		if label == "" || label[0] == '-' || label[len(label)-1] == '-' {
			return false
		}
		for i := 0; i < len(label); i++ {
			if c := label[i]; !(c >= 'a' && c <= 'z') && !(c >= '0' && c <= '9') && c != '-' {
				return false
			}
		}
	}
	return true
}

func isLetter(c byte) bool { return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' }

// requestActions refines the mapping for calls whose permission depends on the request
// (FORMATS.md §2.2.4): DynamoDB PartiQL statements need PartiQLSelect/Insert/Update/Delete by
// the statement's verb, transactions the item actions they contain. ok is false when the call is
// not one of these or the request does not tell (the default mapping then stands).
func requestActions(eventSource, eventName string, req []byte) (actions []string, ok bool) {
	if eventSource != "dynamodb.amazonaws.com" || len(req) == 0 {
		return nil, false
	}
	switch eventName {
	case "ExecuteStatement", "BatchExecuteStatement", "ExecuteTransaction":
		var r struct {
			Statement  string `json:"statement"`
			Statements []struct {
				Statement string `json:"statement"`
			} `json:"statements"`
			TransactStatements []struct {
				Statement string `json:"statement"`
			} `json:"transactStatements"`
		}
		if json.Unmarshal(req, &r) != nil {
			return nil, false
		}
		texts := []string{r.Statement}
		for _, s := range append(r.Statements, r.TransactStatements...) {
			texts = append(texts, s.Statement)
		}
		seen := map[string]bool{}
		for _, text := range texts {
			verb, _, _ := strings.Cut(strings.TrimSpace(text), " ")
			var a string
			switch strings.ToUpper(verb) {
			case "SELECT":
				a = "dynamodb:PartiQLSelect"
			case "INSERT":
				a = "dynamodb:PartiQLInsert"
			case "UPDATE":
				a = "dynamodb:PartiQLUpdate"
			case "DELETE":
				a = "dynamodb:PartiQLDelete"
			default:
				continue
			}
			if !seen[a] {
				seen[a] = true
				actions = append(actions, a)
			}
		}
		return actions, len(actions) > 0
	case "TransactWriteItems", "TransactGetItems":
		var r struct {
			TransactItems []map[string]json.RawMessage `json:"transactItems"`
		}
		if json.Unmarshal(req, &r) != nil || len(r.TransactItems) == 0 {
			return nil, false
		}
		byKind := map[string]string{"conditionCheck": "dynamodb:ConditionCheckItem", "put": "dynamodb:PutItem",
			"update": "dynamodb:UpdateItem", "delete": "dynamodb:DeleteItem", "get": "dynamodb:GetItem"}
		seen := map[string]bool{}
		for _, item := range r.TransactItems {
			for kind := range item {
				if a, ok := byKind[kind]; ok && !seen[a] {
					seen[a] = true
					actions = append(actions, a)
				}
			}
		}
		sort.Strings(actions)
		return actions, len(actions) > 0
	}
	return nil, false
}
