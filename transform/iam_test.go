package transform

import (
	"net/url"
	"reflect"
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/schemas"
)

func enc(doc string) string { return url.PathEscape(doc) }

func TestGAAD(t *testing.T) {
	t.Parallel()
	readOnly := `{"Version":"2012-10-17","Statement":{"Effect":"Allow","Action":"ec2:Describe*","Resource":"*"}}`
	oldVersion := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Action":"*","Resource":"*"}]}`
	inline := `{"Version":"2012-10-17","Statement":[{"Sid":"Put","Effect":"Allow","Action":["s3:Put*","s3:Get+Thing"],"Resource":["arn:aws:s3:::b/*"],"Condition":{"Bool":{"aws:SecureTransport":"true"}}},{"Effect":"Deny","NotAction":"iam:*","NotResource":"arn:aws:s3:::b"}]}`
	trust := `{"Version":"2012-10-17","Statement":[{"Effect":"Allow","Principal":{"Service":"ec2.amazonaws.com"},"Action":"sts:AssumeRole"}]}`
	page1 := `{"UserDetailList":[{"Path":"/","UserName":"alice","UserId":"AIDA1","Arn":"arn:aws:iam::012345678901:user/alice","CreateDate":"2025-01-02T03:04:05Z",
	  "UserPolicyList":[{"PolicyName":"put","PolicyDocument":"` + enc(inline) + `"}],"GroupList":["devs"],"AttachedManagedPolicies":[{"PolicyName":"ro","PolicyArn":"arn:aws:iam::012345678901:policy/ro"}],
	  "Tags":[{"Key":"team","Value":"x"}]}],
	  "RoleDetailList":[{"Path":"/aws-service-role/ec2.amazonaws.com/","RoleName":"AWSServiceRoleForEC2","RoleId":"AROA1","Arn":"arn:aws:iam::012345678901:role/aws-service-role/ec2.amazonaws.com/AWSServiceRoleForEC2","CreateDate":"2025-01-02T03:04:05Z","AssumeRolePolicyDocument":"` + enc(trust) + `","RoleLastUsed":{"LastUsedDate":"2026-10-01T00:00:00Z","Region":"us-east-1"}},
	  {"Path":"/","RoleName":"app","RoleId":"AROA2","Arn":"arn:aws:iam::012345678901:role/app","CreateDate":"2025-01-02T03:04:05Z","AssumeRolePolicyDocument":"` + enc(trust) + `","AttachedManagedPolicies":[{"PolicyName":"ro","PolicyArn":"arn:aws:iam::012345678901:policy/ro"}],"RoleLastUsed":{}}],
	  "IsTruncated":true,"Marker":"m1"}`
	page2 := `{"GroupDetailList":[{"Path":"/","GroupName":"devs","GroupId":"AGPA1","Arn":"arn:aws:iam::012345678901:group/devs","CreateDate":"2025-01-02T03:04:05Z",
	  "GroupPolicyList":[{"PolicyName":"g","PolicyDocument":"` + enc(readOnly) + `"}],"AttachedManagedPolicies":[]}],
	  "Policies":[{"PolicyName":"ro","PolicyId":"ANPA1","Arn":"arn:aws:iam::012345678901:policy/ro","Path":"/","DefaultVersionId":"v2","AttachmentCount":2,"IsAttachable":true,
	  "CreateDate":"2025-01-02T03:04:05Z","UpdateDate":"2025-02-02T03:04:05Z","PolicyVersionList":[{"Document":"` + enc(oldVersion) + `","VersionId":"v1","IsDefaultVersion":false},{"Document":"` + enc(readOnly) + `","VersionId":"v2","IsDefaultVersion":true}]}],
	  "IsTruncated":false}`
	at := time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	s, err := GAAD([][]byte{[]byte(page1), []byte(page2)}, SnapshotMeta{AccountID: "012345678901", SnapshotAt: at, Lineage: Lineage{RunID: "r", SourceKey: "iam/012345678901"}})
	if err != nil || len(s.Skipped) > 0 {
		t.Fatal(err, s.Skipped)
	}
	if len(s.Users) != 1 || len(s.Roles) != 2 || len(s.Groups) != 1 || len(s.Policies) != 1 {
		t.Fatalf("counts: users %d roles %d groups %d policies %d", len(s.Users), len(s.Roles), len(s.Groups), len(s.Policies))
	}
	if got := s.Policies[0].Document; got != readOnly {
		t.Errorf("managed policy document = %s; want the default version v2", got)
	}
	if m := s.Memberships; len(m) != 1 || m[0].GroupARN != "arn:aws:iam::012345678901:group/devs" {
		t.Errorf("memberships = %+v", m)
	}
	if r := s.Roles[0]; r.RoleName != "app" || r.IsServiceLinked || r.RoleLastUsedAt != nil {
		t.Errorf("role app = %+v", r)
	}
	if r := s.Roles[1]; !r.IsServiceLinked || r.RoleLastUsedAt == nil || !r.RoleLastUsedAt.Equal(time.Date(2026, 10, 1, 0, 0, 0, 0, time.UTC)) || str(r.AssumeRolePolicyDocument) != trust {
		t.Errorf("service-linked role = %+v", r)
	}
	if str(s.Users[0].Tags) != `{"team":"x"}` {
		t.Errorf("tags = %s", str(s.Users[0].Tags))
	}
	var keys []string
	for _, a := range s.Attachments {
		keys = append(keys, a.PrincipalType+" "+a.PolicyType+" "+a.PolicyKey)
	}
	wantKeys := []string{
		"iam_group inline arn:aws:iam::012345678901:group/devs#inline/g",
		"iam_role managed arn:aws:iam::012345678901:policy/ro",
		"iam_user managed arn:aws:iam::012345678901:policy/ro",
		"iam_user inline arn:aws:iam::012345678901:user/alice#inline/put",
	}
	if !reflect.DeepEqual(keys, wantKeys) {
		t.Errorf("attachments:\n%s\nwant\n%s", strings.Join(keys, "\n"), strings.Join(wantKeys, "\n"))
	}
	var put *schemas.IAMPolicyStatement
	for i := range s.Statements {
		if s.Statements[i].PolicyKey == "arn:aws:iam::012345678901:user/alice#inline/put" && s.Statements[i].StatementIndex == 0 {
			put = &s.Statements[i]
		}
	}
	if put == nil || str(put.Sid) != "Put" || !reflect.DeepEqual(put.Actions, []string{"s3:Put*", "s3:Get+Thing"}) || put.Condition == nil {
		t.Fatalf("inline statement 0 = %+v ('+' must survive decoding)", put)
	}
	if len(s.Statements) != 4 {
		t.Errorf("statements = %d, want 4 (group inline 1, managed default 1, user inline 2)", len(s.Statements))
	}
}

// TestGAADErrors: only a snapshot unusable as a whole is an error, and it names the source key.
func TestGAADErrors(t *testing.T) {
	t.Parallel()
	at := SnapshotMeta{SnapshotAt: time.Unix(0, 0), Lineage: Lineage{SourceKey: "iam/1/"}}
	for name, page := range map[string]string{
		"truncated last page": `{"IsTruncated":true,"Marker":"x"}`,
		"not json":            `{`,
		"not an object":       `[]`,
		"list not a list":     `{"UserDetailList":{"UserName":"a"}}`,
	} {
		t.Run(name, func(t *testing.T) {
			t.Parallel()
			if _, err := GAAD([][]byte{[]byte(`{}`), []byte(page)}, at); err == nil || !strings.Contains(err.Error(), "iam/1/") || !strings.Contains(err.Error(), "page 2") {
				t.Errorf("err = %v; want one naming the source key and page 2", err)
			}
		})
	}
}

func TestPolicyStatementsErrors(t *testing.T) {
	t.Parallel()
	for name, doc := range map[string]string{
		"bad effect": `{"Statement":[{"Effect":"Maybe","Action":"*"}]}`,
		"no action":  `{"Statement":[{"Effect":"Allow","Resource":"*"}]}`,
		"action num": `{"Statement":[{"Effect":"Allow","Action":5}]}`,
	} {
		t.Run(name, func(t *testing.T) {
			if _, err := PolicyStatements("p", doc, schemas.IAMPolicyStatement{}); err == nil || !strings.Contains(err.Error(), "p") {
				t.Errorf("err = %v; want an error naming the policy", err)
			}
		})
	}
}

func TestCredentialReport(t *testing.T) {
	t.Parallel()
	csv := `user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated
<root_account>,arn:aws:iam::012345678901:root,2024-01-01T00:00:00+00:00,not_supported,2026-11-01T10:00:00+00:00,not_supported,not_supported,true,false,N/A,N/A,N/A,N/A,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
alice,arn:aws:iam::012345678901:user/alice,2024-01-01T00:00:00+00:00,TRUE,no_information,2024-01-01T00:00:00+00:00,N/A,false,true,2024-01-01T00:00:00+00:00,2026-11-10T12:00:00+00:00,us-east-1,ec2,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A
`
	rows, skipped, err := CredentialReport([]byte(csv), SnapshotMeta{SnapshotAt: time.Unix(0, 0)})
	if err != nil || len(skipped) > 0 {
		t.Fatal(err, skipped)
	}
	if len(rows) != 2 {
		t.Fatalf("rows = %d", len(rows))
	}
	root, alice := rows[0], rows[1]
	if root.User != "<root_account>" || root.IsPasswordEnabled != nil || root.PasswordLastUsedAt == nil || !root.IsMFAActive {
		t.Errorf("root = %+v", root)
	}
	if alice.PasswordLastUsedAt != nil || alice.IsPasswordEnabled == nil || !*alice.IsPasswordEnabled || !alice.IsAccessKey1Active ||
		alice.AccessKey1LastUsedAt == nil || !alice.AccessKey1LastUsedAt.Equal(time.Date(2026, 11, 10, 12, 0, 0, 0, time.UTC)) || str(alice.AccessKey1LastService) != "ec2" || alice.AccessKey2LastUsedAt != nil {
		t.Errorf("alice = %+v", alice)
	}
	if _, _, err := CredentialReport([]byte("user,arn\nx,y\n"), SnapshotMeta{}); err == nil || !strings.Contains(err.Error(), "password_last_used") {
		t.Errorf("missing column: err = %v", err)
	}
	rows, skipped, err = CredentialReport([]byte(strings.Replace(csv, "2026-11-10T12:00:00+00:00", "last tuesday", 1)), SnapshotMeta{})
	if err != nil || len(rows) != 1 || len(skipped) != 1 || !strings.Contains(skipped[0].Error(), "line 3") {
		t.Errorf("bad time: rows %d, skipped %v, err %v", len(rows), skipped, err)
	}
}
