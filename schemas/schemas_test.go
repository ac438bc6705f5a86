package schemas

import "testing"

func TestTablesAreDocumented(t *testing.T) {
	t.Parallel()
	seen := map[string]bool{}
	for _, tab := range All {
		if seen[tab.Name] {
			t.Errorf("table %s listed twice", tab.Name)
		}
		seen[tab.Name] = true
		if tab.Doc == "" || tab.Grain == "" || len(tab.Columns) == 0 || len(tab.DedupeKey) == 0 {
			t.Errorf("table %s lacks doc, grain, columns or dedupe key", tab.Name)
		}
		for _, k := range tab.DedupeKey {
			if !tab.hasColumn(k) {
				t.Errorf("table %s dedupe key %s is not a column", tab.Name, k)
			}
		}
		if ByName(tab.Name) != tab {
			t.Errorf("ByName(%s) does not find it", tab.Name)
		}
	}
	if got := CloudTrailEvents.HiveTypes(); got != "{'account_id': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'}" {
		t.Errorf("HiveTypes = %s", got)
	}
}

func TestAzurePartitioning(t *testing.T) {
	t.Parallel()
	if got := AzureActivityEvents.HiveTypes(); got != "{'subscription_id': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'}" {
		t.Errorf("activity HiveTypes = %s", got)
	}
	if got := AzurePrincipals.HiveTypes(); got != "{'tenant_id': 'VARCHAR', 'date': 'DATE', 'hour': 'INTEGER'}" {
		t.Errorf("principals HiveTypes = %s", got)
	}
	if OrgAccounts.Partitioning.Key() != "account_id" || AzureRoleAssignments.Partitioning.Key() != "subscription_id" {
		t.Error("partition keys")
	}
}

func TestIsSnapshot(t *testing.T) {
	activity := map[string]bool{}
	for _, tab := range All {
		if !tab.IsSnapshot() {
			activity[tab.Name] = true
		}
	}
	want := map[string]bool{"aws_cloudtrail_events": true, "azure_activity_events": true, "azure_signin_events": true, "azure_audit_events": true}
	if len(activity) != len(want) {
		t.Fatalf("activity tables %v, want %v", activity, want)
	}
	for n := range want {
		if !activity[n] {
			t.Errorf("%s is not an activity table", n)
		}
	}
}
