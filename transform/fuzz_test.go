package transform

import (
	"testing"

	"github.com/permlake/permlake/schemas"
)

// FuzzCloudTrailEvent: any input either decodes into a row whose invariants hold or is an error;
// it never panics.
func FuzzCloudTrailEvent(f *testing.F) {
	f.Add([]byte(`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/r/s"}}`))
	f.Add([]byte(`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"lambda.amazonaws.com","eventName":"GetFunction20150331v2","readOnly":"true","userIdentity":{"type":"FederatedUser","sessionContext":{"sessionIssuer":{"type":"Root"}}}}`))
	f.Add([]byte(`{"eventID":"e","eventTime":"x"}`))
	f.Add([]byte(`[]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		ev, err := CloudTrailEvent(raw, Lineage{})
		if err != nil {
			return
		}
		if ev.EventID == "" || ev.IAMActions == nil || ev.PrincipalType == "" || ev.ActionMapping == "" {
			t.Fatalf("row breaks invariants: %+v", ev)
		}
		if ev.IsSuccess != (ev.ErrorCode == nil) {
			t.Fatalf("IsSuccess %v with errorCode %v", ev.IsSuccess, ev.ErrorCode)
		}
	})
}

// FuzzPolicyStatements: parsing never panics, and every statement it returns is Allow or Deny
// with at least one Action or NotAction pattern.
func FuzzPolicyStatements(f *testing.F) {
	f.Add(`{"Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`)
	f.Add(`{"Statement":[{"Effect":"deny","NotAction":["iam:*"],"NotResource":"x","Condition":{"Bool":{"a":"b"}}}]}`)
	f.Add(`%7B%22Statement%22%3A%5B%5D%7D`)
	f.Fuzz(func(t *testing.T, doc string) {
		d, err := DecodePolicyDocument(doc)
		if err != nil {
			return
		}
		sts, err := PolicyStatements("p", d, schemas.IAMPolicyStatement{})
		if err != nil {
			return
		}
		for _, s := range sts {
			if s.Effect != "Allow" && s.Effect != "Deny" || len(s.Actions)+len(s.NotActions) == 0 || s.Actions == nil || s.Resources == nil {
				t.Fatalf("bad statement %+v", s)
			}
		}
	})
}
