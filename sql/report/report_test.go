package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/xml"
	"errors"
	"io"
	"os"
	"regexp"
	"strings"
	"testing"
	"time"
	"unicode/utf8"

	_ "github.com/duckdb/duckdb-go/v2" // the embedded DuckDB engine

	"github.com/permlake/permlake/sql/runner"
)

// reportMartDDL creates the marts the report reads, with the columns it reads and the types the
// models give them (reportTestRealMarts checks the queries against the real models).
var reportMartDDL = []string{
	`create table permission_usage (cloud varchar, account_id varchar, principal_arn varchar,
		principal_type varchar, action varchar, status varchar, granted_by varchar[],
		window_start timestamp, window_end timestamp)`,
	`create table creep_scores (cloud varchar, account_id varchar, principal_arn varchar,
		principal_type varchar, granted_count bigint, used_count bigint, unused_count bigint,
		unknown_count bigint, unused_high_risk_count bigint, score integer, band varchar)`,
	`create table account_creep_scores (cloud varchar, account_id varchar, identities bigint, score integer, band varchar)`,
	`create table inactive_identities (cloud varchar, account_id varchar, principal_arn varchar,
		principal_type varchar, credential varchar, created_at timestamp, last_activity_at timestamp,
		last_activity_source varchar, days_inactive bigint, window_days integer)`,
	`create table unused_high_risk (cloud varchar, account_id varchar, principal_arn varchar,
		action varchar, access_level varchar, high_risk_reason varchar, granted_by varchar[], attempts bigint)`,
	`create table unmapped_events (event_source varchar, event_name varchar, events bigint,
		first_seen_at timestamp, last_seen_at timestamp)`,
}

const (
	reportTestAdmin = "arn:aws:iam::111111111111:role/admin"
	reportTestAlice = "arn:aws:iam::111111111111:user/alice"
	reportTestEvil  = "arn:aws:iam::022222222222:role/<b>evil&co"
)

// reportFixtureRows fill the marts: two accounts (one with a leading zero), three principals with
// usage, 15 more scored roles, four inactive rows and two unmapped events.
func reportFixtureRows() []string {
	const w = `timestamp '2026-08-24 00:00:00', timestamp '2026-11-22 00:00:00'`
	q := []string{
		`insert into permission_usage values
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam_role', 's3:GetObject', 'used', ['AdministratorAccess'], ` + w + `),
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam_role', 'iam:PassRole', 'unused', ['p-a'], ` + w + `),
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam_role', 'iam:CreateUser', 'unused', ['p-a'], ` + w + `),
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam_role', 's3:PutObject', 'unknown', ['p-a'], ` + w + `),
			('aws', '111111111111', '` + reportTestAlice + `', 'iam_user', 's3:GetObject', 'used', ['p-b'], ` + w + `),
			('aws', '111111111111', '` + reportTestAlice + `', 'iam_user', 'iam:PassRole', 'unused', ['p-b'], ` + w + `),
			('aws', '022222222222', '` + reportTestEvil + `', 'iam_role', 'ec2:DescribeInstances', 'used', ['p-c'], ` + w + `),
			('aws', '022222222222', '` + reportTestEvil + `', 'iam_role', 'iam:AttachRolePolicy', 'unused', ['p-c'], ` + w + `),
			('aws', '022222222222', '` + reportTestEvil + `', 'iam_role', 'sts:GetCallerIdentity', 'used_not_granted', [], ` + w + `)`,
		`insert into creep_scores values
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam_role', 4, 1, 2, 1, 2, 90, 'high'),
			('aws', '111111111111', '` + reportTestAlice + `', 'iam_user', 2, 1, 1, 0, 1, 40, 'medium'),
			('aws', '022222222222', '` + reportTestEvil + `', 'iam_role', 2, 2, 1, 0, 1, 70, 'high')`,
		// r01..r15 score 1..15: the chart shows r15..r04 after the three above and leaves 3 out.
		`insert into creep_scores select 'aws', '111111111111',
			printf('arn:aws:iam::111111111111:role/r%02d', i), 'iam_role', 1, 0, 1, 0, 0, i, 'low'
			from range(1, 16) as t(i)`,
		`insert into account_creep_scores values ('aws', '111111111111', 17, 20, 'low'), ('aws', '022222222222', 1, 70, 'high')`,
		`insert into inactive_identities values
			('aws', '111111111111', 'arn:aws:iam::111111111111:role/old', 'iam_role', 'identity', timestamp '2025-01-01', timestamp '2026-08-19 10:00:00', 'cloudtrail', 95, 90),
			('aws', '022222222222', 'arn:aws:iam::022222222222:user/ghost', 'iam_user', 'identity', null, null, null, null, 90),
			('aws', '111111111111', '` + reportTestAlice + `', 'iam_user', 'identity', timestamp '2025-10-18', null, null, 400, 90),
			('aws', '111111111111', '` + reportTestAlice + `', 'iam_user', 'console_password', timestamp '2025-10-18', timestamp '2026-07-25 08:00:00', 'credential_report', 120, 90)`,
		`insert into unused_high_risk values
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam:PassRole', 'Write', 'privilege escalation', ['p-a'], 0),
			('aws', '111111111111', '` + reportTestAdmin + `', 'iam:CreateUser', 'Permissions management', 'permissions management', ['p-a'], 0),
			('aws', '111111111111', '` + reportTestAlice + `', 'iam:PassRole', 'Write', 'privilege escalation', ['p-d', 'p-c', 'p-b', 'p-a'], 2),
			('aws', '022222222222', '` + reportTestEvil + `', 'iam:AttachRolePolicy', 'Permissions management', 'permissions management', ['p-c'], 0)`,
		`insert into unmapped_events values
			('<x>.amazonaws.com', 'Weird', 3, timestamp '2026-11-01 10:00:00', timestamp '2026-11-02 11:30:00'),
			('example.amazonaws.com', 'DoThing', 1234, timestamp '2026-10-01 00:00:00', timestamp '2026-11-21 23:59:00')`,
	}
	return q
}

// reportTestDB opens an in-memory DuckDB with the marts and runs the fixture statements.
func reportTestDB(t *testing.T, fixture []string) *sql.DB {
	t.Helper()
	db, err := sql.Open("duckdb", "")
	if err != nil {
		t.Fatal(err)
	}
	db.SetMaxOpenConns(1) // one connection: one in-memory database
	t.Cleanup(func() { db.Close() })
	for _, q := range append(append([]string{}, reportMartDDL...), fixture...) {
		if _, err := db.Exec(q); err != nil {
			t.Fatalf("%s: %v", q, err)
		}
	}
	return db
}

func reportRender(t *testing.T, db *sql.DB) string {
	t.Helper()
	var out bytes.Buffer
	if err := writeReport(context.Background(), db, &out, time.Date(2026, 11, 22, 7, 5, 0, 0, time.FixedZone("CET", 3600))); err != nil {
		t.Fatal(err)
	}
	if dir := os.Getenv("PERMLAKE_REPORT_OUT"); dir != "" { // to look at the page: PERMLAKE_REPORT_OUT=/tmp
		if err := os.WriteFile(dir+"/"+t.Name()[strings.LastIndexByte(t.Name(), '/')+1:]+".html", out.Bytes(), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	return out.String()
}

// reportSection returns the page from the heading containing title to the next heading.
func reportSection(t *testing.T, page, title string) string {
	t.Helper()
	i := strings.Index(page, title+"</h2>")
	if i < 0 {
		t.Fatalf("page has no section %q", title)
	}
	s := page[i:]
	if j := strings.Index(s, "<h2>"); j >= 0 {
		s = s[:j]
	}
	return s
}

// reportCards reads the headline cards as label -> value.
func reportCards(page string) map[string]string {
	cards := map[string]string{}
	for _, m := range regexp.MustCompile(`<div class="card"><b>([^<]*)</b>([^<]*)`).FindAllStringSubmatch(page, -1) {
		cards[m[2]] = m[1]
	}
	return cards
}

// reportInOrder fails unless every want appears in s, in that order.
func reportInOrder(t *testing.T, what, s string, want ...string) {
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

// reportCheckSVG fails unless every inline SVG is well-formed XML.
func reportCheckSVG(t *testing.T, page string) int {
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

// reportCheckSelfContained fails if the page would fetch anything or run a script.
func reportCheckSelfContained(t *testing.T, page string) {
	t.Helper()
	for _, bad := range []string{"<script", "http:", "https:", "src=", "href=", "<link", "@import", "url("} {
		if strings.Contains(page, bad) {
			t.Errorf("report is not self-contained: it has %q", bad)
		}
	}
}

func TestReportFixture(t *testing.T) {
	t.Parallel()
	page := reportRender(t, reportTestDB(t, reportFixtureRows()))
	reportCheckSelfContained(t, page)
	if n := reportCheckSVG(t, page); n != 3 {
		t.Errorf("page has %d charts, want 3", n)
	}

	t.Run("header", func(t *testing.T) {
		for _, want := range []string{
			"Window: 2026-08-24 00:00 to 2026-11-22 00:00 UTC (90 days)",
			"generated 2026-11-22T06:05:00Z", // printed in UTC whatever the caller's zone
		} {
			if !strings.Contains(page, want) {
				t.Errorf("page lacks %q", want)
			}
		}
	})

	t.Run("headline", func(t *testing.T) {
		got := reportCards(page)
		for label, want := range map[string]string{
			"accounts": "2", "principals": "20", "permissions granted": "8", "used": "3", "unused": "4",
			"unknown": "1", "used, not granted": "1", "unused high-risk": "4", "inactive identities": "3",
			"unused credentials": "1",
		} {
			if got[label] != want {
				t.Errorf("card %q = %q, want %q", label, got[label], want)
			}
		}
	})

	t.Run("creep scores", func(t *testing.T) {
		s := reportSection(t, page, "Top permission creep scores")
		if n := strings.Count(s, `<g class="row">`); n != 15 {
			t.Errorf("%d bars, want the top 15", n)
		}
		if !strings.Contains(s, "3 more not shown.") {
			t.Error("chart does not say 3 scores were left out")
		}
		reportInOrder(t, "score bars", s,
			`>111111111111 role/admin<`, `>022222222222 role/&lt;b&gt;evil&amp;co<`, `>111111111111 user/alice<`,
			`>111111111111 role/r15<`, `>111111111111 role/r04<`)
		if strings.Contains(s, "role/r03") {
			t.Error("chart draws a 16th score")
		}
		// Width is score/100 of 500 units, colour by band.
		for _, want := range []string{
			`<rect class="high" x="380.0" y="22.0" width="450.0"`,
			`<rect class="medium" x="380.0" y="74.0" width="200.0"`,
			`<rect class="low" x="380.0" y="100.0" width="75.0"`,
			`>90 high<`, `>70 high<`, `>40 medium<`, `>15 low<`,
			"score 90, high; granted 4, used 1, unused 2, unknown 1, unused high-risk 2",
		} {
			if !strings.Contains(s, want) {
				t.Errorf("score chart lacks %q", want)
			}
		}
	})

	t.Run("usage per account", func(t *testing.T) {
		s := reportSection(t, page, "Granted permissions per account: used, unused, unknown")
		// Both accounts on the scale of the larger one (6 rows = 420 units); the account ID
		// keeps its leading zero and sorts as text.
		reportInOrder(t, "account bars", s,
			`>022222222222<`, `class="badge high"`, `>score 70<`,
			`<rect class="used" x="215.0" y="4.0" width="70.0"`,
			`<rect class="unused" x="285.0" y="4.0" width="70.0"`,
			`<rect class="ung" x="355.0" y="4.0" width="70.0"`,
			`>1 used · 1 unused · 1 used, not granted<`,
			`>111111111111<`, `class="badge low"`, `>score 20<`,
			`<rect class="used" x="215.0" y="30.0" width="140.0"`,
			`<rect class="unused" x="355.0" y="30.0" width="210.0"`,
			`<rect class="unknown" x="565.0" y="30.0" width="70.0"`,
			`>2 used · 3 unused · 1 unknown<`)
		if n := strings.Count(s, "<rect "); n != 6 {
			t.Errorf("%d segments, want 6 (zero counts draw nothing)", n)
		}
	})

	t.Run("bands", func(t *testing.T) {
		s := reportSection(t, page, "Identities per creep band")
		reportInOrder(t, "band bars", s,
			`>high (67-100)<`, `<rect class="high"`, `>2 (11%)<`,
			`>medium (34-66)<`, `<rect class="medium"`, `>1 (6%)<`,
			`>low (0-33)<`, `<rect class="low" x="140.0" y="56.0" width="560.0"`, `>15 (83%)<`)
	})

	t.Run("inactive identities", func(t *testing.T) {
		s := reportSection(t, page, "Inactive identities")
		reportInOrder(t, "inactive rows", s,
			`user/alice</td><td>iam_user</td><td>identity</td><td class="nw">2025-10-18</td><td class="nw">never seen</td><td></td><td class="num">400</td>`,
			`user/alice</td><td>iam_user</td><td>console_password</td><td class="nw">2025-10-18</td><td class="nw">2026-07-25</td><td>credential_report</td><td class="num">120</td>`,
			`role/old</td><td>iam_role</td><td>identity</td><td class="nw">2025-01-01</td><td class="nw">2026-08-19</td><td>cloudtrail</td><td class="num">95</td>`,
			`user/ghost</td><td>iam_user</td><td>identity</td><td class="nw">unknown</td><td class="nw">never seen</td><td></td><td class="num">unknown</td>`)
	})

	t.Run("unused high-risk", func(t *testing.T) {
		s := reportSection(t, page, "Top unused high-risk permissions")
		reportInOrder(t, "high-risk rows", s,
			`<td>iam:PassRole</td><td>Write</td><td>privilege escalation</td><td class="num">2</td><td class="num">1</td><td class="num">2</td><td>p-a, p-b, p-c and 1 more</td>`,
			`<td>iam:AttachRolePolicy</td>`, `<td>iam:CreateUser</td>`)
	})

	t.Run("unmapped events", func(t *testing.T) {
		s := reportSection(t, page, "Unmapped CloudTrail events")
		reportInOrder(t, "unmapped rows", s,
			`<td>example.amazonaws.com</td><td>DoThing</td><td class="num">1,234</td><td class="nw">2026-10-01 00:00</td><td class="nw">2026-11-21 23:59</td>`,
			`<td>&lt;x&gt;.amazonaws.com</td><td>Weird</td><td class="num">3</td>`)
	})

	t.Run("escaping", func(t *testing.T) {
		if strings.Contains(page, "<b>evil") || strings.Contains(page, "<x>") {
			t.Error("a value from the marts reached the page unescaped")
		}
		// In the score chart's tooltip and label.
		if n := strings.Count(page, "role/&lt;b&gt;evil&amp;co"); n < 2 {
			t.Errorf("escaped ARN appears %d times, want at least 2", n)
		}
	})
}

func TestReportEmptyMarts(t *testing.T) {
	t.Parallel()
	page := reportRender(t, reportTestDB(t, nil))
	reportCheckSelfContained(t, page)
	if n := strings.Count(page, `<p class="empty">No data.</p>`); n != 6 {
		t.Errorf(`%d sections say "No data.", want all 6`, n)
	}
	if strings.Contains(page, "<svg") || strings.Contains(page, "more not shown") {
		t.Error("empty marts drew a chart or a truncation note")
	}
	if !strings.Contains(page, "Window: no data") {
		t.Error("empty marts: no window should be printed")
	}
	cards := reportCards(page)
	if len(cards) != 10 {
		t.Errorf("%d headline cards, want 10", len(cards))
	}
	for label, v := range cards {
		if v != "0" {
			t.Errorf("card %q = %q on empty marts, want 0", label, v)
		}
	}
}

// TestReportErrors: a missing mart or a canceled context is an error, never a half page.
func TestReportErrors(t *testing.T) {
	t.Parallel()
	canceled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name    string
		ctx     context.Context
		drop    string
		want    string // in the message
		wantErr error  // in the chain, when set
	}{
		{"permission_usage missing", context.Background(), "permission_usage", "permission_usage", nil},
		{"creep_scores missing", context.Background(), "creep_scores", "creep_scores", nil},
		{"account_creep_scores missing", context.Background(), "account_creep_scores", "account_creep_scores", nil},
		{"inactive_identities missing", context.Background(), "inactive_identities", "inactive_identities", nil},
		{"unused_high_risk missing", context.Background(), "unused_high_risk", "unused_high_risk", nil},
		{"unmapped_events missing", context.Background(), "unmapped_events", "unmapped_events", nil},
		{"canceled", canceled, "", "headline", context.Canceled},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			t.Parallel()
			var fixture []string
			if tc.drop != "" {
				fixture = []string{"drop table " + tc.drop}
			}
			db := reportTestDB(t, fixture)
			var out bytes.Buffer
			err := writeReport(tc.ctx, db, &out, time.Unix(0, 0))
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

// TestReportRealMarts runs the report's queries on the marts the SQL models build (over an empty
// lake), so a renamed or retyped mart column fails here and not in a user's run.
func TestReportRealMarts(t *testing.T) {
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
	page := reportRender(t, db)
	if n := strings.Count(page, "No data."); n != 6 {
		t.Errorf(`%d sections say "No data." over empty models, want 6`, n)
	}
}

func TestReportHelpers(t *testing.T) {
	t.Parallel()
	tests := []struct {
		name, got, want string
	}{
		{"num zero", reportNum(0), "0"},
		{"num hundreds", reportNum(999), "999"},
		{"num thousands", reportNum(456996), "456,996"},
		{"num millions", reportNum(1234567), "1,234,567"},
		{"num negative", reportNum(-1234), "-1,234"},
		{"arn role with path", reportShortARN("arn:aws:iam::012345678901:role/aws-reserved/sso.amazonaws.com/AWSReservedSSO_Admin"),
			"012345678901 role/AWSReservedSSO_Admin"},
		{"arn user", reportShortARN("arn:aws:iam::111111111111:user/alice"), "111111111111 user/alice"},
		{"arn root", reportShortARN("arn:aws:iam::111111111111:root"), "111111111111 root"},
		{"cut keeps short", reportCut("abc", 3), "abc"},
		{"cut marks", reportCut("ééééé", 3), "éé…"},
		{"not an arn", reportShortARN("bob"), "bob"},
		{"list short", reportList([]any{"a", "b"}, 3), "a, b"},
		{"list long", reportList([]any{"a", "b", "c", "d", "e"}, 3), "a, b, c and 2 more"},
		{"list empty", reportList(nil, 3), ""},
		{"band known", reportBandClass("medium"), "medium"},
		{"band unexpected", reportBandClass(`x" onclick="y`), "other"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			if tc.got != tc.want {
				t.Errorf("got %q, want %q", tc.got, tc.want)
			}
		})
	}
	if got := reportShortARN("arn:aws:iam::111111111111:role/" + strings.Repeat("é", 50)); len([]rune(got)) != 13+reportLabelRunes {
		t.Errorf("cut label has %d runes, want %d", len([]rune(got)), 13+reportLabelRunes)
	}
	if got := reportShortARN("arn:aws:iam::111111111111:role/" + strings.Repeat("é", 50)); !utf8.ValidString(got) {
		t.Errorf("cut label %q is not valid UTF-8", got)
	}
}
