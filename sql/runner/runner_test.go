package runner

import (
	"context"
	"database/sql"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/fstest"
	"time"

	_ "github.com/duckdb/duckdb-go/v2"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/schemas"
	sqlfiles "github.com/permlake/permlake/sql"
)

func TestModelsAreOrderedAndDocumented(t *testing.T) {
	t.Parallel()
	models, err := Models(sqlfiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	pos := map[string]int{}
	for i, m := range models {
		pos[m.Name] = i
	}
	for _, m := range models {
		for _, d := range m.Deps {
			if pos[d] >= pos[m.Name] {
				t.Errorf("%s is built before its dependency %s", m.Name, d)
			}
		}
	}
	for _, want := range []string{"permission_usage", "inactive_identities", "creep_scores", "least_privilege_policies", "unmapped_events", "account_creep_scores"} {
		if _, ok := pos[want]; !ok {
			t.Errorf("mart %s missing", want)
		}
	}
}

func TestModelsRejectsCyclesAndMissingDocs(t *testing.T) {
	t.Parallel()
	yml := []byte("description: x\ngrain: x\n")
	cyc := fstest.MapFS{
		"staging/a.sql": {Data: []byte("select * from b")}, "staging/a.yml": {Data: yml},
		"staging/b.sql": {Data: []byte("select * from a")}, "staging/b.yml": {Data: yml},
	}
	if _, err := Models(cyc); err == nil || !strings.Contains(err.Error(), "cycle") {
		t.Errorf("cycle: err = %v", err)
	}
	nodoc := fstest.MapFS{"marts/c.sql": {Data: []byte("select 1")}}
	if _, err := Models(nodoc); err == nil || !strings.Contains(err.Error(), "c.yml") {
		t.Errorf("missing yml: err = %v", err)
	}
	// An unquoted comma in a flow mapping cuts the description short: refused, not read as "a".
	comma := fstest.MapFS{"marts/d.sql": {Data: []byte("select 1 as n")},
		"marts/d.yml": {Data: []byte("description: x\ngrain: x\ncolumns:\n  - {name: n, description: a, b}\n")}}
	if _, err := Models(comma); err == nil || !strings.Contains(err.Error(), "d.yml") || !strings.Contains(err.Error(), "quote") {
		t.Errorf("unquoted comma: err = %v", err)
	}
}

const acct, acct2 = "012345678901", "333344445555"

var (
	now    = time.Date(2026, 11, 16, 0, 0, 0, 0, time.UTC)
	hour   = time.Date(2026, 11, 15, 10, 0, 0, 0, time.UTC)
	snapAt = now
)

func sp(s string) *string { return &s }

func catalogSeed() Seed {
	s := Seed{Columns: []string{"service", "action_name", "action", "access_level"}, Types: []string{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"}}
	for _, a := range [][2]string{
		{"s3:GetObject", "Read"}, {"s3:ListAllMyBuckets", "List"}, {"s3:PutObject", "Write"},
		{"ec2:DescribeInstances", "List"}, {"ec2:RunInstances", "Write"}, {"ec2:CreateTags", "Tagging"},
		{"iam:CreateUser", "Write"}, {"iam:PassRole", "Write"}, {"iam:AttachRolePolicy", "Permissions management"},
		{"iam:ListRoles", "List"}, {"sts:AssumeRole", "Write"}, {"kms:Decrypt", "Write"},
	} {
		svc, name, _ := strings.Cut(a[0], ":")
		s.Rows = append(s.Rows, []any{svc, name, a[0], a[1]})
	}
	return s
}

func ev(id, principal, ptype string, actions []string, ok bool, at time.Time) schemas.CloudTrailEvent {
	e := schemas.CloudTrailEvent{EventID: id, EventTime: at, EventSource: "x.amazonaws.com", EventName: "X", RecipientAccountID: acct,
		UserIdentityType: "IAMUser", PrincipalType: ptype, IsSuccess: ok, IAMActions: actions, ActionMapping: "default", SourceKey: "k", RunID: "r"}
	if principal != "" {
		e.PrincipalARN, e.PrincipalAccountID = sp(principal), sp(acct)
	}
	if !ok {
		e.ErrorCode = sp("AccessDenied")
	}
	return e
}

// writeFixtureLake writes a small lake through the real writer, in the real layout.
func writeFixtureLake(t *testing.T) string {
	t.Helper()
	ctx := context.Background()
	l, err := load.Open(ctx, t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	u1, u2 := "arn:aws:iam::"+acct+":user/u1", "arn:aws:iam::"+acct+":user/u2"
	r1 := "arn:aws:iam::" + acct + ":role/r1"
	r2 := "arn:aws:iam::" + acct + ":role/aws-service-role/x.amazonaws.com/r2"
	r3 := "arn:aws:iam::" + acct + ":role/r3"
	g1 := "arn:aws:iam::" + acct + ":group/g1"
	p1 := "arn:aws:iam::" + acct + ":policy/p1"
	p2 := "arn:aws:iam::" + acct + ":policy/boundary"
	r4 := "arn:aws:iam::" + acct + ":role/r4"
	root := "arn:aws:iam::" + acct + ":root"
	old := now.AddDate(0, 0, -200)
	recent := now.AddDate(0, 0, -10)
	created := now.AddDate(-1, 0, 0)
	young := now.AddDate(0, 0, -5)
	yes := true
	part := load.Partition{ID: acct, Hour: now.Add(-time.Hour)}
	must := func(_ load.PartitionStats, err error) {
		t.Helper()
		if err != nil {
			t.Fatal(err)
		}
	}
	must(load.ReplacePartition(ctx, l, schemas.IAMUsers, part, []schemas.IAMUser{
		{ARN: u1, UserName: "u1", CreatedAt: created, SnapshotAt: snapAt}, {ARN: u2, UserName: "u2", CreatedAt: created, SnapshotAt: snapAt}}))
	must(load.ReplacePartition(ctx, l, schemas.IAMRoles, part, []schemas.IAMRole{
		{ARN: r1, RoleName: "r1", CreatedAt: created, SnapshotAt: snapAt},
		{ARN: r2, RoleName: "r2", CreatedAt: created, IsServiceLinked: true, SnapshotAt: snapAt},
		{ARN: r3, RoleName: "r3", CreatedAt: created, RoleLastUsedAt: &old, SnapshotAt: snapAt},
		{ARN: r4, RoleName: "r4", CreatedAt: created, PermissionsBoundaryARN: sp(p2), SnapshotAt: snapAt}}))
	must(load.ReplacePartition(ctx, l, schemas.IAMGroupMemberships, part, []schemas.IAMGroupMembership{{UserARN: u1, GroupName: "g1", GroupARN: g1, SnapshotAt: snapAt}}))
	must(load.ReplacePartition(ctx, l, schemas.IAMPolicyAttachments, part, []schemas.IAMPolicyAttachment{
		{PrincipalARN: g1, PrincipalType: "iam_group", PolicyType: "managed", PolicyKey: p1, PolicyARN: sp(p1), PolicyName: "p1", SnapshotAt: snapAt},
		{PrincipalARN: u1, PrincipalType: "iam_user", PolicyType: "inline", PolicyKey: u1 + "#inline/u1-inline", PolicyName: "u1-inline", SnapshotAt: snapAt},
		{PrincipalARN: r1, PrincipalType: "iam_role", PolicyType: "inline", PolicyKey: r1 + "#inline/r1-inline", PolicyName: "r1-inline", SnapshotAt: snapAt},
		{PrincipalARN: r4, PrincipalType: "iam_role", PolicyType: "managed", PolicyKey: p1, PolicyARN: sp(p1), PolicyName: "p1", SnapshotAt: snapAt},
		{PrincipalARN: r4, PrincipalType: "iam_role", PolicyType: "inline", PolicyKey: r4 + "#inline/all", PolicyName: "all", SnapshotAt: snapAt}}))
	st := func(key string, i int32, effect string, actions, notActions []string, cond *string) schemas.IAMPolicyStatement {
		if actions == nil {
			actions = []string{}
		}
		if notActions == nil {
			notActions = []string{}
		}
		return schemas.IAMPolicyStatement{PolicyKey: key, StatementIndex: i, Effect: effect, Actions: actions, NotActions: notActions,
			Resources: []string{"*"}, NotResources: []string{}, Condition: cond, SnapshotAt: snapAt}
	}
	cond := sp(`{"Bool":{"aws:MultiFactorAuthPresent":"true"}}`)
	must(load.ReplacePartition(ctx, l, schemas.IAMPolicyStatements, part, []schemas.IAMPolicyStatement{
		st(p1, 0, "Allow", []string{"ec2:Describe*", "S3:GET*"}, nil, nil),
		st(u1+"#inline/u1-inline", 0, "Allow", nil, []string{"iam:*", "kms:*", "sts:*"}, nil),
		st(u1+"#inline/u1-inline", 1, "Deny", []string{"ec2:RunInstances"}, nil, nil),
		st(r1+"#inline/r1-inline", 0, "Allow", []string{"iam:*"}, nil, cond),
		st(r1+"#inline/r1-inline", 1, "Allow", []string{"sts:AssumeRole"}, nil, nil),
		st(r1+"#inline/r1-inline", 2, "Deny", []string{"iam:CreateUser"}, nil, cond),
		// r4 holds everything through an inline "*", but its boundary allows only S3 and denies PutObject.
		st(r4+"#inline/all", 0, "Allow", []string{"*"}, nil, nil),
		st(p2, 0, "Allow", []string{"s3:*"}, nil, nil),
		st(p2, 1, "Deny", []string{"s3:PutObject"}, nil, nil),
	}))
	must(load.ReplacePartition(ctx, l, schemas.IAMCredentialReport, part, []schemas.IAMCredential{
		{User: "<root_account>", ARN: root, SnapshotAt: snapAt},
		{User: "u1", ARN: u1, IsAccessKey1Active: true, AccessKey1LastRotated: &created, AccessKey1LastUsedAt: &old, SnapshotAt: snapAt},
		{User: "u2", ARN: u2, IsPasswordEnabled: &yes, PasswordLastChangedAt: &created, PasswordLastUsedAt: &recent,
			IsAccessKey2Active: true, AccessKey2LastRotated: &young, SnapshotAt: snapAt}}))

	shared := ev("e3", u1, "iam_user", []string{"s3:ListAllMyBuckets"}, true, hour.Add(3*time.Minute))
	shared.SharedEventID = sp("s1")
	shared2 := shared
	shared2.EventID, shared2.RecipientAccountID = "e3b", acct2
	service := ev("e7", "", "aws_service", []string{"sts:AssumeRole"}, true, hour)
	service.ActionMapping = "not_a_principal"
	rows := []schemas.CloudTrailEvent{
		ev("e1", u1, "iam_user", []string{"ec2:DescribeInstances"}, true, hour),
		ev("e2", u1, "iam_user", []string{"ec2:RunInstances"}, false, hour.Add(time.Minute)),
		shared,
		ev("e4", r1, "iam_role", []string{"iam:ListRoles"}, true, hour.Add(4*time.Minute)),
		ev("e5", root, "root", []string{"s3:ListAllMyBuckets"}, true, hour.Add(5*time.Minute)),
		ev("e6", r1, "iam_role", []string{"kms:Decrypt"}, true, hour.Add(6*time.Minute)),
		service,
		ev("e8", u1, "iam_user", []string{"ec2:DescribeInstances"}, true, now.AddDate(0, 0, -100)), // before the window
	}
	for _, r := range rows {
		p := load.Partition{ID: acct, Hour: r.EventTime}
		if r.RecipientAccountID == acct2 {
			p.ID = acct2
		}
		w, err := load.NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, func(e *schemas.CloudTrailEvent) string { return e.EventID })
		if err != nil {
			t.Fatal(err)
		}
		if _, err := w.Write([]schemas.CloudTrailEvent{r}); err != nil {
			t.Fatal(err)
		}
		if _, err := w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	return l.Root()
}

func build(t *testing.T, fsys fs.FS, extra ...map[string]Seed) (*sql.DB, error) {
	t.Helper()
	return buildLake(t, fsys, writeFixtureLake(t), extra...)
}

// buildLake builds the models over the lake at root.
func buildLake(t *testing.T, fsys fs.FS, root string, extra ...map[string]Seed) (*sql.DB, error) {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	seeds := map[string]Seed{"aws_iam_actions": catalogSeed()}
	for _, e := range extra {
		for k, v := range e {
			seeds[k] = v
		}
	}
	_, err = Build(context.Background(), db, Options{Lake: root, Now: now, FS: fsys, Seeds: seeds})
	return db, err
}

func rowsOf(t *testing.T, db *sql.DB, q string) []string {
	t.Helper()
	rows, err := db.Query(q)
	if err != nil {
		t.Fatal(err)
	}
	defer rows.Close()
	var out []string
	for rows.Next() {
		var s string
		if err := rows.Scan(&s); err != nil {
			t.Fatal(err)
		}
		out = append(out, s)
	}
	return out
}

func TestMartsOnFixtureLake(t *testing.T) {
	t.Parallel()
	db, err := build(t, sqlfiles.FS)
	if err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, db, `select concat_ws(' ', split_part(principal_arn, ':', 6), action, status, uses, attempts, nullif(array_to_string(granted_by, '+'), ''), is_conditional)
		from permission_usage order by principal_arn, action`)
	want := []string{
		"role/r1 iam:AttachRolePolicy unused 0 0 inline:r1-inline true",
		"role/r1 iam:CreateUser unused 0 0 inline:r1-inline true",
		"role/r1 iam:ListRoles used 1 0 inline:r1-inline true",
		"role/r1 iam:PassRole unknown 0 0 inline:r1-inline true",
		"role/r1 kms:Decrypt used_not_granted 1 0 false",
		"role/r1 sts:AssumeRole unused 0 0 inline:r1-inline false",
		"role/r4 s3:GetObject unknown 0 0 inline:all+p1 false",
		"role/r4 s3:ListAllMyBuckets unused 0 0 inline:all false",
		"root s3:ListAllMyBuckets used 1 0 root false",
		"user/u1 ec2:CreateTags unused 0 0 inline:u1-inline false",
		"user/u1 ec2:DescribeInstances used 1 0 inline:u1-inline+p1 false",
		"user/u1 s3:GetObject unknown 0 0 inline:u1-inline+p1 false",
		"user/u1 s3:ListAllMyBuckets used 1 0 inline:u1-inline false",
		"user/u1 s3:PutObject unknown 0 0 inline:u1-inline false",
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("permission_usage:\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if got := rowsOf(t, db, `select account_id || ' ' || split_part(principal_arn, ':', 6) || ' ' || credential || ' ' || coalesce(last_activity_source, 'never') || ' ' || days_inactive
		from inactive_identities order by 1`); strings.Join(got, ",") != acct+" role/r3 identity role_last_used 200,"+acct+" role/r4 identity never 365,"+acct+" user/u1 access_key_1 credential_report 200" {
		t.Errorf("inactive_identities = %v (r3 and u1's old key only: u1 is active by CloudTrail, u2 by its password, u2's key is too young, r2 is service-linked)", got)
	}
	if got := rowsOf(t, db, `select split_part(principal_arn, ':', 6) || ' ' || granted_count || ' ' || unused_count || ' ' || unknown_count || ' ' ||
		unused_high_risk_count || ' ' || score || ' ' || band from creep_scores order by 1`); strings.Join(got, ",") !=
		"role/r1 5 3 1 2 53 medium,role/r4 2 1 1 0 60 medium,user/u1 5 1 2 0 20 low" {
		t.Errorf("creep_scores = %v", got)
	}
	if got := rowsOf(t, db, `select policy_document from least_privilege_policies where principal_arn like '%user/u1'`); len(got) != 1 ||
		got[0] != `{"Version":"2012-10-17","Statement":[{"Sid":"UseEc2","Effect":"Allow","Action":["ec2:DescribeInstances"],"Resource":"*"},{"Sid":"UseS3","Effect":"Allow","Action":["s3:ListAllMyBuckets"],"Resource":"*"}]}` {
		t.Errorf("least privilege policy = %v", got)
	}
	if got := rowsOf(t, db, `select concat_ws(' ', split_part(principal_arn, ':', 6), action, high_risk_reason, nullif(array_to_string(granting_statements, '+'), ''), resource_scope)
		from unused_high_risk order by 1`); strings.Join(got, ",") !=
		"role/r1 iam:AttachRolePolicy privilege escalation: attach any policy inline:r1-inline#0 all,role/r1 sts:AssumeRole lateral movement into other roles inline:r1-inline#1 all" {
		t.Errorf("unused_high_risk = %v", got)
	}
	if got := rowsOf(t, db, `select concat_ws(' ', split_part(principal_arn, ':', 6), service, granted_actions, used_actions, unused_actions, unknown_actions, status)
		from service_usage where principal_arn like '%u1' order by 1`); strings.Join(got, ",") !=
		"user/u1 ec2 2 1 1 0 used,user/u1 s3 3 1 0 2 used" {
		t.Errorf("service_usage = %v", got)
	}
	if got := rowsOf(t, db, `select events::varchar from int_trail__coverage where account_id = '012345678901'`); got[0] != "7" { // e8 lies before the window
		t.Errorf("leading-zero account rows = %v", got)
	}
}

// TestTrailConfigDecidesUnknown: with S3 data events logged for the account, unseen S3 object
// actions are unused, not unknown; a service whose events the trail excludes is unknown.
func TestTrailConfigDecidesUnknown(t *testing.T) {
	t.Parallel()
	two := []string{"VARCHAR", "VARCHAR"}
	db, err := build(t, sqlfiles.FS, map[string]Seed{
		"aws_trail_data_events":       {Columns: []string{"account_id", "data_event_class"}, Types: two, Rows: [][]any{{acct, "s3"}}},
		"aws_trail_excluded_services": {Columns: []string{"account_id", "service"}, Types: two, Rows: [][]any{{"*", "ec2"}}},
	})
	if err != nil {
		t.Fatal(err)
	}
	got := rowsOf(t, db, `select action || ' ' || status from permission_usage where principal_arn like '%user/u1' order by 1`)
	want := "ec2:CreateTags unknown,ec2:DescribeInstances used,s3:GetObject unused,s3:ListAllMyBuckets used,s3:PutObject unused"
	if strings.Join(got, ",") != want {
		t.Errorf("u1 = %v\nwant %s", got, want)
	}
}

func TestFailingDataTestIsReported(t *testing.T) {
	t.Parallel()
	fsys := fstest.MapFS{}
	err := fs.WalkDir(sqlfiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() {
			return err
		}
		b, err := fs.ReadFile(sqlfiles.FS, p)
		fsys[p] = &fstest.MapFile{Data: b}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	fsys["tests/assert_always_fails.sql"] = &fstest.MapFile{Data: []byte("select * from permission_usage where status = 'used'")}
	_, err = build(t, fsys)
	if !errors.Is(err, ErrDataTest) || !strings.Contains(err.Error(), "assert_always_fails") {
		t.Errorf("err = %v; want ErrDataTest naming the test", err)
	}
}

// TestBatchedModelEqualsWhole: models built batch by batch (batch_by: int_grants__resolved with
// the outer filter, permission_usage also pruning its inputs) hold exactly the rows of the same
// models built in one statement, however small the batches.
func TestBatchedModelEqualsWhole(t *testing.T) {
	t.Parallel()
	variant := func(edit func(string) string) fstest.MapFS {
		m := fstest.MapFS{}
		if err := fs.WalkDir(sqlfiles.FS, ".", func(p string, d fs.DirEntry, err error) error {
			if err != nil || d.IsDir() {
				return err
			}
			b, err := fs.ReadFile(sqlfiles.FS, p)
			if p == "intermediate/int_grants__resolved.yml" || p == "intermediate/int_permission_usage__rows.yml" {
				b = []byte(edit(string(b)))
			}
			m[p] = &fstest.MapFile{Data: b}
			return err
		}); err != nil {
			t.Fatal(err)
		}
		return m
	}
	one := variant(func(y string) string {
		return strings.Replace(y, "batch_by: account_id\n", "batch_by: account_id\nbatch_size: 1\n", 1)
	})
	whole := variant(func(y string) string {
		y = strings.Replace(y, "batch_by: account_id\n", "", 1)
		if i := strings.Index(y, "batch_keys:"); i >= 0 { // up to the next top-level key
			j := i + len("batch_keys:")
			for j < len(y) && !(y[j] == '\n' && j+1 < len(y) && y[j+1] != ' ') {
				j++
			}
			y = y[:i] + y[j+1:]
		}
		return y
	})
	if !strings.Contains(string(one["intermediate/int_grants__resolved.yml"].Data), "batch_size: 1") ||
		!strings.Contains(string(one["intermediate/int_permission_usage__rows.yml"].Data), "batch_size: 1") || strings.Contains(string(whole["intermediate/int_permission_usage__rows.yml"].Data), "batch") {
		t.Fatal("int_grants__resolved.yml or int_permission_usage__rows.yml has no batch_by: the test proves nothing")
	}
	// The fixture's entitlements copied into two more accounts: three accounts to batch.
	root := writeFixtureLake(t)
	for _, tab := range schemas.All {
		src := filepath.Join(root, tab.Name, "account_id="+acct)
		if _, err := os.Stat(src); err != nil || !tab.IsSnapshot() {
			continue
		}
		for _, other := range []string{acct2, "444455556666"} {
			if err := os.CopyFS(filepath.Join(root, tab.Name, "account_id="+other), os.DirFS(src)); err != nil {
				t.Fatal(err)
			}
		}
	}
	digests := map[string]string{}
	for name, fsys := range map[string]fs.FS{"batches of one account": one, "one statement": whole, "one batch of every key": sqlfiles.FS} {
		// The copies repeat the ARNs, which the uniqueness tests report: the models are built.
		db, err := buildLake(t, fsys, root)
		if err != nil && !errors.Is(err, ErrDataTest) {
			t.Fatalf("%s: %v", name, err)
		}
		digests[name] = strings.Join(rowsOf(t, db, `select count(distinct account_id) || ' ' || count(*) || ' ' || md5(string_agg(cast(g as varchar), '|' order by cast(g as varchar))) from int_grants__resolved as g`), "") +
			strings.Join(rowsOf(t, db, `select md5(string_agg(cast(p as varchar), '|' order by cast(p as varchar))) from permission_usage as p`), "")
	}
	if digests["batches of one account"] != digests["one statement"] || digests["one batch of every key"] != digests["one statement"] ||
		!strings.HasPrefix(digests["one statement"], "3 ") {
		t.Errorf("batched %q, one batch %q, whole %q (want 3 accounts' grants)", digests["batches of one account"], digests["one batch of every key"], digests["one statement"])
	}
}

// TestProgressEvents: Options.Progress hears every model built, in order, numbered of the
// models to build, then every data test with its outcome.
func TestProgressEvents(t *testing.T) {
	t.Parallel()
	doc := func(col, tests string) []byte {
		return []byte("description: d\ngrain: one row\ncolumns:\n  - name: " + col + "\n    description: c\n" + tests)
	}
	fsys := fstest.MapFS{
		"staging/stg_a.sql":        {Data: []byte("select 1 as x union all select 2")},
		"staging/stg_a.yml":        {Data: doc("x", "    tests: [not_null]\n")},
		"intermediate/int_b.sql":   {Data: []byte("select x from stg_a")},
		"intermediate/int_b.yml":   {Data: doc("x", "")},
		"marts/mart_c.sql":         {Data: []byte("select x from int_b where x > 1")},
		"marts/mart_c.yml":         {Data: doc("x", "")},
		"tests/assert_no_rows.sql": {Data: []byte("select * from mart_c where x = 2")},
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []string
	progress := func(e Event) {
		got = append(got, fmt.Sprintf("%d %s %d/%d rows=%d", e.Kind, e.Name, e.Index, e.Total, e.Rows))
	}
	_, err = Build(context.Background(), db, Options{Lake: t.TempDir(), Now: now, FS: fsys, Progress: progress})
	if !errors.Is(err, ErrDataTest) {
		t.Errorf("err = %v, want the failing test", err)
	}
	want := []string{
		fmt.Sprintf("%d stg_a 1/3 rows=2", ModelDone),
		fmt.Sprintf("%d int_b 2/3 rows=2", ModelDone),
		fmt.Sprintf("%d mart_c 3/3 rows=1", ModelDone),
		fmt.Sprintf("%d stg_a.x.not_null 1/2 rows=0", TestPassed),
		fmt.Sprintf("%d assert_no_rows 2/2 rows=1", TestFailed),
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("events\n%s\nwant\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
}

// TestProgressModelFailed: a model whose query fails is reported as failed, numbered like the
// others, with the error; the build stops there.
func TestProgressModelFailed(t *testing.T) {
	t.Parallel()
	doc := []byte("description: d\ngrain: one row\ncolumns:\n  - name: x\n    description: c\n")
	fsys := fstest.MapFS{
		"staging/stg_a.sql":      {Data: []byte("select 1 as x")},
		"staging/stg_a.yml":      {Data: doc},
		"intermediate/int_b.sql": {Data: []byte("select no_such_column as x from stg_a")},
		"intermediate/int_b.yml": {Data: doc},
		"marts/mart_c.sql":       {Data: []byte("select x from int_b")},
		"marts/mart_c.yml":       {Data: doc},
	}
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	defer db.Close()
	var got []Event
	_, err = Build(context.Background(), db, Options{Lake: t.TempDir(), Now: now, FS: fsys, Progress: func(e Event) { got = append(got, e) }})
	if err == nil || !strings.Contains(err.Error(), "int_b") {
		t.Fatalf("err = %v, want int_b's failure", err)
	}
	if len(got) != 2 || got[0].Kind != ModelDone || got[1].Kind != ModelFailed || got[1].Name != "int_b" ||
		got[1].Index != 2 || got[1].Total != 3 || got[1].Err == nil || !strings.Contains(got[1].Err.Error(), "no_such_column") {
		t.Errorf("events %+v", got)
	}
}
