package runner

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	sqlfiles "github.com/permlake/permlake/sql"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
)

// TestServiceControlPoliciesNarrowGrants adds an organization snapshot to the fixture lake: the
// fixture account sits in OU ou-work under the root; FullAWSAccess is attached to the root and the
// OU, a guardrail SCP on the OU denies iam:CreateUser and s3:PutObject, and the account itself
// has only an allow-list of iam, s3 and sts (no FullAWSAccess), so ec2 is allowed at two levels
// out of three and must not count as granted.
//
// Two copies of the account's entitlements sit in the same OU: acct3 with the same allow-list
// (its SCPs, like its principals' policies, are those of the fixture account, so both are worked
// out once and fanned out), acct2 with FullAWSAccess instead (the same principals' policies,
// narrowed differently): each account keeps its own narrowing.
func TestServiceControlPoliciesNarrowGrants(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := writeFixtureLake(t)
	const acct3 = "444455556666"
	for _, tab := range schemas.All {
		src := filepath.Join(root, tab.Name, "account_id="+acct)
		if _, err := os.Stat(src); err != nil || !tab.IsSnapshot() {
			continue
		}
		for _, other := range []string{acct2, acct3} {
			if err := os.CopyFS(filepath.Join(root, tab.Name, "account_id="+other), os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
		}
	}
	l, err := load.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const mgmt = "111122223333"
	arn := func(id string) string {
		return "arn:aws:organizations::" + mgmt + ":policy/o-pl7demo4x2/service_control_policy/" + id
	}
	part := load.Partition{ID: mgmt, Hour: now.Add(-time.Hour)}
	must := func(_ load.PartitionStats, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(load.ReplacePartition(ctx, l, schemas.OrgAccounts, part, []schemas.OrgAccount{
		{MemberAccountID: mgmt, OrganizationID: "o-pl7demo4x2", OUPath: "/Root", ParentIDs: []string{"r-ab12"}, IsManagementAccount: true, SnapshotAt: snapAt},
		{MemberAccountID: acct, OrganizationID: "o-pl7demo4x2", OUPath: "/Root/Workloads", ParentIDs: []string{"r-ab12", "ou-work"}, SnapshotAt: snapAt},
		{MemberAccountID: acct2, OrganizationID: "o-pl7demo4x2", OUPath: "/Root/Workloads", ParentIDs: []string{"r-ab12", "ou-work"}, SnapshotAt: snapAt},
		{MemberAccountID: acct3, OrganizationID: "o-pl7demo4x2", OUPath: "/Root/Workloads", ParentIDs: []string{"r-ab12", "ou-work"}, SnapshotAt: snapAt},
	}))
	must(load.ReplacePartition(ctx, l, schemas.OrgPolicies, part, []schemas.OrgPolicy{
		{ARN: arn("p-FullAWSAccess"), PolicyID: "p-FullAWSAccess", PolicyName: "FullAWSAccess", IsAWSManaged: true, TargetIDs: []string{"r-ab12", "ou-work", mgmt, acct2}, SnapshotAt: snapAt},
		{ARN: arn("p-guard"), PolicyID: "p-guard", PolicyName: "guard", TargetIDs: []string{"ou-work"}, SnapshotAt: snapAt},
		{ARN: arn("p-allowlist"), PolicyID: "p-allowlist", PolicyName: "allowlist", TargetIDs: []string{acct, acct3}, SnapshotAt: snapAt},
	}))
	st := func(key string, i int32, effect string, actions ...string) schemas.IAMPolicyStatement {
		return schemas.IAMPolicyStatement{PolicyKey: key, StatementIndex: i, Effect: effect, Actions: actions, NotActions: []string{},
			Resources: []string{"*"}, NotResources: []string{}, SnapshotAt: snapAt}
	}
	must(load.ReplacePartition(ctx, l, schemas.OrgPolicyStatements, part, []schemas.IAMPolicyStatement{
		st(arn("p-FullAWSAccess"), 0, "Allow", "*"),
		st(arn("p-guard"), 0, "Deny", "iam:CreateUser", "s3:PutObject"),
		st(arn("p-allowlist"), 0, "Allow", "iam:*", "s3:*", "sts:*"),
	}))

	db, err := buildLake(t, sqlfiles.FS, root)
	if err != nil {
		// The copies repeat the fixture's ARNs, which the ARN uniqueness tests report.
		if !errors.Is(err, ErrDataTest) || strings.Contains(err.Error(), "int_grants__resolved") || strings.Contains(err.Error(), "int_scp__allowed") {
			t.Fatal(err)
		}
	}
	got := rowsOf(t, db, `select concat_ws(' ', split_part(principal_arn, ':', 6), action, status)
		from permission_usage where account_id = '`+acct+`' and (principal_arn like '%:user/u1' or principal_arn like '%:role/r1')
		order by principal_arn, action`)
	want := []string{
		// iam:CreateUser is denied by the OU's guardrail.
		"role/r1 iam:AttachRolePolicy unused",
		"role/r1 iam:ListRoles used",
		"role/r1 iam:PassRole unknown",
		"role/r1 kms:Decrypt used_not_granted",
		"role/r1 sts:AssumeRole unused",
		// ec2 is not allowed at the account level; s3:PutObject is denied.
		"user/u1 ec2:DescribeInstances used_not_granted",
		"user/u1 s3:GetObject unknown",
		"user/u1 s3:ListAllMyBuckets used",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("permission_usage:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	grants := func(account string) string {
		return strings.Join(rowsOf(t, db, `select concat_ws(' ', split_part(principal_arn, ':', 6), action, granted_by, is_conditional)
			from int_grants__resolved where account_id = '`+account+`' order by all`), "\n")
	}
	if g1, g3 := grants(acct), grants(acct3); g1 != g3 || g1 == "" {
		t.Errorf("%s's grants differ from %s's, whose policies and SCPs are the same:\n%s\n--\n%s", acct3, acct, g3, g1)
	}
	g2 := grants(acct2)
	for _, want := range []string{"user/u1 ec2:DescribeInstances ['inline:u1-inline', p1] false", "role/r4 s3:GetObject ['inline:all', p1] false"} {
		if !strings.Contains(g2, want) {
			t.Errorf("%s (FullAWSAccess at the account) lacks %q:\n%s", acct2, want, g2)
		}
	}
	for _, absent := range []string{"s3:PutObject", "iam:CreateUser", "r4 ec2:"} {
		if strings.Contains(g2, absent) {
			t.Errorf("%s holds %q, which the OU's guardrail or r4's boundary removes:\n%s", acct2, absent, g2)
		}
	}
	if strings.Contains(grants(acct), "ec2:DescribeInstances") {
		t.Errorf("%s is granted ec2, which its allow-list does not allow", acct)
	}
	if got := rowsOf(t, db, `select count(*)::varchar from int_scp__allowed where account_id = '`+mgmt+`'`); got[0] != "0" {
		t.Errorf("the management account is never restricted by SCPs: %v rows", got)
	}
}

// TestNoTrailCoverageIsUnknown: an account whose trail recorded nothing in the window has its
// unseen grants unknown, never unused; a covered account's rows say the evidence they rest on.
func TestNoTrailCoverageIsUnknown(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	root := writeFixtureLake(t)
	l, err := load.Open(ctx, root)
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	const dark = "444455556666"
	user := "arn:aws:iam::" + dark + ":user/quiet"
	part := load.Partition{ID: dark, Hour: now.Add(-time.Hour)}
	must := func(_ load.PartitionStats, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(load.ReplacePartition(ctx, l, schemas.IAMUsers, part, []schemas.IAMUser{{ARN: user, UserName: "quiet", CreatedAt: now.AddDate(-1, 0, 0), SnapshotAt: snapAt}}))
	must(load.ReplacePartition(ctx, l, schemas.IAMPolicyAttachments, part, []schemas.IAMPolicyAttachment{
		{PrincipalARN: user, PrincipalType: "iam_user", PolicyType: "inline", PolicyKey: user + "#inline/q", PolicyName: "q", SnapshotAt: snapAt}}))
	must(load.ReplacePartition(ctx, l, schemas.IAMPolicyStatements, part, []schemas.IAMPolicyStatement{
		{PolicyKey: user + "#inline/q", Effect: "Allow", Actions: []string{"iam:CreateUser", "ec2:RunInstances"}, NotActions: []string{},
			Resources: []string{"*"}, NotResources: []string{}, SnapshotAt: snapAt}}))
	db, err := buildLake(t, sqlfiles.FS, root)
	if err != nil {
		t.Fatal(err)
	}
	if got := rowsOf(t, db, `select action || ' ' || status || ' ' || coalesce(evidence_start::varchar, 'none') from permission_usage
		where account_id = '`+dark+`' order by 1`); strings.Join(got, ",") != "ec2:RunInstances unknown none,iam:CreateUser unknown none" {
		t.Errorf("uncovered account = %v", got)
	}
	// The fixture account's first event in the window is at hour; its rows carry that evidence.
	if got := rowsOf(t, db, `select distinct evidence_start::varchar || ' ' || evidence_end::varchar from permission_usage where account_id = '`+acct+`'`); len(got) != 1 ||
		got[0] != hour.Format("2006-01-02 15:04:05")+" "+hour.Add(6*time.Minute).Format("2006-01-02 15:04:05") {
		t.Errorf("evidence = %v", got)
	}
	if got := rowsOf(t, db, `select count(*)::varchar from unused_high_risk where account_id = '`+dark+`'`); got[0] != "0" {
		t.Errorf("an uncovered account has unused high-risk rows: %v", got)
	}
}
