package transform

import (
	"reflect"
	"testing"

	"github.com/permlake/permlake/schemas"
)

func TestMapEvent(t *testing.T) {
	t.Parallel()
	tests := []struct {
		source, name string
		want         []string
		rule         string
	}{
		{"ec2.amazonaws.com", "DescribeInstances", []string{"ec2:DescribeInstances"}, schemas.MappingDefault},
		{"iam.amazonaws.com", "ListRoles", []string{"iam:ListRoles"}, schemas.MappingDefault},
		{"monitoring.amazonaws.com", "PutMetricData", []string{"cloudwatch:PutMetricData"}, schemas.MappingException},
		{"email.amazonaws.com", "SendEmail", []string{"ses:SendEmail"}, schemas.MappingException},
		{"s3.amazonaws.com", "ListBuckets", []string{"s3:ListAllMyBuckets"}, schemas.MappingException},
		{"s3.amazonaws.com", "GetBucketAcl", []string{"s3:GetBucketAcl"}, schemas.MappingDefault},
		{"s3.amazonaws.com", "SetBucketLoggingStatus", []string{"s3:PutBucketLogging"}, schemas.MappingException},
		{"s3.amazonaws.com", "CopyObject", []string{"s3:GetObject", "s3:PutObject"}, schemas.MappingException},
		{"lambda.amazonaws.com", "ListFunctions20150331", []string{"lambda:ListFunctions"}, schemas.MappingException},
		{"lambda.amazonaws.com", "GetFunction20150331v2", []string{"lambda:GetFunction"}, schemas.MappingException},
		{"lambda.amazonaws.com", "Invoke", []string{"lambda:InvokeFunction"}, schemas.MappingException},
		{"cloudfront.amazonaws.com", "ListDistributions2020_05_31", []string{"cloudfront:ListDistributions"}, schemas.MappingException},
		// "20" inside a name is not a dated suffix.
		{"ec2.amazonaws.com", "Describe2020Things", []string{"ec2:Describe2020Things"}, schemas.MappingDefault},
		{"sts.amazonaws.com", "GetCallerIdentity", nil, schemas.MappingNoPermission},
		{"signin.amazonaws.com", "ConsoleLogin", nil, schemas.MappingNoPermission},
		{"sts.amazonaws.com", "AssumeRole", []string{"sts:AssumeRole"}, schemas.MappingDefault},
		{"example.com", "DoThing", nil, schemas.MappingUnmapped},
		{"s3.amazonaws.com", "", nil, schemas.MappingUnmapped},
		{".amazonaws.com", "X", nil, schemas.MappingUnmapped},
	}
	for _, tc := range tests {
		t.Run(tc.source+"/"+tc.name, func(t *testing.T) {
			got, rule := MapEvent(tc.source, tc.name)
			if !reflect.DeepEqual(got, tc.want) || rule != tc.rule {
				t.Errorf("MapEvent(%q, %q) = %v, %s; want %v, %s", tc.source, tc.name, got, rule, tc.want, tc.rule)
			}
		})
	}
}

func TestMapEventDoesNotShareSlices(t *testing.T) {
	t.Parallel()
	a, _ := MapEvent("s3.amazonaws.com", "CopyObject")
	a[0] = "changed"
	b, _ := MapEvent("s3.amazonaws.com", "CopyObject")
	if b[0] != "s3:GetObject" {
		t.Fatalf("exceptions table was modified through a returned slice: %v", b)
	}
}

func TestRequestActions(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, req string
		want      []string
	}{
		{"ExecuteStatement", `{"statement":"select * from Music where Artist = ?"}`, []string{"dynamodb:PartiQLSelect"}},
		{"BatchExecuteStatement", `{"statements":[{"statement":"INSERT INTO Music VALUE {}"},{"statement":"DELETE FROM Music WHERE a = 1"}]}`,
			[]string{"dynamodb:PartiQLInsert", "dynamodb:PartiQLDelete"}},
		{"ExecuteTransaction", `{"transactStatements":[{"statement":"UPDATE Music SET a = 1"}]}`, []string{"dynamodb:PartiQLUpdate"}},
		{"TransactWriteItems", `{"transactItems":[{"put":{}},{"conditionCheck":{}},{"put":{}}]}`, []string{"dynamodb:ConditionCheckItem", "dynamodb:PutItem"}},
		{"TransactGetItems", `{"transactItems":[{"get":{}}]}`, []string{"dynamodb:GetItem"}},
		{"ExecuteStatement", `{"statement":"EXPLAIN x"}`, nil},
		{"ExecuteStatement", `null`, nil},
		{"GetItem", `{"key":{}}`, nil},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			got, ok := requestActions("dynamodb.amazonaws.com", tc.name, []byte(tc.req))
			if !reflect.DeepEqual(got, tc.want) || ok != (tc.want != nil) {
				t.Errorf("requestActions(%s, %s) = %v, %v; want %v", tc.name, tc.req, got, ok, tc.want)
			}
		})
	}
	ev, err := CloudTrailEvent([]byte(`{"eventID":"x","eventTime":"2026-11-02T07:00:00Z","eventSource":"dynamodb.amazonaws.com","eventName":"ExecuteStatement",
		"requestParameters":{"statement":"SELECT * FROM t"},"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/a"}}`), Lineage{})
	if err != nil || !reflect.DeepEqual(ev.IAMActions, []string{"dynamodb:PartiQLSelect"}) || ev.ActionMapping != schemas.MappingException {
		t.Errorf("event = %v %s %v", ev.IAMActions, ev.ActionMapping, err)
	}
}
