package transform

import (
	"bytes"
	stdjson "encoding/json"
	"errors"
	"net/url"
	"strings"
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

// FuzzPolicyDocument: a policy document field in either GAAD form (an object, or a string holding
// URL-encoded or plain JSON) yields compact JSON object text or an error, never a panic; the text
// reads back unchanged, and an object yields what its URL-encoded string form yields.
func FuzzPolicyDocument(f *testing.F) {
	f.Add([]byte(`{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"s3:Get*","Resource":"*"}}`))
	f.Add([]byte(`"%7B%0A%20%20%22Statement%22%3A%20%5B%5D%0A%7D"`))
	f.Add([]byte(`"{\"Statement\":[]}"`))
	f.Add([]byte(`{ "Statement" : [ { "Effect" : "Deny", "NotAction" : "iam:*", "Condition" : { "StringEquals" : { "a" : "b+c" } } } ] }`))
	f.Add([]byte(`[1]`))
	f.Fuzz(func(t *testing.T, raw []byte) {
		text, err := policyDocument(raw)
		if err != nil {
			return
		}
		var buf bytes.Buffer
		if !strings.HasPrefix(text, "{") || stdjson.Compact(&buf, []byte(text)) != nil || buf.String() != text {
			t.Fatalf("%q: text %q is not a compact JSON object", raw, text)
		}
		if again, err := policyDocument([]byte(text)); err != nil || again != text {
			t.Fatalf("%q: text %q reads back as %q, %v", raw, text, again, err)
		}
		if raw := bytes.TrimSpace(raw); raw[0] == '{' {
			enc, _ := stdjson.Marshal(url.PathEscape(string(raw)))
			if viaString, err := policyDocument(enc); err != nil || viaString != text {
				t.Fatalf("%q: the object gives %q, its URL-encoded string %q (%v)", raw, text, viaString, err)
			}
		}
	})
}

// FuzzGAAD: any pages give either an error naming the source key or a snapshot whose rows hold
// together: every skipped item and every error is named by the source key, every statement
// belongs to a policy row or an inline attachment, every document is a JSON object. Never a panic.
func FuzzGAAD(f *testing.F) {
	f.Add([]byte(`{"UserDetailList":[{"UserName":"a","Arn":"arn:aws:iam::1:user/a","CreateDate":"2026-01-02 03:04:05+00:00","GroupList":["g"],"UserPolicyList":[{"PolicyName":"p","PolicyDocument":{"Statement":{"Effect":"Allow","Action":"*"}}}]}],"IsTruncated":true}`),
		[]byte(`{"GroupDetailList":[{"GroupName":"g","Arn":"arn:aws:iam::1:group/g","CreateDate":"2026-01-02T03:04:05Z"}],"Policies":[{"Arn":"arn:aws:iam::1:policy/m","DefaultVersionId":"v1","PolicyVersionList":[{"VersionId":"v1","Document":"%7B%22Statement%22%3A%5B%5D%7D"}]}]}`))
	f.Add([]byte(`{"RoleDetailList":[{"RoleName":"r","Arn":"arn:aws:iam::1:role/r","AssumeRolePolicyDocument":"%ZZ","RoleLastUsed":{"LastUsedDate":"2026-01-02T03:04:05+00:00"}}]}`), []byte(nil))
	f.Add([]byte(`{`), []byte(`{}`))
	const key = "iam/000000000001/"
	f.Fuzz(func(t *testing.T, page1, page2 []byte) {
		pages := [][]byte{page1}
		if len(page2) > 0 {
			pages = append(pages, page2)
		}
		s, err := GAAD(pages, SnapshotMeta{Lineage: Lineage{SourceKey: key}})
		if err != nil {
			if !strings.HasPrefix(err.Error(), key) {
				t.Fatalf("error %q does not name the source key", err)
			}
			return
		}
		for _, e := range s.Skipped {
			if !strings.HasPrefix(e.Error(), key+" gaad page ") {
				t.Fatalf("skipped %q is not named by source key and page", e)
			}
		}
		owner := map[string]bool{}
		isObject := func(doc string) bool { return strings.HasPrefix(doc, "{") && stdjson.Valid([]byte(doc)) }
		for _, p := range s.Policies {
			owner[p.ARN] = true
			if !isObject(p.Document) {
				t.Fatalf("policy %s document %q", p.ARN, p.Document)
			}
		}
		for _, a := range s.Attachments {
			if a.PolicyType == "inline" {
				owner[a.PolicyKey] = true
				if a.Document == nil || !isObject(*a.Document) {
					t.Fatalf("inline attachment %s without a JSON document", a.PolicyKey)
				}
			}
		}
		for _, r := range s.Roles {
			if r.ARN == "" || r.AssumeRolePolicyDocument != nil && !isObject(*r.AssumeRolePolicyDocument) {
				t.Fatalf("role %+v", r)
			}
		}
		for _, st := range s.Statements {
			if !owner[st.PolicyKey] {
				t.Fatalf("statement of %q, which no policy row or inline attachment holds", st.PolicyKey)
			}
			if st.Effect != "Allow" && st.Effect != "Deny" || len(st.Actions)+len(st.NotActions) == 0 {
				t.Fatalf("bad statement %+v", st)
			}
		}
	})
}

// FuzzCredentialReport: any bytes give either an error naming the object or rows with an ARN, in
// ARN order, and skipped rows named by object and line. Never a panic.
func FuzzCredentialReport(f *testing.F) {
	const header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_service\n"
	f.Add([]byte(header + "a,arn:aws:iam::1:user/a,N/A,TRUE,no_information,N/A,false,true,2026-01-02T03:04:05+00:00,N/A,N/A,false,N/A,N/A,N/A\n"))
	f.Add([]byte(header + "a,\"arn\nx\",N/A,maybe\nb,arn:b\n"))
	f.Add([]byte("user,arn\n"))
	const key = "iam/1/credential-report.csv"
	f.Fuzz(func(t *testing.T, data []byte) {
		rows, skipped, err := CredentialReport(data, SnapshotMeta{Lineage: Lineage{SourceKey: key}})
		if err != nil {
			if !strings.HasPrefix(err.Error(), key+": ") || rows != nil || skipped != nil {
				t.Fatalf("error %q (rows %d, skipped %d)", err, len(rows), len(skipped))
			}
			return
		}
		for i, r := range rows {
			if r.ARN == "" || i > 0 && rows[i-1].ARN > r.ARN || r.SourceKey != key {
				t.Fatalf("row %d %+v", i, r)
			}
		}
		for _, e := range skipped {
			if !strings.HasPrefix(e.Error(), key+": credential report line ") || errors.Unwrap(e) == nil && !strings.Contains(e.Error(), "fields") {
				t.Fatalf("skipped %q", e)
			}
		}
	})
}
