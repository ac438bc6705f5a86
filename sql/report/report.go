package main

// The HTML report: one self-contained page over the marts of a built warehouse. It has no script,
// font, stylesheet or image to fetch (charts are inline SVG laid out here in Go), so it can be
// mailed, attached to a ticket or opened offline. Every value goes through html/template.

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strconv"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"reportF": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
}).Parse(reportTemplateText))

// Limits on what the page lists; a note says how much was left out.
const (
	reportTopScores     = 15
	reportMaxAccounts   = 60
	reportMaxInactive   = 100
	reportMaxRisky      = 25
	reportMaxUnmapped   = 50
	reportMaxGrantedBy  = 3
	reportLabelRunes    = 40
	reportChartWidth    = 1000.0
	reportRowHeight     = 26.0
	reportBarHeight     = 18.0
	reportAxisHeight    = 22.0
	reportMinSegment    = 2.0 // a non-zero segment stays visible however small its share
	reportTimeLayout    = "2006-01-02 15:04"
	reportDateLayout    = "2006-01-02"
	reportStatusUsed    = "used"
	reportStatusUnused  = "unused"
	reportStatusUnknown = "unknown"
	reportStatusUNG     = "used_not_granted"
)

// reportPage is everything the template prints.
type reportPage struct {
	GeneratedAt string
	Window      string // "" when permission_usage is empty
	Catalog     string // the IAM action catalog's version (build_info); "" for an older warehouse
	Cards       []reportCard
	Scores      reportChart
	Accounts    reportChart
	Bands       reportChart
	Inactive    reportTable[reportInactiveRow]
	Risky       reportTable[reportRiskyRow]
	Unmapped    reportTable[reportUnmappedRow]
}

// reportCard is one headline number.
type reportCard struct {
	Value, Label, Hint string
}

// reportChart is a horizontal bar chart laid out in SVG user units (a viewBox reportChartWidth wide).
type reportChart struct {
	Height float64
	BarX   float64 // where bars start; labels sit left of it
	BadgeX float64 // where a row's badge starts (0: no badge column)
	Grid   []reportGridLine
	Rows   []reportChartRow
	More   int64 // rows not drawn
}

// reportGridLine is a dashed vertical line with a caption above the bars.
type reportGridLine struct {
	X     float64
	Label string
}

// reportChartRow is one bar (or one stack of segments) with its label.
type reportChartRow struct {
	Y          float64 // top of the bar
	Label      string
	Title      string // tooltip: the full name and the numbers
	Badge      string
	BadgeClass string
	Segments   []reportSegment
	Note       string
	NoteX      float64
}

// reportSegment is one rectangle of a bar.
type reportSegment struct {
	X, Width float64
	Class    string
	Title    string
}

// reportTable is a listed section: the rows shown and how many were left out.
type reportTable[T any] struct {
	Rows []T
	More int64
}

type reportInactiveRow struct {
	Account, ARN, Type, Credential, Created, LastActivity, Source, Days string
}

type reportRiskyRow struct {
	Action, AccessLevel, Reason, GrantedBy string
	Principals, Accounts, Attempts         string
}

type reportUnmappedRow struct {
	Source, Name, Events, FirstSeen, LastSeen string
}

// writeReport renders a self-contained HTML page (no external scripts, fonts or CSS; charts as
// inline SVG generated in Go) from the marts in db (a DuckDB warehouse opened with database/sql,
// driver github.com/duckdb/duckdb-go/v2). generatedAt is printed in the page. It reads
// permission_usage, creep_scores, account_creep_scores, inactive_identities, unused_high_risk and
// unmapped_events, and fails if one is missing; empty marts give a page that says "No data".
func writeReport(ctx context.Context, db *sql.DB, w io.Writer, generatedAt time.Time) error {
	p := reportPage{GeneratedAt: generatedAt.UTC().Format(time.RFC3339)}
	for _, section := range []func(context.Context, *sql.DB, *reportPage) error{
		reportHeadline, reportScores, reportAccounts, reportBands, reportInactive, reportRisky, reportUnmapped, reportCatalog,
	} {
		if err := section(ctx, db, &p); err != nil {
			return err
		}
	}
	if err := reportTemplate.Execute(w, p); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// reportCatalog reads the IAM action catalog's version from build_info, which warehouses built
// before the catalog key lack (the page then leaves it out).
func reportCatalog(ctx context.Context, db *sql.DB, p *reportPage) error {
	var n int
	if err := db.QueryRowContext(ctx, `select count(*) from duckdb_columns()
		where table_name = 'build_info' and column_name = 'catalog_version'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	var v sql.NullString
	if err := db.QueryRowContext(ctx, "select any_value(catalog_version) from build_info").Scan(&v); err != nil {
		return fmt.Errorf("read build_info: %w", err)
	}
	p.Catalog = v.String
	return nil
}

// reportHeadline fills the window and the headline cards. Granted counts (principal, action) pairs
// whose status is used, unused or unknown; used_not_granted is used but in no policy we read.
func reportHeadline(ctx context.Context, db *sql.DB, p *reportPage) error {
	var (
		accounts, principals, granted, used, unused, unknown, ung int64
		inactive, staleCredentials, unusedHighRisk                int64
		start, end                                                sql.NullTime
	)
	err := db.QueryRowContext(ctx, `
		with accounts as (
			select account_id from permission_usage
			union select account_id from creep_scores
			union select account_id from inactive_identities
		),
		principals as (
			select principal_arn from permission_usage
			union select principal_arn from creep_scores
			union select principal_arn from inactive_identities
		),
		usage as (
			select
				count(*) filter (where status in (?, ?, ?)) as granted,
				count(*) filter (where status = ?) as used,
				count(*) filter (where status = ?) as unused,
				count(*) filter (where status = ?) as unknown,
				count(*) filter (where status = ?) as used_not_granted,
				min(window_start) as window_start,
				max(window_end) as window_end
			from permission_usage
		),
		inactive as (
			select
				count(distinct principal_arn) filter (where credential = 'identity') as identities,
				count(*) filter (where credential <> 'identity') as credentials
			from inactive_identities
		)
		select
			(select count(*) from accounts),
			(select count(*) from principals),
			u.granted, u.used, u.unused, u.unknown, u.used_not_granted,
			i.identities, i.credentials,
			(select count(*) from unused_high_risk),
			u.window_start, u.window_end
		from usage as u, inactive as i`,
		reportStatusUsed, reportStatusUnused, reportStatusUnknown,
		reportStatusUsed, reportStatusUnused, reportStatusUnknown, reportStatusUNG,
	).Scan(&accounts, &principals, &granted, &used, &unused, &unknown, &ung,
		&inactive, &staleCredentials, &unusedHighRisk, &start, &end)
	if err != nil {
		return fmt.Errorf("query headline numbers: %w", err)
	}
	if start.Valid && end.Valid {
		days := end.Time.Sub(start.Time).Hours() / 24
		p.Window = fmt.Sprintf("%s to %s UTC (%s days)", start.Time.UTC().Format(reportTimeLayout),
			end.Time.UTC().Format(reportTimeLayout), strconv.FormatFloat(days, 'f', -1, 64))
	}
	p.Cards = []reportCard{
		{reportNum(accounts), "accounts", ""},
		{reportNum(principals), "principals", "users, roles and root seen in any mart"},
		{reportNum(granted), "permissions granted", "(principal, action) pairs: used + unused + unknown"},
		{reportNum(used), "used", "granted and exercised successfully in the window"},
		{reportNum(unused), "unused", "granted, observable, never used in the window"},
		{reportNum(unknown), "unknown", "granted, but the trail cannot record it"},
		{reportNum(ung), "used, not granted", "used although no policy read grants it"},
		{reportNum(unusedHighRisk), "unused high-risk", "unused permissions management or privilege escalation"},
		{reportNum(inactive), "inactive identities", "users and roles with no activity in the window"},
		{reportNum(staleCredentials), "unused credentials", "console passwords and access keys not used in the window"},
	}
	return nil
}

// reportScores lays out the top creep scores, coloured by band, with the band limits as grid lines.
func reportScores(ctx context.Context, db *sql.DB, p *reportPage) error {
	const labelX, barW = 380.0, 500.0
	c := reportChart{BarX: labelX, Grid: []reportGridLine{
		{labelX + barW*33.5/100, "33 | 34"}, {labelX + barW*66.5/100, "66 | 67"}, {labelX + barW, "100"},
	}}
	err := reportQuery(ctx, db, `
		select principal_arn, principal_type, score, band, granted_count, used_count, unused_count,
			unknown_count, unused_high_risk_count, count(*) over ()
		from creep_scores
		order by score desc, unused_high_risk_count desc, unused_count desc, principal_arn
		limit ?`, []any{reportTopScores}, func(rows *sql.Rows) error {
		var (
			arn, typ, band                               string
			score, granted, used, unused, unknown, risky int64
			total                                        int64
		)
		if err := rows.Scan(&arn, &typ, &score, &band, &granted, &used, &unused, &unknown, &risky, &total); err != nil {
			return err
		}
		class := reportBandClass(band)
		y := reportAxisHeight + float64(len(c.Rows))*reportRowHeight
		w := barW * float64(min(max(score, 0), 100)) / 100
		c.Rows = append(c.Rows, reportChartRow{
			Y:     y,
			Label: reportShortARN(arn),
			Title: fmt.Sprintf("%s (%s): score %d, %s; granted %s, used %s, unused %s, unknown %s, unused high-risk %s",
				arn, typ, score, band, reportNum(granted), reportNum(used), reportNum(unused), reportNum(unknown), reportNum(risky)),
			Segments: []reportSegment{{X: labelX, Width: w, Class: class}},
			Note:     fmt.Sprintf("%d %s", score, band),
			NoteX:    labelX + w + 6,
		})
		c.More = total - int64(len(c.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query creep_scores: %w", err)
	}
	c.Height = reportAxisHeight + float64(len(c.Rows))*reportRowHeight
	p.Scores = c
	return nil
}

// reportAccounts stacks each account's used, unused, unknown and used-not-granted counts on one
// scale (the largest account fills the bar), with the account's creep score as a badge.
func reportAccounts(ctx context.Context, db *sql.DB, p *reportPage) error {
	const badgeX, barX, barW = 120.0, 215.0, 420.0
	type account struct {
		id, band string
		score    sql.NullInt64
		counts   [4]int64
	}
	var (
		accounts []account
		largest  int64
	)
	c := reportChart{BarX: barX, BadgeX: badgeX}
	err := reportQuery(ctx, db, `
		with usage as (
			select
				cloud,
				account_id,
				count(*) filter (where status = ?) as used,
				count(*) filter (where status = ?) as unused,
				count(*) filter (where status = ?) as unknown,
				count(*) filter (where status = ?) as used_not_granted
			from permission_usage
			group by cloud, account_id
		)
		select u.account_id, u.used, u.unused, u.unknown, u.used_not_granted, a.score, coalesce(a.band, ''),
			count(*) over ()
		from usage as u
		left join account_creep_scores as a on a.cloud = u.cloud and a.account_id = u.account_id
		order by u.account_id, u.cloud
		limit ?`, []any{reportStatusUsed, reportStatusUnused, reportStatusUnknown, reportStatusUNG, reportMaxAccounts},
		func(rows *sql.Rows) error {
			var a account
			var total int64
			if err := rows.Scan(&a.id, &a.counts[0], &a.counts[1], &a.counts[2], &a.counts[3], &a.score, &a.band, &total); err != nil {
				return err
			}
			largest = max(largest, a.counts[0]+a.counts[1]+a.counts[2]+a.counts[3])
			accounts = append(accounts, a)
			c.More = total - int64(len(accounts))
			return nil
		})
	if err != nil {
		return fmt.Errorf("query usage per account: %w", err)
	}
	names := [4]string{"used", "unused", "unknown", "used, not granted"}
	classes := [4]string{"used", "unused", "unknown", "ung"}
	for i, a := range accounts {
		r := reportChartRow{Y: 4 + float64(i)*reportRowHeight, Label: a.id}
		if a.score.Valid {
			r.Badge, r.BadgeClass = fmt.Sprintf("score %d", a.score.Int64), reportBandClass(a.band)
		}
		x := barX
		var title, note []string
		for j, n := range a.counts {
			title = append(title, fmt.Sprintf("%s %s", reportNum(n), names[j]))
			if n == 0 {
				continue
			}
			note = append(note, fmt.Sprintf("%s %s", reportNum(n), names[j]))
			w := max(barW*float64(n)/float64(largest), reportMinSegment)
			r.Segments = append(r.Segments, reportSegment{X: x, Width: w, Class: classes[j],
				Title: fmt.Sprintf("%s: %s %s", a.id, reportNum(n), names[j])})
			x += w
		}
		r.Title = a.id + ": " + strings.Join(title, ", ")
		r.Note, r.NoteX = strings.Join(note, " · "), x+6
		c.Rows = append(c.Rows, r)
	}
	c.Height = 8 + float64(len(c.Rows))*reportRowHeight
	p.Accounts = c
	return nil
}

// reportBands counts identities per creep band; every band gets a row, empty ones included.
func reportBands(ctx context.Context, db *sql.DB, p *reportPage) error {
	const labelX, barW = 140.0, 560.0
	type band struct {
		name, limits string
		n            int64
	}
	var (
		bands        []band
		total, large int64
	)
	err := reportQuery(ctx, db, `
		with bands(band, limits, position) as (
			values ('high', '67-100', 1), ('medium', '34-66', 2), ('low', '0-33', 3)
		)
		select b.band, b.limits, count(c.band)
		from bands as b
		left join creep_scores as c on c.band = b.band
		group by b.band, b.limits, b.position
		order by b.position`, nil, func(rows *sql.Rows) error {
		var b band
		if err := rows.Scan(&b.name, &b.limits, &b.n); err != nil {
			return err
		}
		total += b.n
		large = max(large, b.n)
		bands = append(bands, b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("query creep bands: %w", err)
	}
	if total == 0 {
		return nil // the template says "No data" for a chart without rows
	}
	c := reportChart{BarX: labelX}
	for i, b := range bands {
		w := barW * float64(b.n) / float64(large)
		if b.n > 0 {
			w = max(w, reportMinSegment)
		}
		pct := 100 * float64(b.n) / float64(total)
		c.Rows = append(c.Rows, reportChartRow{
			Y:        4 + float64(i)*reportRowHeight,
			Label:    fmt.Sprintf("%s (%s)", b.name, b.limits),
			Title:    fmt.Sprintf("%s: %s identities", b.name, reportNum(b.n)),
			Segments: []reportSegment{{X: labelX, Width: w, Class: reportBandClass(b.name)}},
			Note:     fmt.Sprintf("%s (%.0f%%)", reportNum(b.n), pct),
			NoteX:    labelX + w + 6,
		})
	}
	c.Height = 8 + float64(len(c.Rows))*reportRowHeight
	p.Bands = c
	return nil
}

// reportInactive lists inactive identities and credentials, longest inactive first; a NULL
// days_inactive (neither activity nor creation date known) sorts last.
func reportInactive(ctx context.Context, db *sql.DB, p *reportPage) error {
	err := reportQuery(ctx, db, `
		select account_id, principal_arn, principal_type, credential, created_at, last_activity_at,
			coalesce(last_activity_source, ''), days_inactive, count(*) over ()
		from inactive_identities
		order by days_inactive desc nulls last, principal_arn, credential
		limit ?`, []any{reportMaxInactive}, func(rows *sql.Rows) error {
		var (
			r             reportInactiveRow
			created, last sql.NullTime
			days          sql.NullInt64
			total         int64
		)
		if err := rows.Scan(&r.Account, &r.ARN, &r.Type, &r.Credential, &created, &last, &r.Source, &days, &total); err != nil {
			return err
		}
		r.Created, r.LastActivity, r.Days = reportDate(created, "unknown"), reportDate(last, "never seen"), "unknown"
		if days.Valid {
			r.Days = reportNum(days.Int64)
		}
		p.Inactive.Rows = append(p.Inactive.Rows, r)
		p.Inactive.More = total - int64(len(p.Inactive.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query inactive_identities: %w", err)
	}
	return nil
}

// reportRisky lists the unused high-risk actions held by the most principals: the first
// candidates for removal, with the policies that grant them.
func reportRisky(ctx context.Context, db *sql.DB, p *reportPage) error {
	err := reportQuery(ctx, db, `
		select
			action,
			coalesce(min(access_level), ''),
			coalesce(min(high_risk_reason), ''),
			count(distinct principal_arn) as principals,
			count(distinct account_id),
			sum(attempts),
			list_sort(list_distinct(flatten(list(granted_by)))),
			count(*) over ()
		from unused_high_risk
		group by action
		order by principals desc, action
		limit ?`, []any{reportMaxRisky}, func(rows *sql.Rows) error {
		var (
			r                                 reportRiskyRow
			principals, accounts, attempts, n int64
			grantedBy                         []any
		)
		if err := rows.Scan(&r.Action, &r.AccessLevel, &r.Reason, &principals, &accounts, &attempts, &grantedBy, &n); err != nil {
			return err
		}
		r.Principals, r.Accounts, r.Attempts = reportNum(principals), reportNum(accounts), reportNum(attempts)
		r.GrantedBy = reportList(grantedBy, reportMaxGrantedBy)
		p.Risky.Rows = append(p.Risky.Rows, r)
		p.Risky.More = n - int64(len(p.Risky.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query unused_high_risk: %w", err)
	}
	return nil
}

// reportUnmapped lists the CloudTrail events no IAM action was derived for, most frequent first.
func reportUnmapped(ctx context.Context, db *sql.DB, p *reportPage) error {
	err := reportQuery(ctx, db, `
		select event_source, event_name, events, first_seen_at, last_seen_at, count(*) over ()
		from unmapped_events
		order by events desc, event_source, event_name
		limit ?`, []any{reportMaxUnmapped}, func(rows *sql.Rows) error {
		var (
			r             reportUnmappedRow
			events, total int64
			first, last   sql.NullTime
		)
		if err := rows.Scan(&r.Source, &r.Name, &events, &first, &last, &total); err != nil {
			return err
		}
		r.Events = reportNum(events)
		r.FirstSeen, r.LastSeen = reportTime(first), reportTime(last)
		p.Unmapped.Rows = append(p.Unmapped.Rows, r)
		p.Unmapped.More = total - int64(len(p.Unmapped.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query unmapped_events: %w", err)
	}
	return nil
}

// reportQuery runs q with args and calls scan for each row.
func reportQuery(ctx context.Context, db *sql.DB, q string, args []any, scan func(*sql.Rows) error) (err error) {
	rows, err := db.QueryContext(ctx, q, args...)
	if err != nil {
		return err
	}
	defer func() {
		if cerr := rows.Close(); err == nil {
			err = cerr
		}
	}()
	for rows.Next() {
		if err := scan(rows); err != nil {
			return err
		}
	}
	return rows.Err()
}

// reportBandClass maps a band to its CSS class; anything unexpected gets a neutral colour rather
// than reaching the class attribute as is.
func reportBandClass(band string) string {
	switch band {
	case "low", "medium", "high":
		return band
	}
	return "other"
}

// reportShortARN keeps an ARN readable in a chart label: the account and the entity name, with
// the path dropped and long names cut (the tooltip has the full ARN).
func reportShortARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return reportCut(arn, reportLabelRunes+13)
	}
	res := parts[5]
	if i := strings.IndexByte(res, '/'); i >= 0 {
		res = res[:i] + "/" + res[strings.LastIndexByte(res, '/')+1:]
	}
	return strings.TrimSpace(parts[4] + " " + reportCut(res, reportLabelRunes))
}

// reportCut shortens s to n runes, marking the cut with an ellipsis.
func reportCut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// reportNum prints n with thousands separators (456,996).
func reportNum(n int64) string {
	s := strconv.FormatInt(n, 10)
	neg := strings.HasPrefix(s, "-")
	s = strings.TrimPrefix(s, "-")
	var b strings.Builder
	if neg {
		b.WriteByte('-')
	}
	for i, c := range s {
		if i > 0 && (len(s)-i)%3 == 0 {
			b.WriteByte(',')
		}
		b.WriteRune(c)
	}
	return b.String()
}

// reportList joins the first n items of a DuckDB list and says how many more there are.
func reportList(items []any, n int) string {
	var parts []string
	for _, it := range items[:min(n, len(items))] {
		parts = append(parts, fmt.Sprint(it))
	}
	s := strings.Join(parts, ", ")
	if len(items) > n {
		s += fmt.Sprintf(" and %d more", len(items)-n)
	}
	return s
}

func reportDate(t sql.NullTime, null string) string {
	if !t.Valid {
		return null
	}
	return t.Time.UTC().Format(reportDateLayout)
}

func reportTime(t sql.NullTime) string {
	if !t.Valid {
		return ""
	}
	return t.Time.UTC().Format(reportTimeLayout)
}
