package transform

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
	"time"
)

func readFixture(t testing.TB, names ...string) [][]byte {
	t.Helper()
	var out [][]byte
	for _, n := range names {
		b, err := os.ReadFile(filepath.Join("testdata", "iam", n))
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// TestGAADExportForms: the CLI's and boto3's exports of one snapshot (documents as objects, dates
// with +00:00 or a space) yield exactly the rows of the API's wire form.
func TestGAADExportForms(t *testing.T) {
	t.Parallel()
	meta := SnapshotMeta{AccountID: "123456789012", SnapshotAt: time.Date(2026, 12, 2, 0, 0, 0, 0, time.UTC),
		Lineage: Lineage{RunID: "r", SourceKey: "iam/123456789012/"}}
	api, err := GAAD(readFixture(t, "gaad-api-0001.json", "gaad-api-0002.json"), meta)
	if err != nil || len(api.Skipped) > 0 {
		t.Fatalf("API form: %v %v", err, api.Skipped)
	}
	if len(api.Attachments) != 10 || len(api.Statements) != 13 {
		t.Errorf("API form: %d attachments, %d statements; want 10, 13", len(api.Attachments), len(api.Statements))
	}
	if len(api.Users) != 3 || len(api.Groups) != 2 || len(api.Roles) != 3 || len(api.Policies) != 5 || len(api.Memberships) != 3 {
		t.Fatalf("API form counts: users %d groups %d roles %d policies %d memberships %d",
			len(api.Users), len(api.Groups), len(api.Roles), len(api.Policies), len(api.Memberships))
	}
	for _, form := range []string{"gaad-cli.json", "gaad-boto3.json"} {
		t.Run(form, func(t *testing.T) {
			t.Parallel()
			got, err := GAAD(readFixture(t, form), meta)
			if err != nil || len(got.Skipped) > 0 {
				t.Fatalf("%s: %v %v", form, err, got.Skipped)
			}
			for name, pair := range map[string][2]any{
				"users": {api.Users, got.Users}, "groups": {api.Groups, got.Groups}, "roles": {api.Roles, got.Roles},
				"policies": {api.Policies, got.Policies}, "memberships": {api.Memberships, got.Memberships},
				"attachments": {api.Attachments, got.Attachments}, "statements": {api.Statements, got.Statements},
			} {
				if !reflect.DeepEqual(pair[0], pair[1]) {
					t.Errorf("%s differ from the API form:\napi %+v\ngot %+v", name, pair[0], pair[1])
				}
			}
		})
	}
}

// TestCredentialReportMissingColumns: a report without a column the rows are built from is
// unusable, named by object and column; extra and reordered columns are fine.
func TestCredentialReportMissingColumns(t *testing.T) {
	t.Parallel()
	const header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,password_next_rotation,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_region,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_region,access_key_2_last_used_service,cert_1_active,cert_1_last_rotated,cert_2_active,cert_2_last_rotated"
	const row = "alice,arn:aws:iam::012345678901:user/alice,2024-01-01T00:00:00+00:00,TRUE,no_information,2024-01-01T00:00:00+00:00,N/A,true,true,2024-01-01T00:00:00+00:00,2026-11-10T12:00:00+00:00,us-east-1,ec2,false,N/A,N/A,N/A,N/A,false,N/A,false,N/A"
	drop := func(col string) string {
		hs, vs := strings.Split(header, ","), strings.Split(row, ",")
		var h, v []string
		for i := range hs {
			if hs[i] != col {
				h, v = append(h, hs[i]), append(v, vs[i])
			}
		}
		return strings.Join(h, ",") + "\n" + strings.Join(v, ",") + "\n"
	}
	meta := SnapshotMeta{Lineage: Lineage{SourceKey: "iam/012345678901/credential-report.csv"}}
	for _, col := range []string{"mfa_active", "password_enabled", "access_key_1_last_used_date", "access_key_1_active", "access_key_2_active", "user_creation_time", "access_key_1_last_rotated"} {
		t.Run(col, func(t *testing.T) {
			t.Parallel()
			_, _, err := CredentialReport([]byte(drop(col)), meta)
			if err == nil || !strings.Contains(err.Error(), col) || !strings.Contains(err.Error(), meta.SourceKey) {
				t.Errorf("report without %s: err = %v; want one naming the object and the column", col, err)
			}
		})
	}
	t.Run("extra and reordered", func(t *testing.T) {
		t.Parallel()
		hs, vs := strings.Split(header, ","), strings.Split(row, ",")
		for i, j := 0, len(hs)-1; i < j; i, j = i+1, j-1 {
			hs[i], hs[j], vs[i], vs[j] = hs[j], hs[i], vs[j], vs[i]
		}
		csv := strings.Join(append(hs, "future_column"), ",") + "\n" + strings.Join(append(vs, "x"), ",") + "\n"
		rows, skipped, err := CredentialReport([]byte(csv), meta)
		if err != nil || len(skipped) > 0 || len(rows) != 1 || !rows[0].IsMFAActive || !rows[0].IsAccessKey1Active {
			t.Errorf("rows %+v, err %v", rows, err)
		}
	})
}

// TestGAADSkipsBadItem: one malformed item is left out and named (source key, page, item,
// field); the rest of the snapshot holds.
func TestGAADSkipsBadItem(t *testing.T) {
	t.Parallel()
	const (
		okUser  = `{"UserName":"ok","Arn":"arn:aws:iam::1:user/ok","CreateDate":"2026-01-02T03:04:05Z","UserPolicyList":[{"PolicyName":"fine","PolicyDocument":"%7B%22Statement%22%3A%5B%5D%7D"}]}`
		okRole  = `{"RoleName":"r","Arn":"arn:aws:iam::1:role/r","CreateDate":"2026-01-02 03:04:05+00:00","AssumeRolePolicyDocument":{"Statement":[]}}`
		goodDoc = `{\"Statement\":{\"Effect\":\"Allow\",\"Action\":\"s3:*\"}}`
	)
	policy := func(dflt, doc string) string {
		return `{"PolicyName":"p","Arn":"arn:aws:iam::1:policy/p","DefaultVersionId":"` + dflt + `","CreateDate":"2026-01-02T03:04:05+00:00","UpdateDate":"2026-01-02T03:04:05Z",
		  "PolicyVersionList":[{"VersionId":"v1","Document":"%7Bnot json"},{"VersionId":"v2","Document":` + doc + `}]}`
	}
	for _, tc := range []struct {
		name, users, roles, policies string
		want                         []string // substrings of the one skipped error; none: nothing skipped
		wantRoles, wantPolicies      int
	}{
		{name: "inline document not JSON", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","UserPolicyList":[{"PolicyName":"bad","PolicyDocument":"%7Bnot json"}]}`,
			want: []string{`arn "arn:aws:iam::1:user/a"`, "UserPolicyList", `"bad"`, "not JSON"}},
		{name: "inline document an array", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","UserPolicyList":[{"PolicyName":"bad","PolicyDocument":[1]}]}`,
			want: []string{"user/a", "UserPolicyList", "neither a JSON object nor"}},
		{name: "inline object with a bad Effect", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","UserPolicyList":[{"PolicyName":"bad","PolicyDocument":{"Statement":{"Effect":"Maybe","Action":"*"}}}]}`,
			want: []string{"user/a", `"bad"`, "Effect"}},
		{name: "user CreateDate unreadable", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","CreateDate":"yesterday"}`,
			want: []string{`arn "arn:aws:iam::1:user/a"`, "CreateDate", "yesterday"}},
		{name: "user CreateDate a number", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","CreateDate":1700000000}`,
			want: []string{"user/a", "CreateDate"}},
		{name: "user not an object", users: `5`, want: []string{"UserDetailList[1]"}},
		{name: "user field of the wrong type", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","GroupList":"devs"}`, want: []string{"user/a"}},
		{name: "user without Arn", users: `{"UserName":"a"}`, want: []string{`username "a"`, "no Arn"}},
		{name: "unknown group", users: `{"UserName":"a","Arn":"arn:aws:iam::1:user/a","GroupList":["nope"]}`,
			want: []string{"user/a", "GroupList", `"nope"`}},
		{name: "role trust policy bad: the role stays", roles: `{"RoleName":"b","Arn":"arn:aws:iam::1:role/b","AssumeRolePolicyDocument":"%ZZ"}`,
			want: []string{"role/b", "AssumeRolePolicyDocument"}, wantRoles: 2},
		{name: "role last used unreadable: the role stays", roles: `{"RoleName":"b","Arn":"arn:aws:iam::1:role/b","RoleLastUsed":{"LastUsedDate":"02/01/2026"}}`,
			want: []string{"role/b", "RoleLastUsed.LastUsedDate"}, wantRoles: 2},
		{name: "default version bad", policies: policy("v1", `"%7B%7D"`), want: []string{"policy/p", "version v1", "not JSON"}},
		{name: "default version missing", policies: policy("v3", `"%7B%7D"`), want: []string{"policy/p", `"v3"`}},
		{name: "policy UpdateDate unreadable", policies: strings.Replace(policy("v2", `"`+goodDoc+`"`), `"UpdateDate":"2026-01-02T03:04:05Z"`, `"UpdateDate":"soon"`, 1),
			want: []string{"policy/p", "UpdateDate"}},
		{name: "only an old version bad: nothing skipped", policies: policy("v2", `"`+goodDoc+`"`), wantPolicies: 1},
		{name: "old version bad, default an object: nothing skipped", policies: policy("v2", `{"Statement":[]}`), wantPolicies: 1},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			join := func(ok, extra string) string {
				if extra == "" {
					return ok
				}
				if ok == "" {
					return extra
				}
				return ok + "," + extra
			}
			page := `{"UserDetailList":[` + join(okUser, tc.users) + `],"RoleDetailList":[` + join(okRole, tc.roles) + `],"Policies":[` + tc.policies + `]}`
			meta := SnapshotMeta{SnapshotAt: time.Unix(0, 0), Lineage: Lineage{SourceKey: "iam/000000000001/"}}
			s, err := GAAD([][]byte{[]byte(`{"GroupDetailList":[]}`), []byte(page)}, meta)
			if err != nil {
				t.Fatalf("err = %v; one bad item must not cost the snapshot", err)
			}
			var ok bool
			for _, u := range s.Users {
				ok = ok || u.ARN == "arn:aws:iam::1:user/ok"
			}
			if !ok || len(s.Attachments) < 1 || len(s.Roles) != max(tc.wantRoles, 1) || len(s.Policies) != tc.wantPolicies {
				t.Errorf("the good items are not all there: users %+v, %d attachments, %d roles, %d policies", s.Users, len(s.Attachments), len(s.Roles), len(s.Policies))
			}
			if len(tc.want) == 0 {
				if len(s.Skipped) > 0 {
					t.Errorf("skipped %v; want nothing", s.Skipped)
				}
				return
			}
			if len(s.Skipped) != 1 {
				t.Fatalf("skipped = %v; want exactly one", s.Skipped)
			}
			msg := s.Skipped[0].Error()
			for _, w := range append(tc.want, "iam/000000000001/", "page 2") {
				if !strings.Contains(msg, w) {
					t.Errorf("skipped %q does not name %q", msg, w)
				}
			}
		})
	}
}

// TestCredentialReportSkipsBadRow: one bad row is left out and named (source key, line, user,
// column); the other rows hold. A value that is not TRUE/FALSE no longer reads as false.
func TestCredentialReportSkipsBadRow(t *testing.T) {
	t.Parallel()
	const header = "user,arn,user_creation_time,password_enabled,password_last_used,password_last_changed,mfa_active,access_key_1_active,access_key_1_last_rotated,access_key_1_last_used_date,access_key_1_last_used_service,access_key_2_active,access_key_2_last_rotated,access_key_2_last_used_date,access_key_2_last_used_service\n"
	const ok = "ok,arn:aws:iam::1:user/ok,2024-01-01T00:00:00+00:00,true,N/A,N/A,TRUE,false,N/A,N/A,N/A,false,N/A,N/A,N/A\n"
	for _, tc := range []struct {
		name, row string
		want      []string
	}{
		{"bad date", "bad,arn:aws:iam::1:user/bad,last tuesday,true,N/A,N/A,true,false,N/A,N/A,N/A,false,N/A,N/A,N/A\n", []string{"line 3", `user "bad"`, "user_creation_time"}},
		{"bad boolean", "bad,arn:aws:iam::1:user/bad,N/A,true,N/A,N/A,yes,false,N/A,N/A,N/A,false,N/A,N/A,N/A\n", []string{"line 3", `user "bad"`, "mfa_active", `"yes"`}},
		{"empty boolean", "bad,arn:aws:iam::1:user/bad,N/A,true,N/A,N/A,,false,N/A,N/A,N/A,false,N/A,N/A,N/A\n", []string{"line 3", "mfa_active"}},
		{"no arn", "bad,,N/A,true,N/A,N/A,true,false,N/A,N/A,N/A,false,N/A,N/A,N/A\n", []string{"line 3", `user "bad"`, "arn"}},
		{"short row", "bad,arn:aws:iam::1:user/bad\n", []string{"line 3", "2 fields"}},
		{"bare quote", "b\"ad,arn:aws:iam::1:user/bad,N/A,true,N/A,N/A,true,false,N/A,N/A,N/A,false,N/A,N/A,N/A\n", []string{"line 3"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			meta := SnapshotMeta{Lineage: Lineage{SourceKey: "iam/1/credential-report.csv"}}
			rows, skipped, err := CredentialReport([]byte(header+ok+tc.row+strings.Replace(ok, "ok", "ok2", 2)), meta)
			if err != nil || len(rows) != 2 || rows[0].User != "ok" || !rows[0].IsMFAActive || rows[1].User != "ok2" {
				t.Fatalf("rows %+v, err %v; want the two good rows", rows, err)
			}
			if len(skipped) != 1 {
				t.Fatalf("skipped = %v; want one", skipped)
			}
			for _, w := range append(tc.want, meta.SourceKey) {
				if !strings.Contains(skipped[0].Error(), w) {
					t.Errorf("skipped %q does not name %q", skipped[0], w)
				}
			}
		})
	}
	for name, csv := range map[string]string{"empty": "", "duplicate column": strings.Replace(header, "password_last_used,", "mfa_active,", 1) + ok} {
		if _, _, err := CredentialReport([]byte(csv), SnapshotMeta{Lineage: Lineage{SourceKey: "k.csv"}}); err == nil || !strings.Contains(err.Error(), "k.csv") {
			t.Errorf("%s: err = %v; want the report unusable, named", name, err)
		}
	}
}

// TestCredentialReportFixture: the real-shaped report beside the GAAD fixture reads whole.
func TestCredentialReportFixture(t *testing.T) {
	t.Parallel()
	rows, skipped, err := CredentialReport(readFixture(t, "credential-report.csv")[0], SnapshotMeta{})
	if err != nil || len(skipped) > 0 || len(rows) != 4 {
		t.Fatalf("rows %d, skipped %v, err %v", len(rows), skipped, err)
	}
	ci := rows[3]
	if ci.User != "ci-deployer" || !ci.IsAccessKey1Active || !ci.IsAccessKey2Active || ci.AccessKey2LastUsedAt != nil || str(ci.AccessKey1LastService) != "s3" ||
		ci.IsPasswordEnabled == nil || *ci.IsPasswordEnabled || ci.IsMFAActive {
		t.Errorf("ci-deployer = %+v", ci)
	}
}
