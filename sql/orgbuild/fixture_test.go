package orgbuild

import (
	"context"
	"database/sql"
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"sort"
	"strings"
	"testing"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	"github.com/permlake/permlake/sql/runner"
)

// The synthetic organization: a management account, seven member accounts (the last one with
// a snapshot and no activity), an outsider whose principal calls into the organization (a unit
// made of activity alone), and one Azure subscription and tenant.
const (
	mgmt     = "100000000000"
	outsider = "999900000001"
	azSub    = "11111111-1111-4111-8111-111111111111"
	azTenant = "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"
	alice    = "a11ce000-0000-4000-8000-000000000001"
	bob      = "b0b00000-0000-4000-8000-000000000002"
	ci       = "c1c10000-0000-4000-8000-000000000003"
)

var (
	accounts = []string{"100000000001", "100000000002", "100000000003", "100000000004", "100000000005", "100000000006", "100000000007"}
	testNow  = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	// snapHour is the first snapshot's hour; later snapshots of a test go in later hours.
	snapHour = testNow.Add(-6 * time.Hour)
)

// perAccountAndOrg are the marts compared with the reference build.
var comparedMarts = append(slices.Clone(PerAccount), "account_creep_scores", "unmapped_events")

func sp(s string) *string { return &s }

// catalogSeed is a small IAM action catalog holding every action the fixture grants or uses.
func catalogSeed(extra ...string) runner.Seed {
	s := runner.Seed{Columns: []string{"service", "action_name", "action", "access_level"}, Types: []string{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"}}
	actions := [][2]string{
		{"s3:GetObject", "Read"}, {"s3:ListAllMyBuckets", "List"}, {"s3:PutObject", "Write"},
		{"ec2:DescribeInstances", "List"}, {"ec2:RunInstances", "Write"}, {"ec2:CreateTags", "Tagging"},
		{"iam:CreateUser", "Write"}, {"iam:PassRole", "Write"}, {"iam:AttachRolePolicy", "Permissions management"},
		{"iam:ListRoles", "List"}, {"sts:AssumeRole", "Write"}, {"kms:Decrypt", "Write"},
	}
	for _, e := range extra {
		actions = append(actions, [2]string{e, "Write"})
	}
	for _, a := range actions {
		svc, name, _ := strings.Cut(a[0], ":")
		s.Rows = append(s.Rows, []any{svc, name, a[0], a[1]})
	}
	return s
}

func must(t *testing.T) func(load.PartitionStats, error) {
	return func(_ load.PartitionStats, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
}

// iamSpec varies one account's entitlements.
type iamSpec struct {
	admin    bool // u-admin holds "*" inline
	denyPut  bool // r-app's inline policy denies s3:PutObject
	passRole bool // the devs' managed policy also allows iam:PassRole (a changed snapshot)
}

func specOf(i int) iamSpec { return iamSpec{admin: i%3 == 0, denyPut: i%2 == 1} }

// writeIAM writes account id's entitlement snapshot at hour h: users (an admin or not, a
// developer through a group's managed policy, an idle one with an old key), roles (a narrow
// application role with a Deny, an operator role holding "*" inside a permissions boundary, a
// service-linked one).
func writeIAM(t *testing.T, l *load.Lake, id string, h time.Time, s iamSpec) {
	t.Helper()
	ctx := context.Background()
	arn := func(kind, name string) string { return "arn:aws:iam::" + id + ":" + kind + "/" + name }
	admin, dev, idle := arn("user", "u-admin"), arn("user", "u-dev"), arn("user", "u-idle")
	app, ops, svc := arn("role", "r-app"), arn("role", "r-ops"), arn("role", "aws-service-role/x.amazonaws.com/r-svc")
	devs, pDev, boundary := arn("group", "devs"), arn("policy", "p-dev"), arn("policy", "p-boundary")
	root := "arn:aws:iam::" + id + ":root"
	created := testNow.AddDate(-1, 0, 0)
	old := testNow.AddDate(0, 0, -200)
	at := h
	part := load.Partition{ID: id, Hour: h}
	m := must(t)
	m(load.ReplacePartition(ctx, l, schemas.IAMUsers, part, []schemas.IAMUser{
		{ARN: admin, UserName: "u-admin", CreatedAt: created, SnapshotAt: at},
		{ARN: dev, UserName: "u-dev", CreatedAt: created, SnapshotAt: at},
		{ARN: idle, UserName: "u-idle", CreatedAt: created, SnapshotAt: at}}))
	m(load.ReplacePartition(ctx, l, schemas.IAMRoles, part, []schemas.IAMRole{
		{ARN: app, RoleName: "r-app", CreatedAt: created, SnapshotAt: at},
		{ARN: ops, RoleName: "r-ops", CreatedAt: created, PermissionsBoundaryARN: sp(boundary), RoleLastUsedAt: &old, SnapshotAt: at},
		{ARN: svc, RoleName: "r-svc", CreatedAt: created, IsServiceLinked: true, SnapshotAt: at}}))
	m(load.ReplacePartition(ctx, l, schemas.IAMGroupMemberships, part, []schemas.IAMGroupMembership{
		{UserARN: dev, GroupName: "devs", GroupARN: devs, SnapshotAt: at}}))
	attach := []schemas.IAMPolicyAttachment{
		{PrincipalARN: devs, PrincipalType: "iam_group", PolicyType: "managed", PolicyKey: pDev, PolicyARN: sp(pDev), PolicyName: "p-dev", SnapshotAt: at},
		{PrincipalARN: app, PrincipalType: "iam_role", PolicyType: "inline", PolicyKey: app + "#inline/app", PolicyName: "app", SnapshotAt: at},
		{PrincipalARN: ops, PrincipalType: "iam_role", PolicyType: "inline", PolicyKey: ops + "#inline/all", PolicyName: "all", SnapshotAt: at},
		{PrincipalARN: admin, PrincipalType: "iam_user", PolicyType: "managed", PolicyKey: pDev, PolicyARN: sp(pDev), PolicyName: "p-dev", SnapshotAt: at},
	}
	if s.admin {
		attach = append(attach, schemas.IAMPolicyAttachment{PrincipalARN: admin, PrincipalType: "iam_user", PolicyType: "inline", PolicyKey: admin + "#inline/admin", PolicyName: "admin", SnapshotAt: at})
	}
	m(load.ReplacePartition(ctx, l, schemas.IAMPolicyAttachments, part, attach))
	st := func(key string, i int32, effect string, actions ...string) schemas.IAMPolicyStatement {
		return schemas.IAMPolicyStatement{PolicyKey: key, StatementIndex: i, Effect: effect, Actions: actions, NotActions: []string{},
			Resources: []string{"*"}, NotResources: []string{}, SnapshotAt: at}
	}
	devActions := []string{"ec2:Describe*", "s3:Get*", "s3:ListAllMyBuckets"}
	if s.passRole {
		devActions = append(devActions, "iam:PassRole")
	}
	stmts := []schemas.IAMPolicyStatement{
		st(pDev, 0, "Allow", devActions...),
		st(app+"#inline/app", 0, "Allow", "s3:GetObject", "s3:PutObject", "kms:Decrypt", "sts:AssumeRole", "iam:CreateUser"),
		st(ops+"#inline/all", 0, "Allow", "*"),
		st(boundary, 0, "Allow", "ec2:*", "iam:List*"),
		st(boundary, 1, "Deny", "ec2:RunInstances"),
	}
	if s.denyPut {
		stmts = append(stmts, st(app+"#inline/app", 1, "Deny", "s3:PutObject"))
	}
	if s.admin {
		stmts = append(stmts, st(admin+"#inline/admin", 0, "Allow", "*"))
	}
	m(load.ReplacePartition(ctx, l, schemas.IAMPolicyStatements, part, stmts))
	yes := true
	m(load.ReplacePartition(ctx, l, schemas.IAMCredentialReport, part, []schemas.IAMCredential{
		{User: "<root_account>", ARN: root, SnapshotAt: at},
		{User: "u-admin", ARN: admin, IsPasswordEnabled: &yes, PasswordLastChangedAt: &created, PasswordLastUsedAt: &old, SnapshotAt: at},
		{User: "u-dev", ARN: dev, IsAccessKey1Active: true, AccessKey1LastRotated: &created, SnapshotAt: at},
		{User: "u-idle", ARN: idle, IsAccessKey1Active: true, AccessKey1LastRotated: &created, AccessKey1LastUsedAt: &old, SnapshotAt: at}}))
}

// writeOrg writes the organization snapshot at hour h: accounts 1-3 in ou-prod, the others in
// ou-dev; FullAWSAccess everywhere; a guardrail on ou-prod denying guarded.
func writeOrg(t *testing.T, l *load.Lake, h time.Time, guarded ...string) {
	t.Helper()
	ctx := context.Background()
	arn := func(id string) string {
		return "arn:aws:organizations::" + mgmt + ":policy/o-test/service_control_policy/" + id
	}
	part := load.Partition{ID: mgmt, Hour: h}
	rows := []schemas.OrgAccount{{MemberAccountID: mgmt, OrganizationID: "o-test", OUPath: "/Root", ParentIDs: []string{"r-root"}, IsManagementAccount: true, SnapshotAt: h}}
	targets := []string{"r-root", "ou-prod", "ou-dev", mgmt}
	for i, a := range accounts {
		ou, path := "ou-dev", "/Root/Dev"
		if i < 3 {
			ou, path = "ou-prod", "/Root/Prod"
		}
		rows = append(rows, schemas.OrgAccount{MemberAccountID: a, OrganizationID: "o-test", OUPath: path, ParentIDs: []string{"r-root", ou}, SnapshotAt: h})
		targets = append(targets, a)
	}
	m := must(t)
	m(load.ReplacePartition(ctx, l, schemas.OrgAccounts, part, rows))
	m(load.ReplacePartition(ctx, l, schemas.OrgPolicies, part, []schemas.OrgPolicy{
		{ARN: arn("p-FullAWSAccess"), PolicyID: "p-FullAWSAccess", PolicyName: "FullAWSAccess", IsAWSManaged: true, TargetIDs: targets, SnapshotAt: h},
		{ARN: arn("p-guard"), PolicyID: "p-guard", PolicyName: "guard", TargetIDs: []string{"ou-prod"}, SnapshotAt: h},
	}))
	st := func(key string, effect string, actions ...string) schemas.IAMPolicyStatement {
		return schemas.IAMPolicyStatement{PolicyKey: key, Effect: effect, Actions: actions, NotActions: []string{},
			Resources: []string{"*"}, NotResources: []string{}, SnapshotAt: h}
	}
	m(load.ReplacePartition(ctx, l, schemas.OrgPolicyStatements, part, []schemas.IAMPolicyStatement{
		st(arn("p-FullAWSAccess"), "Allow", "*"),
		st(arn("p-guard"), "Deny", guarded...),
	}))
}

// event makes one CloudTrail event of principal (kind/name of account from) recorded in
// account in's trail.
func event(id, from, kind, name, in string, action string, ok bool, at time.Time) schemas.CloudTrailEvent {
	ptype := map[string]string{"user": "iam_user", "role": "iam_role"}[kind]
	e := schemas.CloudTrailEvent{EventID: id, EventTime: at, EventSource: "x.amazonaws.com", EventName: "X", RecipientAccountID: in,
		UserIdentityType: "IAMUser", PrincipalType: ptype, IsSuccess: ok, IAMActions: []string{action}, ActionMapping: "default",
		SourceKey: "k", RunID: "r", PrincipalARN: sp("arn:aws:iam::" + from + ":" + kind + "/" + name), PrincipalAccountID: sp(from)}
	if kind == "role" {
		e.UserIdentityType = "AssumedRole"
	}
	if !ok {
		e.ErrorCode = sp("AccessDenied")
	}
	return e
}

// crossAccount is a call by a principal of from into account to: recorded in both trails under
// one shared_event_id.
func crossAccount(id, from, kind, name, to, action string, at time.Time) []schemas.CloudTrailEvent {
	a := event(id, from, kind, name, to, action, true, at)
	a.SharedEventID = sp("shared-" + id)
	b := a
	b.EventID, b.RecipientAccountID = id+"-src", from
	return []schemas.CloudTrailEvent{a, b}
}

// activity is the fixture's CloudTrail: four days of use in the first six accounts (successes,
// a failure, an early call that ages out when the window slides), cross-account calls to the
// next account, an outsider's calls, an unmapped event and a service event.
func activity() []schemas.CloudTrailEvent {
	var out []schemas.CloudTrailEvent
	for i, a := range accounts[:6] {
		for d := 1; d <= 4; d++ {
			at := testNow.AddDate(0, 0, -d).Add(time.Duration(8+i) * time.Hour)
			id := fmt.Sprintf("%s-d%d-", a, d)
			out = append(out,
				event(id+"1", a, "user", "u-dev", a, "ec2:DescribeInstances", true, at),
				event(id+"2", a, "role", "r-app", a, "s3:GetObject", true, at.Add(time.Minute)),
				event(id+"3", a, "role", "r-app", a, "iam:CreateUser", false, at.Add(2*time.Minute)))
			if d%2 == 0 {
				out = append(out, event(id+"4", a, "user", "u-admin", a, "iam:ListRoles", true, at.Add(3*time.Minute)))
			}
		}
		// Before the slide: ages out when the analysis time moves 5 days on.
		out = append(out, event(a+"-early", a, "user", "u-dev", a, "s3:ListAllMyBuckets", true, testNow.AddDate(0, 0, -88)))
		out = append(out, crossAccount(a+"-x", a, "role", "r-app", accounts[(i+1)%6], "sts:AssumeRole", testNow.AddDate(0, 0, -2).Add(time.Duration(i)*time.Hour))...)
	}
	out = append(out,
		event("out-1", outsider, "role", "partner", accounts[2], "s3:GetObject", true, testNow.AddDate(0, 0, -3)),
		event("out-2", outsider, "role", "partner", accounts[2], "s3:PutObject", false, testNow.AddDate(0, 0, -3).Add(time.Minute)))
	unmapped := event("unmapped-1", accounts[1], "user", "u-dev", accounts[1], "x:Y", true, testNow.AddDate(0, 0, -1))
	unmapped.IAMActions, unmapped.ActionMapping, unmapped.EventSource, unmapped.EventName = []string{}, "unmapped", "newsvc.amazonaws.com", "DoThing"
	service := event("service-1", accounts[0], "user", "x", accounts[0], "sts:AssumeRole", true, testNow.AddDate(0, 0, -1))
	service.PrincipalType, service.PrincipalARN, service.PrincipalAccountID, service.ActionMapping = "aws_service", nil, nil, "not_a_principal"
	return append(out, unmapped, service)
}

// commitEvents writes events into their partitions (recipient account, event hour) through the
// lake's own writer, which journals the commit.
func commitEvents(t *testing.T, l *load.Lake, events []schemas.CloudTrailEvent) {
	t.Helper()
	w := load.NewPartitionedWriter(context.Background(), l, schemas.CloudTrailEvents, func(e *schemas.CloudTrailEvent) string { return e.EventID }, 0)
	for _, e := range events {
		if err := w.Add(load.Partition{ID: e.RecipientAccountID, Hour: e.EventTime.Truncate(time.Hour)}, e); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := w.Commit(); err != nil {
		t.Fatal(err)
	}
}

// writeAzure writes an Azure subscription and tenant at hour h: a Contributor-like role for
// alice, Reader for bob, a custom VM operator role for a CI service principal; activity two days
// before testNow (a write, a failed delete, a start, a role assignment Reader does not grant).
func writeAzure(t *testing.T, l *load.Lake, h time.Time) {
	t.Helper()
	ctx := context.Background()
	subPart := load.Partition{ID: azSub, By: schemas.BySubscriptionHour, Hour: h}
	tenPart := load.Partition{ID: azTenant, By: schemas.ByTenantHour, Hour: h}
	m := must(t)
	var ops []schemas.AzureOperation
	for _, o := range []string{"Microsoft.Compute/virtualMachines/read", "Microsoft.Compute/virtualMachines/write", "Microsoft.Compute/virtualMachines/delete",
		"Microsoft.Compute/virtualMachines/start/action", "Microsoft.Compute/virtualMachines/runCommand/action",
		"Microsoft.Authorization/roleAssignments/write", "Microsoft.Authorization/roleAssignments/read"} {
		ops = append(ops, schemas.AzureOperation{Operation: o, Provider: strings.ToLower(strings.Split(o, "/")[0]), SnapshotAt: h})
	}
	m(load.ReplacePartition(ctx, l, schemas.AzureProviderOperations, tenPart, ops))
	none := []string{}
	m(load.ReplacePartition(ctx, l, schemas.AzureRoleDefinitions, subPart, []schemas.AzureRoleDefinition{
		{RoleDefinitionID: "r-contrib", RoleName: "Contrib", RoleType: "BuiltInRole", Actions: []string{"*"}, NotActions: []string{"Microsoft.Authorization/*/Write"}, DataActions: none, NotDataActions: none, AssignableScopes: []string{"/"}, SnapshotAt: h},
		{RoleDefinitionID: "r-reader", RoleName: "Reader", RoleType: "BuiltInRole", Actions: []string{"*/read"}, NotActions: none, DataActions: none, NotDataActions: none, AssignableScopes: []string{"/"}, SnapshotAt: h},
		{RoleDefinitionID: "r-vmop", RoleName: "VM operator", RoleType: "CustomRole", Actions: []string{"Microsoft.Compute/virtualMachines/*/action"}, NotActions: []string{"microsoft.compute/virtualmachines/runcommand/action"}, DataActions: none, NotDataActions: none, AssignableScopes: []string{"/subscriptions/" + azSub}, SnapshotAt: h},
	}))
	scope := "/subscriptions/" + azSub
	ra := func(id, sc, level, role, principal, ptype string) schemas.AzureRoleAssignment {
		return schemas.AzureRoleAssignment{RoleAssignmentID: id, ID: sc + "/providers/Microsoft.Authorization/roleAssignments/" + id, Scope: sc, ScopeLC: strings.ToLower(sc),
			ScopeLevel: level, RoleDefinitionID: role, PrincipalID: principal, PrincipalType: ptype, SnapshotAt: h}
	}
	m(load.ReplacePartition(ctx, l, schemas.AzureRoleAssignments, subPart, []schemas.AzureRoleAssignment{
		ra("ra-1", scope, "subscription", "r-contrib", alice, "user"),
		ra("ra-2", scope, "subscription", "r-reader", bob, "user"),
		ra("ra-3", scope+"/resourceGroups/rg1", "resource_group", "r-vmop", ci, "service_principal"),
	}))
	old := testNow.AddDate(-1, 0, 0)
	m(load.ReplacePartition(ctx, l, schemas.AzurePrincipals, tenPart, []schemas.AzurePrincipal{
		{PrincipalID: alice, PrincipalType: "user", UserPrincipalName: sp("alice@example.com"), CreatedAt: &old, HasSignInActivity: true, SnapshotAt: h},
		{PrincipalID: bob, PrincipalType: "user", UserPrincipalName: sp("bob@example.com"), CreatedAt: &old, HasSignInActivity: true, SnapshotAt: h},
		{PrincipalID: ci, PrincipalType: "service_principal", DisplayName: sp("ci"), CreatedAt: &old, SnapshotAt: h},
	}))
	at := testNow.AddDate(0, 0, -2)
	ev := func(key, principal, action, result, corr string, at time.Time) schemas.AzureActivityEvent {
		a := strings.ToLower(action)
		return schemas.AzureActivityEvent{RecordKey: key, EventTime: at, ResourceID: scope, ResourceIDLC: scope, OperationName: action, Action: &a,
			ResultType: &result, IsSuccess: result == "Succeeded", CorrelationID: &corr, PrincipalID: &principal, SourceKey: "k"}
	}
	m(load.ReplacePartition(ctx, l, schemas.AzureActivityEvents, load.Partition{ID: azSub, By: schemas.BySubscriptionHour, Hour: at}, []schemas.AzureActivityEvent{
		ev("e1", alice, "Microsoft.Compute/virtualMachines/write", "Succeeded", "c1", at),
		ev("e2", alice, "Microsoft.Compute/virtualMachines/delete", "Failed", "c2", at.Add(time.Minute)),
		ev("e3", ci, "Microsoft.Compute/virtualMachines/start/action", "Succeeded", "c3", at.Add(2*time.Minute)),
		ev("e4", bob, "Microsoft.Authorization/roleAssignments/write", "Succeeded", "c4", at.Add(3*time.Minute)),
	}))
}

// env is one test's lake, state, cache and seeds.
type env struct {
	t     *testing.T
	root  string
	lake  *load.Lake
	state string
	cache string
	seeds map[string]runner.Seed
}

// newEnv writes the synthetic organization into a new file lake.
func newEnv(t *testing.T) *env {
	t.Helper()
	root := t.TempDir()
	l, err := load.Open(context.Background(), "file://"+root)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	for i, a := range accounts {
		writeIAM(t, l, a, snapHour, specOf(i))
	}
	writeOrg(t, l, snapHour, "iam:CreateUser", "s3:PutObject")
	writeAzure(t, l, snapHour)
	commitEvents(t, l, activity())
	return &env{t: t, root: l.Root(), lake: l, state: filepath.Join(t.TempDir(), "state.duckdb"), cache: t.TempDir(),
		seeds: map[string]runner.Seed{"aws_iam_actions": catalogSeed()}}
}

func changeFeed(l *load.Lake) func(context.Context, time.Time, func(string) bool) ([]runner.Change, error) {
	return func(ctx context.Context, since time.Time, seen func(string) bool) ([]runner.Change, error) {
		cs, err := l.Commits(ctx, since, seen)
		if err != nil {
			return nil, err
		}
		out := make([]runner.Change, len(cs))
		for i, c := range cs {
			out[i] = runner.Change{Key: c.Key, At: c.CommittedAt}
			for _, p := range c.Partitions {
				out[i].Dirs = append(out[i].Dirs, p.Dir)
			}
		}
		return out, nil
	}
}

func (e *env) opts(now time.Time) Options {
	return Options{
		Runner: runner.Options{Lake: e.root, Now: now, Seeds: e.seeds, State: e.state, LakeID: "x", Changes: changeFeed(e.lake)},
		Lake:   e.lake, CacheDir: e.cache,
	}
}

func newDB(t *testing.T) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { db.Close() })
	return db
}

// buildAccounts runs BuildAccounts on its own database and fails the test on an error.
func (e *env) buildAccounts(o Options) *Result {
	e.t.Helper()
	res, err := BuildAccounts(context.Background(), newDB(e.t), o)
	if err != nil {
		e.t.Fatalf("BuildAccounts: %v", err)
	}
	return res
}

// finalize runs Finalize into a new database and returns its mart digests.
func (e *env) finalize(o Options) map[string]string {
	e.t.Helper()
	db := newDB(e.t)
	res, err := Finalize(context.Background(), db, o)
	if err != nil {
		e.t.Fatalf("Finalize: %v", err)
	}
	// The per-account marts' rows are taken from their records, not counted: they must be the
	// warehouse's.
	for _, m := range res.Models {
		var n int64
		if err := db.QueryRow("select count(*) from " + m.Name).Scan(&n); err != nil {
			e.t.Fatal(err)
		}
		if n != m.Rows {
			e.t.Errorf("Finalize reports %d rows of %s, the warehouse holds %d", m.Rows, m.Name, n)
		}
	}
	return martDigests(e.t, db)
}

// reference is the monolithic build's mart digests at now (the semantics oracle): a plain
// runner.Build of the whole lake, in memory, without state.
func (e *env) reference(now time.Time) map[string]string {
	e.t.Helper()
	_, d := e.referenceDB(now)
	return d
}

// referenceDB is reference with its database.
func (e *env) referenceDB(now time.Time) (*sql.DB, map[string]string) {
	e.t.Helper()
	db := newDB(e.t)
	if _, err := runner.Build(context.Background(), db, runner.Options{Lake: e.root, Now: now, Seeds: e.seeds}); err != nil {
		e.t.Fatalf("reference build: %v", err)
	}
	d := martDigests(e.t, db)
	for _, m := range comparedMarts {
		if d[m] == "" {
			e.t.Fatalf("reference mart %s is empty: the fixture exercises nothing there", m)
		}
	}
	return db, d
}

// martDigests returns, per compared mart, its rows as text: every column by name (sorted), the
// rows sorted, so that column order and row order do not matter.
func martDigests(t *testing.T, db *sql.DB) map[string]string {
	t.Helper()
	out := map[string]string{}
	for _, m := range comparedMarts {
		rows, err := db.Query("select column_name from information_schema.columns where table_name = ? order by column_name", m)
		if err != nil {
			t.Fatal(err)
		}
		var fields []string
		for rows.Next() {
			var c string
			if err := rows.Scan(&c); err != nil {
				t.Fatal(err)
			}
			fields = append(fields, fmt.Sprintf("'%s': %s", c, c))
		}
		rows.Close()
		if len(fields) == 0 {
			t.Fatalf("mart %s: no such table", m)
		}
		var s sql.NullString
		q := fmt.Sprintf("select string_agg(r, chr(10) order by r) from (select cast({%s} as varchar) as r from %s)", strings.Join(fields, ", "), m)
		if err := db.QueryRow(q).Scan(&s); err != nil {
			t.Fatalf("%s: %v", m, err)
		}
		out[m] = s.String
	}
	return out
}

// sameMarts fails the test for every mart whose rows differ.
func sameMarts(t *testing.T, label string, got, want map[string]string) {
	t.Helper()
	for _, m := range comparedMarts {
		if got[m] != want[m] {
			t.Errorf("%s: mart %s differs from the monolithic build:\n%s", label, m, diffLines(got[m], want[m]))
		}
	}
}

// diffLines lists the lines only in got (+) and only in want (-), a few of each.
func diffLines(got, want string) string {
	g, w := map[string]bool{}, map[string]bool{}
	for _, l := range strings.Split(got, "\n") {
		g[l] = true
	}
	for _, l := range strings.Split(want, "\n") {
		w[l] = true
	}
	var out []string
	for l := range g {
		if !w[l] {
			out = append(out, "+ "+l)
		}
	}
	for l := range w {
		if !g[l] {
			out = append(out, "- "+l)
		}
	}
	sort.Strings(out)
	if len(out) > 12 {
		out = append(out[:12], fmt.Sprintf("… %d more", len(out)-12))
	}
	return strings.Join(out, "\n")
}

// allUnits are the units the fixture's inputs hold.
func allUnits() []Unit {
	var out []Unit
	for _, a := range accounts {
		out = append(out, Unit(a))
	}
	out = append(out, Unit(outsider), AzureUnit)
	slices.Sort(out)
	return out
}

func sortedUnits(us []Unit) []Unit {
	out := slices.Clone(us)
	slices.Sort(out)
	return out
}

// records reads the lake's unit records.
func (e *env) records() map[Unit]*record {
	e.t.Helper()
	r, err := readRecords(context.Background(), e.lake)
	if err != nil {
		e.t.Fatal(err)
	}
	return r
}

// fileExists reports whether key is an object of the file lake.
func (e *env) fileExists(key string) bool {
	_, err := os.Stat(filepath.Join(e.root, filepath.FromSlash(key)))
	return err == nil
}
