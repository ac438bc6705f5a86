package transform

import (
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/schemas"
)

func str(p *string) string {
	if p == nil {
		return "<nil>"
	}
	return *p
}

func TestCloudTrailEventAttribution(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name                       string
		record                     string
		wantType, wantARN, wantAcc string
		wantSession                string
		wantActions                string
		wantMapping                string
		wantSuccess                bool
	}{
		{
			name: "iam user",
			record: `{"eventVersion":"1.08","userIdentity":{"type":"IAMUser","principalId":"AIDAX","arn":"arn:aws:iam::012345678901:user/ops/alice","accountId":"012345678901","accessKeyId":"AKIAX","userName":"alice"},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"ec2.amazonaws.com","eventName":"DescribeInstances","awsRegion":"us-east-1","sourceIPAddress":"203.0.113.1","userAgent":"aws-cli","requestParameters":{"maxResults":5},"responseElements":null,"requestID":"r1","eventID":"e1","readOnly":true,"eventType":"AwsApiCall","managementEvent":true,"recipientAccountId":"012345678901","eventCategory":"Management"}`,
			wantType: schemas.PrincipalIAMUser, wantARN: "arn:aws:iam::012345678901:user/ops/alice", wantAcc: "012345678901", wantSession: "<nil>",
			wantActions: "ec2:DescribeInstances", wantMapping: schemas.MappingDefault, wantSuccess: true,
		},
		{
			name: "assumed role credits the session issuer with its path",
			record: `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","principalId":"AROAX:bob@example.com","arn":"arn:aws:sts::111111111111:assumed-role/AWSReservedSSO_Admin_0123456789abcdef/bob@example.com","accountId":"111111111111","accessKeyId":"ASIAX",
			"sessionContext":{"sessionIssuer":{"type":"Role","principalId":"AROAX","arn":"arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef","accountId":"111111111111","userName":"AWSReservedSSO_Admin_0123456789abcdef"},"attributes":{"creationDate":"2026-11-02T07:00:00Z","mfaAuthenticated":"false"},"sourceIdentity":"bob"}},
			"eventTime":"2026-11-02T07:15:00.123Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","awsRegion":"us-east-1","eventID":"e2","eventType":"AwsApiCall","recipientAccountId":"111111111111"}`,
			wantType: schemas.PrincipalIAMRole, wantARN: "arn:aws:iam::111111111111:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin_0123456789abcdef", wantAcc: "111111111111",
			wantSession: "bob@example.com", wantActions: "s3:ListAllMyBuckets", wantMapping: schemas.MappingException, wantSuccess: true,
		},
		{
			name: "cross-account call counts for the caller's account",
			record: `{"eventVersion":"1.08","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::222222222222:assumed-role/deployer/ci","accountId":"222222222222",
			"sessionContext":{"sessionIssuer":{"type":"Role","arn":"arn:aws:iam::222222222222:role/deployer","accountId":"222222222222"}}},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"e3","eventType":"AwsApiCall","recipientAccountId":"333333333333","sharedEventID":"s1"}`,
			wantType: schemas.PrincipalIAMRole, wantARN: "arn:aws:iam::222222222222:role/deployer", wantAcc: "222222222222", wantSession: "ci",
			wantActions: "kms:Decrypt", wantMapping: schemas.MappingDefault, wantSuccess: true,
		},
		{
			name: "assumed role without session issuer falls back to the session ARN",
			record: `{"userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::222222222222:assumed-role/deployer/ci","accountId":"222222222222"},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"kms.amazonaws.com","eventName":"Decrypt","eventID":"e3b","recipientAccountId":"222222222222"}`,
			wantType: schemas.PrincipalIAMRole, wantARN: "arn:aws:iam::222222222222:role/deployer", wantAcc: "222222222222", wantSession: "ci",
			wantActions: "kms:Decrypt", wantMapping: schemas.MappingDefault, wantSuccess: true,
		},
		{
			name: "root",
			record: `{"userIdentity":{"type":"Root","principalId":"111111111111","arn":"arn:aws:iam::111111111111:root","accountId":"111111111111"},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"iam.amazonaws.com","eventName":"ListUsers","eventID":"e4","eventType":"AwsApiCall","recipientAccountId":"111111111111"}`,
			wantType: schemas.PrincipalRoot, wantARN: "arn:aws:iam::111111111111:root", wantAcc: "111111111111", wantSession: "<nil>",
			wantActions: "iam:ListUsers", wantMapping: schemas.MappingDefault, wantSuccess: true,
		},
		{
			name: "federated user credits the IAM user that federated",
			record: `{"userIdentity":{"type":"FederatedUser","principalId":"111111111111:carol-fed","arn":"arn:aws:sts::111111111111:federated-user/carol-fed","accountId":"111111111111",
			"sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/carol","accountId":"111111111111","userName":"carol"}}},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"dynamodb.amazonaws.com","eventName":"DescribeTable","eventID":"e5","recipientAccountId":"111111111111"}`,
			wantType: schemas.PrincipalIAMUser, wantARN: "arn:aws:iam::111111111111:user/carol", wantAcc: "111111111111", wantSession: "carol-fed",
			wantActions: "dynamodb:DescribeTable", wantMapping: schemas.MappingDefault, wantSuccess: true,
		},
		{
			name: "aws service is nobody's call",
			record: `{"userIdentity":{"type":"AWSService","invokedBy":"lambda.amazonaws.com"},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","eventID":"e6","eventType":"AwsServiceEvent","recipientAccountId":"111111111111"}`,
			wantType: schemas.PrincipalService, wantARN: "<nil>", wantAcc: "<nil>", wantSession: "<nil>",
			wantActions: "sts:AssumeRole", wantMapping: schemas.MappingNotAPrincipal, wantSuccess: true,
		},
		{
			name: "failed call is an attempt",
			record: `{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/dave","accountId":"111111111111"},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"iam.amazonaws.com","eventName":"CreateUser","errorCode":"AccessDenied","errorMessage":"not authorized","eventID":"e7","recipientAccountId":"111111111111"}`,
			wantType: schemas.PrincipalIAMUser, wantARN: "arn:aws:iam::111111111111:user/dave", wantAcc: "111111111111", wantSession: "<nil>",
			wantActions: "iam:CreateUser", wantMapping: schemas.MappingDefault, wantSuccess: false,
		},
		{
			name: "console login needs no permission",
			record: `{"userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/erin","accountId":"111111111111"},
			"eventTime":"2026-11-02T07:15:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","eventID":"e8","eventType":"AwsConsoleSignIn","recipientAccountId":"111111111111"}`,
			wantType: schemas.PrincipalIAMUser, wantARN: "arn:aws:iam::111111111111:user/erin", wantAcc: "111111111111", wantSession: "<nil>",
			wantActions: "", wantMapping: schemas.MappingNoPermission, wantSuccess: true,
		},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			ev, err := CloudTrailEvent([]byte(tc.record), Lineage{RunID: "run1", SourceKey: "k"})
			if err != nil {
				t.Fatal(err)
			}
			if ev.PrincipalType != tc.wantType || str(ev.PrincipalARN) != tc.wantARN || str(ev.PrincipalAccountID) != tc.wantAcc || str(ev.SessionName) != tc.wantSession {
				t.Errorf("attribution = %s %s %s %s; want %s %s %s %s", ev.PrincipalType, str(ev.PrincipalARN), str(ev.PrincipalAccountID), str(ev.SessionName),
					tc.wantType, tc.wantARN, tc.wantAcc, tc.wantSession)
			}
			if got := strings.Join(ev.IAMActions, ","); got != tc.wantActions || ev.ActionMapping != tc.wantMapping {
				t.Errorf("actions = %q %s; want %q %s", got, ev.ActionMapping, tc.wantActions, tc.wantMapping)
			}
			if ev.IsSuccess != tc.wantSuccess {
				t.Errorf("IsSuccess = %v", ev.IsSuccess)
			}
			if ev.IAMActions == nil {
				t.Error("IAMActions is nil; want an empty list so the column is never NULL")
			}
			if ev.EventTime.Location() != time.UTC || ev.RunID != "run1" || ev.SourceKey != "k" {
				t.Errorf("time/lineage not set: %v %s %s", ev.EventTime, ev.RunID, ev.SourceKey)
			}
		})
	}
}

func TestCloudTrailEventFields(t *testing.T) {
	t.Parallel()
	ev, err := CloudTrailEvent([]byte(`{"eventVersion":"1.09","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/a","accountId":"111111111111"},
	"eventTime":"2026-11-02T07:15:00.5+01:00","eventSource":"s3.amazonaws.com","eventName":"GetBucketPolicy","requestParameters":{"bucketName":"b"},
	"readOnly":"true","managementEvent":false,"eventID":"x","recipientAccountId":"111111111111","resources":[{"ARN":"arn:aws:s3:::b"}]}`), Lineage{})
	if err != nil {
		t.Fatal(err)
	}
	if want := time.Date(2026, 11, 2, 6, 15, 0, 5e8, time.UTC); !ev.EventTime.Equal(want) {
		t.Errorf("EventTime = %v, want %v", ev.EventTime, want)
	}
	if ev.IsReadOnly == nil || !*ev.IsReadOnly || ev.IsManagementEvent == nil || *ev.IsManagementEvent {
		t.Errorf("flags = %v %v", ev.IsReadOnly, ev.IsManagementEvent)
	}
	if str(ev.RequestParameters) != `{"bucketName":"b"}` || str(ev.Resources) != `[{"ARN":"arn:aws:s3:::b"}]` || ev.ResponseElements != nil || ev.ErrorCode != nil {
		t.Errorf("payloads = %s %s %v %v", str(ev.RequestParameters), str(ev.Resources), ev.ResponseElements, ev.ErrorCode)
	}
}

func TestCloudTrailEventErrors(t *testing.T) {
	t.Parallel()
	for name, rec := range map[string]string{
		"not json":      `{"eventID":`,
		"no event id":   `{"eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"X"}`,
		"no time":       `{"eventID":"a","eventSource":"s3.amazonaws.com","eventName":"X"}`,
		"bad time":      `{"eventID":"a","eventTime":"yesterday","eventSource":"s3.amazonaws.com","eventName":"X"}`,
		"no event name": `{"eventID":"a","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com"}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := CloudTrailEvent([]byte(rec), Lineage{}); err == nil {
				t.Errorf("no error for %s", rec)
			}
		})
	}
}
