// Package deploy_test checks deploy/azure's scripts: they parse, their dry runs print the grants
// the code needs (every ARM read covered by the Reader role assigned on each subscription, every
// Graph permission assigned as an app role) and never a secret.
package deploy_test

import (
	"os/exec"
	"strings"
	"testing"

	"github.com/permlake/permlake/extract/azure"
)

const (
	sub1    = "0b1f6471-1bf0-4dda-aec3-cb9272f09590"
	sub2    = "1c2f6471-1bf0-4dda-aec3-cb9272f09591"
	storage = "/subscriptions/" + sub1 + "/resourceGroups/logs/providers/Microsoft.Storage/storageAccounts/auditlogs"
	reader  = "acdd72a7-3385-48ef-bd42-f606fba81ae7"
)

func dryRun(t *testing.T, script string, args ...string) string {
	t.Helper()
	out, err := exec.Command("bash", append([]string{script, "--dry-run"}, args...)...).CombinedOutput()
	if err != nil {
		t.Fatalf("%s: %v\n%s", script, err, out)
	}
	return string(out)
}

func TestSetupCollectorGrantsWhatTheCodeCalls(t *testing.T) {
	out := dryRun(t, "setup-collector.sh", "--subscriptions", sub1+" "+sub2, "--storage-account-id", storage)
	for _, s := range []string{sub1, sub2} {
		if !strings.Contains(out, "--role "+reader+" --scope /subscriptions/"+s) {
			t.Errorf("Reader is not assigned on %s:\n%s", s, out)
		}
	}
	// Reader is */read: it covers every ARM permission the code needs, all of them reads.
	for _, p := range azure.RequiredPermissions["arm"] {
		if !strings.HasSuffix(strings.ToLower(p), "/read") {
			t.Errorf("the code needs %s, which Reader (*/read) does not cover", p)
		}
	}
	for _, p := range azure.RequiredPermissions["graph"] {
		if !strings.Contains(out, "appRoles[?value=='"+p+"']") || !strings.Contains(out, "appRoleAssignments") {
			t.Errorf("Graph permission %s is not assigned:\n%s", p, out)
		}
	}
	if !strings.Contains(out, "--role 2a2b9908-6ea1-4ae2-8e65-a410df84e7d1 --scope "+storage) {
		t.Errorf("Storage Blob Data Reader is not assigned on the export account:\n%s", out)
	}
	if strings.Contains(strings.ToLower(out), "secret") || strings.Contains(out, "--password") {
		t.Errorf("the setup creates or prints a secret:\n%s", out)
	}
}

func TestSetupRejectsBadInput(t *testing.T) {
	for _, args := range [][]string{{"--subscriptions", "not-a-uuid"}, {}, {"--bogus"}} {
		if out, err := exec.Command("bash", append([]string{"setup-collector.sh", "--dry-run"}, args...)...).CombinedOutput(); err == nil {
			t.Errorf("setup-collector.sh %v succeeded:\n%s", args, out)
		}
	}
}

func TestDiagnosticSettingsExportEveryLogPermlakeReads(t *testing.T) {
	out := dryRun(t, "diagnostic-settings.sh", "--subscriptions", sub1, "--storage-account-id", storage)
	if !strings.Contains(out, "diagnostic-settings subscription create --subscription "+sub1) || !strings.Contains(out, `"category":"Administrative"`) {
		t.Errorf("the subscription's Activity Log is not exported:\n%s", out)
	}
	for _, c := range []string{"SignInLogs", "NonInteractiveUserSignInLogs", "ServicePrincipalSignInLogs", "ManagedIdentitySignInLogs"} {
		if !strings.Contains(out, `"category":"`+c+`"`) {
			t.Errorf("Entra category %s is not exported:\n%s", c, out)
		}
	}
}
