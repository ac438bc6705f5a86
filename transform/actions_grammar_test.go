package transform

import (
	"slices"
	"strings"
	"testing"

	"github.com/permlake/permlake/schemas"
)

// TestMapEventGrammar: an eventSource or eventName outside the grammar real CloudTrail records
// follow (FORMATS.md §1.3, §2.1: `<service>.amazonaws.com` lowercase; an API operation name,
// letters and digits with an optional dated suffix) is an unmapped event, never an IAM action: one
// forged record with eventName "*" or "Get*" would otherwise make the least-privilege policy
// grant iam:* or iam:Get*.
func TestMapEventGrammar(t *testing.T) {
	t.Parallel()
	forged := []struct{ source, name string }{
		{"iam.amazonaws.com", "*"},
		{"iam.amazonaws.com", "Get*"},
		{"iam.amazonaws.com", "*User"},
		{"iam.amazonaws.com", "Get?ser"},
		{"iam.amazonaws.com", "Get[U]ser"},
		{"iam.amazonaws.com", "GetUser*"},
		{"iam.amazonaws.com", "Get-User"},
		{"iam.amazonaws.com", "Get.User"},
		{"iam.amazonaws.com", "GetUser\n"},
		{"iam.amazonaws.com", "G\u0435tUser"}, // Cyrillic e
		{"iam.amazonaws.com", "1GetUser"},
		{"iam.amazonaws.com", "20150331"},
		{"iam.amazonaws.com", strings.Repeat("A", 200)},
		{"*.amazonaws.com", "GetUser"},
		{"i*.amazonaws.com", "GetUser"},
		{"IAM.amazonaws.com", "GetUser"},
		{"-iam.amazonaws.com", "GetUser"},
		{"iam-.amazonaws.com", "GetUser"},
		{"ia m.amazonaws.com", "GetUser"},
		{"iam..amazonaws.com", "GetUser"},
		{"iam.amazonaws.com.", "GetUser"},
	}
	for _, tc := range forged {
		t.Run("forged "+tc.source+"/"+tc.name, func(t *testing.T) {
			got, rule := MapEvent(tc.source, tc.name)
			if got != nil || rule != schemas.MappingUnmapped {
				t.Errorf("MapEvent(%q, %q) = %v, %s; want no action, %s", tc.source, tc.name, got, rule, schemas.MappingUnmapped)
			}
		})
	}
	real := []struct{ source, name, want string }{
		{"sso-directory.amazonaws.com", "ListGroups", "sso-directory:ListGroups"},
		{"access-analyzer.amazonaws.com", "ListAnalyzers", "access-analyzer:ListAnalyzers"},
		{"cloudfront.amazonaws.com", "ListDistributions2020_05_31", "cloudfront:ListDistributions"},
		{"lambda.amazonaws.com", "GetFunctionConfiguration20150331v2", "lambda:GetFunctionConfiguration"},
		{"s3.amazonaws.com", "ListObjectsV2", "s3:ListBucket"},
		{"ec2.amazonaws.com", "DescribeInstances", "ec2:DescribeInstances"},
	}
	for _, tc := range real {
		t.Run("real "+tc.source+"/"+tc.name, func(t *testing.T) {
			got, _ := MapEvent(tc.source, tc.name)
			if !slices.Equal(got, []string{tc.want}) {
				t.Errorf("MapEvent(%q, %q) = %v, want [%s]", tc.source, tc.name, got, tc.want)
			}
		})
	}
}

// TestCloudTrailEventForgedName: the row of a record with a wildcard eventName is kept (it is
// activity, counted in unmapped_events) but carries no IAM action.
func TestCloudTrailEventForgedName(t *testing.T) {
	t.Parallel()
	for _, name := range []string{"*", "Get*", "Delete?"} {
		raw := `{"eventVersion":"1.08","eventID":"e-` + name + `","eventTime":"2026-11-02T07:15:00Z","eventSource":"iam.amazonaws.com","eventName":"` + name +
			`","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::012345678901:user/alice","accountId":"012345678901"},"recipientAccountId":"012345678901"}`
		ev, err := CloudTrailEvent([]byte(raw), Lineage{})
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if len(ev.IAMActions) != 0 || ev.ActionMapping != schemas.MappingUnmapped {
			t.Errorf("eventName %q: actions %v, mapping %s; want none, %s", name, ev.IAMActions, ev.ActionMapping, schemas.MappingUnmapped)
		}
	}
}
