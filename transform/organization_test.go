package transform

import (
	"strings"
	"testing"
	"time"
)

func TestOrganization(t *testing.T) {
	t.Parallel()
	at := time.Date(2026, 11, 22, 8, 0, 0, 0, time.UTC)
	meta := SnapshotMeta{AccountID: "111122223333", SnapshotAt: at, Lineage: Lineage{RunID: "r1", SourceKey: "org/organization.json"}}
	doc := `{"organization_id":"o-pl7demo4x2","management_account_id":"111122223333",
	  "accounts":[{"id":"111122223333","name":"management","ou_path":"/Root","parent_ids":["r-ab12"]},
	              {"id":"012345678901","name":"prod","ou_path":"/Root/Workloads","parent_ids":["r-ab12","ou-ab12-11111111"]}],
	  "policies":[{"id":"p-guard","arn":"arn:aws:organizations::111122223333:policy/o-pl7demo4x2/service_control_policy/p-guard","name":"guardrails",
	               "content":"{\"Version\":\"2012-10-17\",\"Statement\":[{\"Sid\":\"NoTrailStop\",\"Effect\":\"Deny\",\"Action\":\"cloudtrail:StopLogging\",\"Resource\":\"*\"},{\"Effect\":\"Allow\",\"NotAction\":[\"account:*\"],\"Resource\":\"*\"}]}",
	               "targets":[{"id":"ou-ab12-11111111","type":"ORGANIZATIONAL_UNIT"},{"id":"012345678901","type":"ACCOUNT"}]}]}`
	snap, err := Organization([]byte(doc), meta)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.Accounts) != 2 || snap.Accounts[0].MemberAccountID != "012345678901" || snap.Accounts[0].IsManagementAccount ||
		!snap.Accounts[1].IsManagementAccount || strings.Join(snap.Accounts[0].ParentIDs, ",") != "r-ab12,ou-ab12-11111111" ||
		snap.Accounts[0].OrganizationID != "o-pl7demo4x2" || !snap.Accounts[0].SnapshotAt.Equal(at) {
		t.Errorf("accounts = %+v", snap.Accounts)
	}
	if len(snap.Policies) != 1 || strings.Join(snap.Policies[0].TargetIDs, ",") != "012345678901,ou-ab12-11111111" || snap.Policies[0].Description != nil {
		t.Errorf("policies = %+v", snap.Policies)
	}
	if len(snap.Statements) != 2 {
		t.Fatalf("statements = %+v", snap.Statements)
	}
	s0, s1 := snap.Statements[0], snap.Statements[1]
	if s0.PolicyKey != snap.Policies[0].ARN || s0.Effect != "Deny" || s0.Sid == nil || *s0.Sid != "NoTrailStop" || s0.Actions[0] != "cloudtrail:StopLogging" ||
		s1.Effect != "Allow" || len(s1.Actions) != 0 || s1.NotActions[0] != "account:*" || s1.RunID != "r1" {
		t.Errorf("statements = %+v %+v", s0, s1)
	}

	for name, tc := range map[string]struct{ doc, errHas string }{
		"other management account": {`{"organization_id":"o-x","management_account_id":"999999999999"}`, "999999999999"},
		"bad document":             {`{"management_account_id":"111122223333","policies":[{"id":"p-1","name":"broken","arn":"a","content":"{\"Statement\":[{\"Effect\":\"Maybe\",\"Action\":\"*\"}]}"}]}`, "p-1"},
		"not JSON":                 {`[`, "organization snapshot"},
	} {
		if _, err := Organization([]byte(tc.doc), meta); err == nil || !strings.Contains(err.Error(), tc.errHas) {
			t.Errorf("%s: error %v, want one containing %q", name, err, tc.errHas)
		}
	}
}
