package report

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	_ "github.com/duckdb/duckdb-go/v2" // the embedded DuckDB engine

	"github.com/permlake/permlake/sql/runner"
)

// martDDL creates the marts the report reads, with the columns it reads and the types the models
// give them (TestRealMarts checks the queries against the real models).
var martDDL = []string{
	`create table permission_usage (cloud varchar, account_id varchar, principal_arn varchar,
		principal_type varchar, action varchar, status varchar, attempts bigint, granted_by varchar[])`,
	`create table evidence_windows (cloud varchar, account_id varchar, window_start timestamp, window_end timestamp,
		evidence_start timestamp, evidence_end timestamp)`,
	`create table creep_scores (cloud varchar, account_id varchar, principal_arn varchar,
		principal_type varchar, granted_count bigint, used_count bigint, unused_count bigint,
		unknown_count bigint, unused_high_risk_count bigint, score integer, band varchar)`,
	`create table account_creep_scores (cloud varchar, account_id varchar, identities bigint, score integer, band varchar)`,
	`create table inactive_identities (cloud varchar, account_id varchar, principal_arn varchar,
		principal_type varchar, credential varchar, identity_name varchar, created_at timestamp, last_activity_at timestamp,
		last_activity_source varchar, days_inactive bigint, window_days integer)`,
	`create table unused_high_risk (cloud varchar, account_id varchar, principal_arn varchar,
		action varchar, access_level varchar, high_risk_reason varchar, granted_by varchar[], attempts bigint)`,
	`create table unmapped_events (event_source varchar, event_name varchar, events bigint,
		first_seen_at timestamp, last_seen_at timestamp)`,
	`create table identity_priority (priority_rank integer, cloud varchar, account_id varchar, account_name varchar,
		principal_arn varchar, display_name varchar, principal_type varchar, score integer, band varchar,
		priority double, priority_reason varchar, evidence_days double, window_days integer)`,
	`create table remediation_actions (cloud varchar, account_id varchar, principal_arn varchar, step_number integer,
		step_kind varchar, target_label varchar, removes_unused bigint, removes_high_risk bigint, removes_unknown bigint,
		caveats varchar)`,
	`create table least_privilege_policies (cloud varchar, account_id varchar, principal_arn varchar,
		policy_number integer, action_count bigint, policy_document varchar)`,
	`create table service_usage (cloud varchar, account_id varchar, principal_arn varchar, service varchar,
		granted_actions bigint, used_actions bigint, unused_actions bigint, unknown_actions bigint,
		last_used_at timestamp, status varchar)`,
}

const (
	testAdmin = "arn:aws:iam::111111111111:role/admin"
	testAlice = "arn:aws:iam::111111111111:user/alice"
	testEvil  = "arn:aws:iam::022222222222:role/<b>evil&co"
	testHeidi = "5a1e0c2d-0000-4000-8000-00000000beef"
	testSub   = "8c2f4d1e-3a5b-4c7d-9e0f-1a2b3c4d5e6f"
)

// fixtureRows fill the marts: two AWS accounts (one with a leading zero) and an Azure
// subscription, four ranked identities and 15 more, usage with denied attempts, remediation
// steps, a least-privilege policy, inactive identities and unmapped events.
func fixtureRows() []string {
	return []string{
		`insert into permission_usage values
			('aws', '111111111111', '` + testAdmin + `', 'iam_role', 's3:GetObject', 'used', 0, ['AdministratorAccess']),
			('aws', '111111111111', '` + testAdmin + `', 'iam_role', 'iam:PassRole', 'unused', 0, ['p-a']),
			('aws', '111111111111', '` + testAdmin + `', 'iam_role', 'iam:CreateUser', 'unused', 0, ['p-a']),
			('aws', '111111111111', '` + testAdmin + `', 'iam_role', 's3:PutObject', 'unknown', 0, ['p-a']),
			('aws', '111111111111', '` + testAlice + `', 'iam_user', 's3:GetObject', 'used', 2, ['p-b']),
			('aws', '111111111111', '` + testAlice + `', 'iam_user', 'ec2:RunInstances', 'used_not_granted', 389, []),
			('aws', '022222222222', '` + testEvil + `', 'iam_role', 'ec2:DescribeInstances', 'used', 0, ['p-c']),
			('aws', '022222222222', '` + testEvil + `', 'iam_role', 'iam:AttachRolePolicy', 'unused', 7, ['p-c']),
			('azure', '` + testSub + `', '` + testHeidi + `', 'user', 'Microsoft.Compute/virtualMachines/write', 'unused', 0, ['Owner'])`,
		`insert into evidence_windows values
			('aws', '111111111111', '2026-08-24', '2026-11-22', '2026-11-08 00:00:00', '2026-11-21 23:00:00'),
			('aws', '022222222222', '2026-08-24', '2026-11-22', '2026-11-10 00:00:00', '2026-11-21 12:00:00'),
			('azure', '` + testSub + `', '2026-08-24', '2026-11-22', null, null)`,
		`insert into creep_scores values
			('aws', '111111111111', '` + testAdmin + `', 'iam_role', 4, 1, 2, 1, 2, 90, 'high'),
			('aws', '111111111111', '` + testAlice + `', 'iam_user', 2, 1, 1, 0, 1, 40, 'medium'),
			('aws', '022222222222', '` + testEvil + `', 'iam_role', 2, 2, 1, 0, 1, 70, 'high'),
			('azure', '` + testSub + `', '` + testHeidi + `', 'user', 1, 0, 1, 0, 1, 100, 'high')`,
		`insert into creep_scores select 'aws', '111111111111',
			printf('arn:aws:iam::111111111111:role/r%02d', i), 'iam_role', 1, 0, 1, 0, 0, i, 'low'
			from range(1, 16) as t(i)`,
		// Ranks 1-4 the named identities, 5-19 the roles r15..r01.
		`insert into identity_priority values
			(1, 'aws', '111111111111', 'prod', '` + testAdmin + `', 'admin', 'iam_role', 90, 'high', 301.2, '2 unused high-risk grants', 90, 90),
			(2, 'azure', '` + testSub + `', '` + testSub + `', '` + testHeidi + `', 'Heidi Break-Glass', 'user', 100, 'high', 150.6, 'Owner at the root', 90, 90),
			(3, 'aws', '022222222222', '022222222222', '` + testEvil + `', '<b>evil&co', 'iam_role', 70, 'high', 75.3, 'reaches 1 other account', 14, 90),
			(4, 'aws', '111111111111', 'prod', '` + testAlice + `', 'alice', 'iam_user', 40, 'medium', 10.0, '1 unused grant', 14, 90)`,
		`insert into identity_priority select 20 - i, 'aws', '111111111111', 'prod', printf('arn:aws:iam::111111111111:role/r%02d', i),
			printf('r%02d', i), 'iam_role', i, 'low', i / 10, 'little', 14, 90 from range(1, 16) as t(i)`,
		`insert into remediation_actions values
			('aws', '111111111111', '` + testAdmin + `', 1, 'detach_managed_policy', 'p-a', 2, 2, 1, '1 removed grants are not recorded by the trail (unknown): check them before applying'),
			('aws', '111111111111', '` + testAdmin + `', 2, 'replace_with_least_privilege', 'permlake least-privilege policies 1', 2, 2, 1, ''),
			('azure', '` + testSub + `', '` + testHeidi + `', 1, 'remove_role_assignment', 'Owner at / [x]', 1, 1, 0, ''),
			('aws', '111111111111', '` + testAlice + `', 1, 'deactivate_access_key', 'access key 1', 0, 0, 0, '')`,
		`insert into least_privilege_policies values
			('aws', '111111111111', '` + testAdmin + `', 1, 1, '{"Version":"2012-10-17","Statement":[{"Sid":"UseS3","Effect":"Allow","Action":["s3:GetObject"],"Resource":"*"}]}')`,
		`insert into service_usage values
			('aws', '111111111111', '` + testAdmin + `', 'iam', 2, 0, 2, 0, null, 'unused'),
			('aws', '111111111111', '` + testAdmin + `', 's3', 2, 1, 0, 1, '2026-11-20 10:00:00', 'used'),
			('aws', '022222222222', '` + testEvil + `', 'ec2', 1, 1, 0, 0, '2026-11-19 10:00:00', 'used')`,
		`insert into account_creep_scores values ('aws', '111111111111', 17, 20, 'low'), ('aws', '022222222222', 1, 70, 'high'),
			('azure', '` + testSub + `', 1, 100, 'high')`,
		`insert into inactive_identities values
			('aws', '111111111111', 'arn:aws:iam::111111111111:role/old', 'iam_role', 'identity', 'old', timestamp '2025-01-01', timestamp '2026-08-19 10:00:00', 'cloudtrail', 95, 90),
			('aws', '022222222222', 'arn:aws:iam::022222222222:user/ghost', 'iam_user', 'identity', 'ghost', null, null, null, null, 90),
			('aws', '111111111111', '` + testAlice + `', 'iam_user', 'identity', 'alice', timestamp '2025-10-18', null, null, 400, 90),
			('aws', '111111111111', '` + testAlice + `', 'iam_user', 'console_password', 'alice', timestamp '2025-10-18', timestamp '2026-07-25 08:00:00', 'credential_report', 120, 90)`,
		`insert into unused_high_risk values
			('aws', '111111111111', '` + testAdmin + `', 'iam:PassRole', 'Write', 'privilege escalation', ['p-a'], 0),
			('aws', '111111111111', '` + testAdmin + `', 'iam:CreateUser', 'Permissions management', 'permissions management', ['p-a'], 0),
			('aws', '111111111111', '` + testAlice + `', 'iam:PassRole', 'Write', 'privilege escalation', ['p-d', 'p-c', 'p-b', 'p-a'], 2),
			('aws', '022222222222', '` + testEvil + `', 'iam:AttachRolePolicy', 'Permissions management', 'permissions management', ['p-c'], 0)`,
		`insert into unmapped_events values
			('<x>.amazonaws.com', 'Weird', 3, timestamp '2026-11-01 10:00:00', timestamp '2026-11-02 11:30:00'),
			('example.amazonaws.com', 'DoThing', 1234, timestamp '2026-10-01 00:00:00', timestamp '2026-11-21 23:59:00')`,
	}
}

// testDB opens an in-memory DuckDB with the marts and runs the fixture statements.
func testDB(t *testing.T, fixture []string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	t.Cleanup(func() { db.Close() })
	for _, q := range append(append([]string{}, martDDL...), fixture...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

func render(t *testing.T, db *sql.DB) string {
	t.Helper()
	var out bytes.Buffer
	if err := Write(context.Background(), db, &out, time.Date(2026, 11, 22, 7, 5, 0, 0, time.FixedZone("CET", 3600))); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("PERMLAKE_REPORT_OUT"); dir != "" { // to look at the page: PERMLAKE_REPORT_OUT=/tmp
		if err := os.WriteFile(dir+"/"+t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]+".html", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}

// section returns the page from the heading containing title to the next heading.
func section(t *testing.T, page, title string) string {
	t.Helper()
	i := strings.Index(page, title+"</h2>")
	if i < 0 {
		t.Fatalf("page has no section %q", title)
	}
	s := page[i:]
	if j := strings.Index(s, "<h2"); j >= 0 {
		s = s[:j]
	}
	return s
}

// cards reads the headline cards as label -> value.
func cards(page string) map[string]string {
	out := map[string]string{}
	for _, m := range regexp.MustCompile(`<div class="card"><b>([^<]*)</b>([^<]*)`).FindAllStringSubmatch(page, -1) {
		out[m[2]] = m[1]
	}
	return out
}

// inOrder fails unless every want appears in s, in that order.
func inOrder(t *testing.T, what, s string, want ...string) {
	t.Helper()
	at := 0
	for _, w := range want {
		i := strings.Index(s[at:], w)
		if i < 0 {
			t.Errorf("%s: %q missing or out of order (want order %q)", what, w, want)
			return
		}
		at += i + len(w)
	}
}

// checkSVG fails unless every inline SVG is well-formed XML.
func checkSVG(t *testing.T, page string) int {
	t.Helper()
	svgs := regexp.MustCompile(`(?s)<svg.*?</svg>`).FindAllString(page, -1)
	for _, s := range svgs {
		d := xml.NewDecoder(strings.NewReader(s))
		for {
			_, err := d.Token()
			if errors.Is(err, io.EOF) {
				break
			}
			if err != nil {
				t.Errorf("inline SVG is not well-formed: %v\n%s", err, s)
				break
			}
		}
	}
	return len(svgs)
}

// checkSelfContained fails if the page would fetch anything; its one script is inline.
func checkSelfContained(t *testing.T, page string) {
	t.Helper()
	if n := strings.Count(page, "<script"); n != 1 || !strings.Contains(page, "<script>\n") {
		t.Errorf("report has %d scripts, want the one inline table sorter", n)
	}
	for _, bad := range []string{"http:", "https:", "src=", "href=", "<link", "@import", "url(", "fetch(", "XMLHttpRequest"} {
		if strings.Contains(page, bad) {
			t.Errorf("report is not self-contained: it has %q", bad)
		}
	}
}

// rects reads the x and width of every rect of class in s.
func rects(t *testing.T, s, class string) [][2]float64 {
	t.Helper()
	var out [][2]float64
	for _, m := range regexp.MustCompile(`<rect class="`+class+`" x="([0-9.]+)" y="[0-9.]+" width="([0-9.]+)"`).FindAllStringSubmatch(s, -1) {
		x, _ := strconv.ParseFloat(m[1], 64)
		w, _ := strconv.ParseFloat(m[2], 64)
		out = append(out, [2]float64{x, w})
	}
	return out
}

func TestFixture(t *testing.T) {
	t.Parallel()
	page := render(t, testDB(t, fixtureRows()))
	checkSelfContained(t, page)
	if n := checkSVG(t, page); n != 3 {
		t.Errorf("page has %d charts, want 3", n)
	}

	t.Run("header and evidence", func(t *testing.T) {
		for _, want := range []string{
			"Window: 2026-08-24 00:00 to 2026-11-22 00:00 UTC (90.0 days)",
			"generated 2026-11-22T06:05:00Z", // printed in UTC whatever the caller's zone
			"Evidence: the trails recorded events from 2026-11-08 00:00 to 2026-11-21 23:00 UTC (14.0 days)",
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("headline", func(t *testing.T) {
		got := cards(page)
		for label, want := range map[string]string{
			"AWS accounts": "2", "Azure subscriptions": "1", "identities ranked": "19", "permissions granted": "8",
			"used": "3", "unused": "4", "unknown": "1", "used, not granted": "1", "unused high-risk": "4",
			"denied attempts": "398", "inactive identities": "3", "unused credentials": "1",
		} {
			if got[label] != want {
				t.Errorf("card %q = %q, want %q", label, got[label], want)
			}
		}
	})

	t.Run("fix these first", func(t *testing.T) {
		s := section(t, page, "Fix these first")
		if n := strings.Count(s, `<div class="fix">`); n != 10 {
			t.Errorf("%d identities listed, want the top 10", n)
		}
		if !strings.Contains(s, "9 more identities ranked in identity_priority.") {
			t.Error("section does not say 9 identities were left out")
		}
		inOrder(t, "fix rows", s,
			`1. admin`, `prod (111111111111)`, `priority 301.2`, `creep score 90 high`,
			`Why: 2 unused high-risk grants. Evidence: 90.0 of 90 days of evidence.`,
			`detach managed policy`, `p-a`, `2 unused (2 high-risk), 1 unknown`, `not recorded by the trail`,
			`replace with least privilege`,
			`Least-privilege policy 1 (1 actions), to copy</summary><pre>{`, "\n  &#34;Version&#34;: &#34;2012-10-17&#34;,",
			`2. Heidi Break-Glass`, `remove role assignment`,
			`3. &lt;b&gt;evil&amp;co`, `No remediation step.`,
			`4. alice`, `deactivate access key`, `a long-term credential`)
	})

	t.Run("priority chart", func(t *testing.T) {
		s := section(t, page, "Priority of the top identities")
		if n := strings.Count(s, `<g class="row">`); n != 15 {
			t.Errorf("%d bars, want the top 15", n)
		}
		if !strings.Contains(s, "4 more not shown.") {
			t.Error("chart does not say 4 identities were left out")
		}
		inOrder(t, "priority bars", s, `>1. admin · prod<`, `>2. Heidi Break-Glass · 8c2f4d1e`, `>3. &lt;b&gt;evil&amp;co · 022222222222<`)
		bars := rects(t, s, "priority")
		if len(bars) != 15 || bars[0][1] != 480 || bars[1][1] != 240 || bars[14][1] != minSegment {
			t.Errorf("bars %v: want the first 480 wide, the second half of it, the last at the minimum", bars)
		}
		for _, want := range []string{`class="badge high" x="340.0"`, `>score 90<`, `class="badge medium"`, `>301.2<`} {
			if !strings.Contains(s, want) {
				t.Errorf("priority chart lacks %q", want)
			}
		}
	})

	t.Run("shares per account", func(t *testing.T) {
		s := section(t, page, "Granted permissions per account: shares used, unused, unknown")
		inOrder(t, "account bars", s,
			`>022222222222<`, `class="badge high"`, `>score 70<`, `>11.5 days of evidence<`,
			`>prod · 111111111111<`, `class="badge low"`, `>score 20<`, `>14.0 days of evidence<`,
			`>8c2f4d1e-3a5b-4c7d-9e0f-1a2b3c4d5e6f<`, `>no trail evidence<`)
		for _, row := range regexp.MustCompile(`(?s)<g class="row">.*?</g>`).FindAllString(s, -1) {
			var sum float64
			for _, class := range []string{"used", "unused", "unknown", "ung"} {
				for _, r := range rects(t, row, class) {
					sum += r[1]
				}
			}
			if sum < 379.9 || sum > 380.1 {
				t.Errorf("an account's shares add up to %.1f units, want the whole bar (380): %s", sum, row)
			}
		}
		if !strings.Contains(s, "2 used, 2 unused, 1 unknown, 1 used, not granted") {
			t.Error("the tooltip lacks the counts")
		}
	})

	t.Run("bands", func(t *testing.T) {
		s := section(t, page, "Identities per creep band")
		inOrder(t, "band bars", s,
			`>high (67-100)<`, `<rect class="high"`, `>3 (16%)<`,
			`>medium (34-66)<`, `<rect class="medium"`, `>1 (5.3%)<`,
			`>low (0-33)<`, `<rect class="low" x="140.0" y="56.0" width="560.0"`, `>15 (79%)<`)
	})

	t.Run("services", func(t *testing.T) {
		s := section(t, page, "Service usage of the identities to fix first")
		inOrder(t, "service rows", s,
			`<td>admin</td><td>prod</td><td>s3</td><td class="num">2</td><td class="num">1</td>`, `2026-11-20`,
			`<td>admin</td><td>prod</td><td>iam</td>`, `not in the evidence`,
			`<td>&lt;b&gt;evil&amp;co</td><td>022222222222</td><td>ec2</td>`)
	})

	t.Run("denied attempts", func(t *testing.T) {
		s := section(t, page, "Denied attempts")
		inOrder(t, "denied rows", s,
			`>alice</td><td>prod</td><td>ec2:RunInstances</td><td class="num">389</td><td>not granted</td>`,
			`<td>iam:AttachRolePolicy</td><td class="num">7</td><td>granted, never succeeded</td>`,
			`<td>s3:GetObject</td><td class="num">2</td><td>granted, also succeeded</td>`)
	})

	t.Run("inactive identities", func(t *testing.T) {
		s := section(t, page, "Inactive identities")
		inOrder(t, "inactive rows", s,
			`>alice</td><td>iam_user</td><td>identity</td><td class="nw">2025-10-18</td><td class="nw">never seen</td><td></td><td class="num">400</td>`,
			`>alice</td><td>iam_user</td><td>console_password</td><td class="nw">2025-10-18</td><td class="nw">2026-07-25</td><td>credential_report</td><td class="num">120</td>`,
			`>old</td><td>iam_role</td><td>identity</td><td class="nw">2025-01-01</td><td class="nw">2026-08-19</td><td>cloudtrail</td><td class="num">95</td>`,
			`>ghost</td><td>iam_user</td><td>identity</td><td class="nw">unknown</td><td class="nw">never seen</td><td></td><td class="num">unknown</td>`)
	})

	t.Run("unused high-risk", func(t *testing.T) {
		s := section(t, page, "Top unused high-risk permissions")
		inOrder(t, "high-risk rows", s,
			`<td>iam:PassRole</td><td>Write</td><td>privilege escalation</td><td class="num">2</td><td class="num">1</td><td class="num">2</td><td>p-a, p-b, p-c and 1 more</td>`,
			`<td>iam:AttachRolePolicy</td>`, `<td>iam:CreateUser</td>`)
	})

	t.Run("unmapped events", func(t *testing.T) {
		s := section(t, page, "Unmapped CloudTrail events")
		inOrder(t, "unmapped rows", s,
			`<td>example.amazonaws.com</td><td>DoThing</td><td class="num">1,234</td><td class="nw">2026-10-01 00:00</td><td class="nw">2026-11-21 23:59</td>`,
			`<td>&lt;x&gt;.amazonaws.com</td><td>Weird</td><td class="num">3</td>`)
	})

	t.Run("escaping", func(t *testing.T) {
		if strings.Contains(page, "<b>evil") || strings.Contains(page, "<x>") {
			t.Error("a value from the marts reached the page unescaped")
		}
		if n := strings.Count(page, "role/&lt;b&gt;evil&amp;co"); n < 2 {
			t.Errorf("escaped ARN appears %d times, want at least 2", n)
		}
	})
}

// noData is how many sections say "No data." over empty marts: fix first, three charts, services,
// denied attempts, inactive identities, high-risk permissions, unmapped events.
const noData = 9

func TestEmptyMarts(t *testing.T) {
	t.Parallel()
	page := render(t, testDB(t, nil))
	checkSelfContained(t, page)
	if n := strings.Count(page, `<p class="empty">No data.</p>`); n != noData {
		t.Errorf(`%d sections say "No data.", want all %d`, n, noData)
	}
	if strings.Contains(page, "<svg") || strings.Contains(page, "more not shown") {
		t.Error("empty marts drew a chart or a truncation note")
	}
	if !strings.Contains(page, "Window: no data") || !strings.Contains(page, "Evidence: no trail recorded any event in the window") {
		t.Error("empty marts: no window nor evidence should be printed")
	}
	got := cards(page)
	if len(got) != 12 {
		t.Errorf("%d headline cards, want 12", len(got))
	}
	for label, v := range got {
		if v != "0" {
			t.Errorf("card %q = %q on empty marts, want 0", label, v)
		}
	}
}

// TestErrors: a missing mart or a canceled context is an error, never a half page.
func TestErrors(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	type tc struct {
		name    string
		ctx     context.Context
		drop    string
		want    string // in the message
		wantErr error  // in the chain, when set
	}
	tests := []tc{{"canceled", canceled, "", "", context.Canceled}}
	for _, m := range Marts {
		tests = append(tests, tc{m + " missing", context.Background(), m, "the warehouse has no " + m, nil})
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fixture []string
			if tc.drop != "" {
				fixture = []string{"drop table " + tc.drop}
			}
			db := testDB(t, fixture)
			var out bytes.Buffer
			err := Write(tc.ctx, db, &out, time.Unix(0, 0))
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("err = %v, want one naming %q", err, tc.want)
			}
			if tc.wantErr != nil && !errors.Is(err, tc.wantErr) {
				t.Errorf("err = %v, want it to wrap %v", err, tc.wantErr)
			}
			if out.Len() != 0 {
				t.Errorf("wrote %d bytes despite the error", out.Len())
			}
		})
	}
}

// TestRealMarts runs the report's queries on the marts the SQL models build (over an empty lake),
// so a renamed or retyped mart column fails here and not in a user's run.
func TestRealMarts(t *testing.T) {
	t.Parallel()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1)
	t.Cleanup(func() { db.Close() })
	seed := runner.Seed{
		Columns: []string{"service", "action_name", "action", "access_level"},
		Types:   []string{"VARCHAR", "VARCHAR", "VARCHAR", "VARCHAR"},
		Rows:    [][]any{{"iam", "PassRole", "iam:PassRole", "Write"}, {"s3", "GetObject", "s3:GetObject", "Read"}},
	}
	if _, err := runner.Build(context.Background(), db, runner.Options{Lake: t.TempDir(),
		Now: time.Date(2026, 11, 22, 0, 0, 0, 0, time.UTC), Seeds: map[string]runner.Seed{"aws_iam_actions": seed}}); err != nil {
		t.Fatal(err)
	}
	page := render(t, db)
	if n := strings.Count(page, "No data."); n != noData {
		t.Errorf(`%d sections say "No data." over empty models, want %d`, n, noData)
	}
}

func TestHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, got, want string
	}{
		{"num zero", num(0), "0"},
		{"num hundreds", num(999), "999"},
		{"num thousands", num(456996), "456,996"},
		{"num millions", num(1234567), "1,234,567"},
		{"num negative", num(-1234), "-1,234"},
		{"cut keeps short", cut("abc", 3), "abc"},
		{"cut marks", cut("ééééé", 3), "éé…"},
		{"list short", list([]any{"a", "b"}, 3), "a, b"},
		{"list long", list([]any{"a", "b", "c", "d", "e"}, 3), "a, b, c and 2 more"},
		{"list empty", list(nil, 3), ""},
		{"band known", bandClass("medium"), "medium"},
		{"band unexpected", bandClass(`x" onclick="y`), "other"},
		{"percent none", percent(0, 10), "0%"},
		{"percent large", percent(98765, 100000), "99%"},
		{"percent middle", percent(15, 1000), "1.5%"},
		{"percent small", percent(15, 100000), "0.015%"},
		{"percent of nothing", percent(0, 0), "0%"},
		{"days", days(36 * time.Hour), "1.5"},
		{"json indented", indentJSON(`{"a":[1]}`), "{\n  \"a\": [\n    1\n  ]\n}"},
		{"not json kept", indentJSON(`{oops`), "{oops"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if got := cut(strings.Repeat("é", 50), chartLabelRunes); len([]rune(got)) != chartLabelRunes || !utf8.ValidString(got) {
		t.Errorf("cut label %q: %d runes, want %d, valid UTF-8", got, len([]rune(got)), chartLabelRunes)
	}
}
