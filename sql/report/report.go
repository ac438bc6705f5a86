// Package report renders the HTML report: one self-contained page over the marts of a built
// warehouse. It fetches nothing (no script, font, stylesheet or image from elsewhere; charts are
// inline SVG laid out here in Go, and the one inline script only sorts tables), so it can be mailed,
// attached to a ticket or opened offline. Every value goes through html/template.
//
// The page leads with what to do: the identities to fix first (identity_priority) with their
// remediation steps and least-privilege policies, then where the numbers come from — the window
// and the evidence behind "unused" are stated wherever numbers appear.
//
// report reads the warehouse through database/sql; it must not import extract, transform, load
// or cmd.
package report

import (
	"bytes"
	"context"
	"database/sql"
	_ "embed"
	"encoding/json"
	"fmt"
	"html/template"
	"io"
	"math"
	"strconv"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var templateText string

var page = template.Must(template.New("report").Funcs(template.FuncMap{
	"f1": func(f float64) string { return strconv.FormatFloat(f, 'f', 1, 64) },
}).Parse(templateText))

// Limits on what the page lists; a note says how much was left out.
const (
	maxFixFirst      = 10
	maxSteps         = 4
	maxPriorityBars  = 15
	maxAccounts      = 60
	maxInactive      = 100
	maxRisky         = 25
	maxDenied        = 25
	maxServices      = 60
	maxUnmapped      = 50
	maxGrantedBy     = 3
	chartLabelRunes  = 44 // a chart label column is 330 units wide at 12 px text: ~7.5 units a rune
	accountLabelRune = 36 // an Azure subscription ID whole, in 262 units
	rowHeight        = 26.0
	axisHeight       = 22.0
	minSegment       = 3.0 // a non-zero segment stays visible however small its share
	timeLayout       = "2006-01-02 15:04"
	dateLayout       = "2006-01-02"
)

// Marts are the warehouse tables and views the report reads; Write fails naming the first one
// missing.
var Marts = []string{"permission_usage", "creep_scores", "account_creep_scores", "inactive_identities", "unused_high_risk",
	"unmapped_events", "evidence_windows", "identity_priority", "remediation_actions", "least_privilege_policies", "service_usage"}

// view is everything the template prints.
type view struct {
	GeneratedAt string
	Window      string // "" when permission_usage is empty
	Evidence    string // the trail evidence behind "unused"; "" when none
	Catalog     string // the IAM action catalog's version (build_info); "" for an older warehouse
	Cards       []card
	FixFirst    listing[fixRow]
	Priority    chart
	Accounts    chart
	Bands       chart
	Services    listing[serviceRow]
	Denied      listing[deniedRow]
	Inactive    listing[inactiveRow]
	Risky       listing[riskyRow]
	Unmapped    listing[unmappedRow]
}

// card is one headline number.
type card struct {
	Value, Label, Hint string
}

// chart is a horizontal bar chart laid out in SVG user units (a viewBox 1000 wide). Columns, left
// to right: the label (ending at LabelEnd, right-aligned), the badge (from BadgeX; 0: none), the
// bar (from BarX), the note after the bar.
type chart struct {
	Height   float64
	LabelEnd float64
	BadgeX   float64
	BarX     float64
	Grid     []gridLine
	Rows     []chartRow
	More     int64 // rows not drawn
}

// gridLine is a dashed vertical line with a caption above the bars.
type gridLine struct {
	X     float64
	Label string
}

// chartRow is one bar (or one stack of segments) with its label.
type chartRow struct {
	Y          float64 // top of the bar
	Label      string
	Title      string // tooltip: the full name and the numbers
	Badge      string
	BadgeClass string
	Segments   []segment
	Note       string
	NoteX      float64
}

// segment is one rectangle of a bar.
type segment struct {
	X, Width float64
	Class    string
	Title    string
}

// listing is a listed section: the rows shown and how many were left out.
type listing[T any] struct {
	Rows []T
	More int64
}

type fixRow struct {
	Rank, Priority, Name, ARN, Account, Type, Score, Band, BandClass string
	Reason, Evidence                                                 string
	Steps                                                            []stepRow
	Policies                                                         []policyRow
	MoreSteps                                                        int64
}

type stepRow struct {
	Kind, Target, Removes, Caveats string
}

type policyRow struct {
	Number, Actions, Document string
}

type serviceRow struct {
	Rank, Name, Account, Service, Granted, Used, Unused, Unknown, LastUsed, Status string
}

type deniedRow struct {
	Name, ARN, Account, Action, Attempts, Status, LastEvidence string
}

type inactiveRow struct {
	Account, Name, ARN, Type, Credential, Created, LastActivity, Source, Days string
}

type riskyRow struct {
	Action, AccessLevel, Reason, GrantedBy string
	Principals, Accounts, Attempts         string
}

type unmappedRow struct {
	Source, Name, Events, FirstSeen, LastSeen string
}

// Write renders the page from the marts in db (a DuckDB warehouse opened with database/sql,
// driver github.com/duckdb/duckdb-go/v2); generatedAt is printed in it. Every table of Marts
// must exist; empty marts give a page whose sections say "No data".
func Write(ctx context.Context, db *sql.DB, w io.Writer, generatedAt time.Time) error {
	for _, m := range Marts {
		var n int
		if err := db.QueryRowContext(ctx, `select (select count(*) from duckdb_tables() where table_name = ?)
			+ (select count(*) from duckdb_views() where view_name = ?)`, m, m).Scan(&n); err != nil {
			return fmt.Errorf("report: look up %s: %w", m, err)
		}
		if n == 0 {
			return fmt.Errorf("report: the warehouse has no %s (build it with permlake models)", m)
		}
	}
	v := view{GeneratedAt: generatedAt.UTC().Format(time.RFC3339)}
	for _, section := range []func(context.Context, *sql.DB, *view) error{
		headline, fixFirst, priorities, accounts, bands, services, denied, inactive, risky, unmapped, catalog,
	} {
		if err := section(ctx, db, &v); err != nil {
			return err
		}
	}
	if err := page.Execute(w, v); err != nil {
		return fmt.Errorf("render report: %w", err)
	}
	return nil
}

// catalog reads the IAM action catalog's version from build_info, which warehouses built before
// the catalog key lack (the page then leaves it out).
func catalog(ctx context.Context, db *sql.DB, v *view) error {
	var n int
	if err := db.QueryRowContext(ctx, `select count(*) from duckdb_columns()
		where table_name = 'build_info' and column_name = 'catalog_version'`).Scan(&n); err != nil || n == 0 {
		return err
	}
	var s sql.NullString
	if err := db.QueryRowContext(ctx, "select any_value(catalog_version) from build_info").Scan(&s); err != nil {
		return fmt.Errorf("read build_info: %w", err)
	}
	v.Catalog = s.String
	return nil
}

// headline fills the window, the evidence and the headline cards. Granted counts (principal,
// action) pairs whose status is used, unused or unknown; used_not_granted is used but in no
// policy we read. Accounts are AWS accounts and Azure subscriptions (never a tenant).
func headline(ctx context.Context, db *sql.DB, v *view) error {
	var (
		aws, azure, principals, granted, used, unused, unknown, ung int64
		inactiveN, staleCredentials, unusedHighRisk, attempts       int64
		start, end, evStart, evEnd                                  sql.NullTime
	)
	err := db.QueryRowContext(ctx, `
		with accounts as (
			select cloud, account_id from evidence_windows
			union select cloud, account_id from creep_scores
		),
		usage as (
			select
				count(*) filter (where status in ('used', 'unused', 'unknown')) as granted,
				count(*) filter (where status = 'used') as used,
				count(*) filter (where status = 'unused') as unused,
				count(*) filter (where status = 'unknown') as unknown,
				count(*) filter (where status = 'used_not_granted') as used_not_granted,
				coalesce(sum(attempts), 0) as attempts
			from permission_usage
		),
		windows as (
			select min(window_start) as window_start, max(window_end) as window_end,
				min(evidence_start) as evidence_start, max(evidence_end) as evidence_end
			from evidence_windows
		),
		inactive as (
			select
				count(distinct principal_arn) filter (where credential = 'identity') as identities,
				count(*) filter (where credential <> 'identity') as credentials
			from inactive_identities
		)
		select
			(select count(*) from accounts where cloud = 'aws'),
			(select count(*) from accounts where cloud = 'azure'),
			(select count(*) from identity_priority),
			u.granted, u.used, u.unused, u.unknown, u.used_not_granted, u.attempts,
			i.identities, i.credentials,
			(select count(*) from unused_high_risk),
			w.window_start, w.window_end, w.evidence_start, w.evidence_end
		from usage as u, inactive as i, windows as w`,
	).Scan(&aws, &azure, &principals, &granted, &used, &unused, &unknown, &ung, &attempts,
		&inactiveN, &staleCredentials, &unusedHighRisk, &start, &end, &evStart, &evEnd)
	if err != nil {
		return fmt.Errorf("query headline numbers: %w", err)
	}
	if start.Valid && end.Valid {
		v.Window = fmt.Sprintf("%s to %s UTC (%s days)", start.Time.UTC().Format(timeLayout),
			end.Time.UTC().Format(timeLayout), days(end.Time.Sub(start.Time)))
	}
	if evStart.Valid && evEnd.Valid {
		v.Evidence = fmt.Sprintf("the trails recorded events from %s to %s UTC (%s days)", evStart.Time.UTC().Format(timeLayout),
			evEnd.Time.UTC().Format(timeLayout), days(evEnd.Time.Sub(evStart.Time)))
	}
	v.Cards = []card{
		{num(aws), "AWS accounts", ""},
		{num(azure), "Azure subscriptions", ""},
		{num(principals), "identities ranked", "users, roles and Azure principals holding grants"},
		{num(granted), "permissions granted", "(identity, action) pairs: used + unused + unknown"},
		{num(used), "used", "granted and exercised successfully in the evidence"},
		{num(unused), "unused", "granted, observable, never used in the evidence"},
		{num(unknown), "unknown", "granted, but the trail cannot record it"},
		{num(ung), "used, not granted", "used although no policy read grants it"},
		{num(unusedHighRisk), "unused high-risk", "unused permissions management or privilege escalation"},
		{num(attempts), "denied attempts", "failed calls: identities trying what they lack"},
		{num(inactiveN), "inactive identities", "users and roles with no activity in the window"},
		{num(staleCredentials), "unused credentials", "console passwords and access keys not used in the window"},
	}
	return nil
}

// fixFirst lists the highest priorities with their remediation steps and least-privilege
// policies (pretty-printed, to copy).
func fixFirst(ctx context.Context, db *sql.DB, v *view) error {
	type key struct{ cloud, account, arn string }
	var keys []key
	index := map[key]int{}
	err := query(ctx, db, `
		select cloud, account_id, principal_arn, priority_rank, priority, display_name, account_name, principal_type,
			score, band, priority_reason, evidence_days, window_days, count(*) over ()
		from identity_priority
		order by priority_rank
		limit ?`, []any{maxFixFirst}, func(rows *sql.Rows) error {
		var (
			k                  key
			r                  fixRow
			rank, score, total int64
			priority, evidence float64
			window             int64
		)
		if err := rows.Scan(&k.cloud, &k.account, &k.arn, &rank, &priority, &r.Name, &r.Account, &r.Type, &score, &r.Band,
			&r.Reason, &evidence, &window, &total); err != nil {
			return err
		}
		r.Rank, r.Priority, r.ARN, r.Score, r.BandClass = num(rank), strconv.FormatFloat(priority, 'f', 1, 64), k.arn, num(score), bandClass(r.Band)
		if r.Account != k.account {
			r.Account += " (" + k.account + ")"
		}
		r.Evidence = fmt.Sprintf("%s of %d days of evidence", strconv.FormatFloat(evidence, 'f', 1, 64), window)
		index[k] = len(v.FixFirst.Rows)
		keys = append(keys, k)
		v.FixFirst.Rows = append(v.FixFirst.Rows, r)
		v.FixFirst.More = total - int64(len(v.FixFirst.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query identity_priority: %w", err)
	}
	for _, k := range keys {
		r := &v.FixFirst.Rows[index[k]]
		err := query(ctx, db, `
			select step_kind, target_label, removes_unused, removes_high_risk, removes_unknown, caveats, count(*) over ()
			from remediation_actions
			where cloud = ? and account_id = ? and principal_arn = ?
			order by step_number
			limit ?`, []any{k.cloud, k.account, k.arn, maxSteps}, func(rows *sql.Rows) error {
			var (
				s                                   stepRow
				unusedN, highRisk, unknownN, totalN int64
			)
			if err := rows.Scan(&s.Kind, &s.Target, &unusedN, &highRisk, &unknownN, &s.Caveats, &totalN); err != nil {
				return err
			}
			s.Kind = strings.ReplaceAll(s.Kind, "_", " ")
			s.Removes = fmt.Sprintf("%s unused (%s high-risk), %s unknown", num(unusedN), num(highRisk), num(unknownN))
			if unusedN+unknownN == 0 {
				s.Removes = "a long-term credential"
			}
			r.Steps = append(r.Steps, s)
			r.MoreSteps = totalN - int64(len(r.Steps))
			return nil
		})
		if err != nil {
			return fmt.Errorf("query remediation_actions: %w", err)
		}
		err = query(ctx, db, `
			select policy_number, action_count, policy_document
			from least_privilege_policies
			where cloud = ? and account_id = ? and principal_arn = ?
			order by policy_number`, []any{k.cloud, k.account, k.arn}, func(rows *sql.Rows) error {
			var (
				p         policyRow
				n, action int64
				doc       string
			)
			if err := rows.Scan(&n, &action, &doc); err != nil {
				return err
			}
			p.Number, p.Actions, p.Document = num(n), num(action), indentJSON(doc)
			r.Policies = append(r.Policies, p)
			return nil
		})
		if err != nil {
			return fmt.Errorf("query least_privilege_policies: %w", err)
		}
	}
	return nil
}

// priorities draws the highest priorities as bars on one scale (the first fills the bar), the
// identity's creep score as a badge coloured by its band.
func priorities(ctx context.Context, db *sql.DB, v *view) error {
	const labelEnd, badgeX, barX, barW = 330.0, 340.0, 420.0, 480.0
	c := chart{LabelEnd: labelEnd, BadgeX: badgeX, BarX: barX}
	var top float64
	err := query(ctx, db, `
		select priority_rank, display_name, account_name, principal_arn, priority, score, band, priority_reason, count(*) over ()
		from identity_priority
		order by priority_rank
		limit ?`, []any{maxPriorityBars}, func(rows *sql.Rows) error {
		var (
			rank, score, total int64
			name, account, arn string
			band, reason       string
			priority           float64
		)
		if err := rows.Scan(&rank, &name, &account, &arn, &priority, &score, &band, &reason, &total); err != nil {
			return err
		}
		if top == 0 {
			top = math.Max(priority, 1)
		}
		w := math.Max(barW*priority/top, minSegment)
		c.Rows = append(c.Rows, chartRow{
			Y:          axisHeight + float64(len(c.Rows))*rowHeight,
			Label:      cut(fmt.Sprintf("%d. %s · %s", rank, name, account), chartLabelRunes),
			Title:      fmt.Sprintf("%d. %s (%s): priority %s; %s", rank, arn, account, strconv.FormatFloat(priority, 'f', 1, 64), reason),
			Badge:      fmt.Sprintf("score %d", score),
			BadgeClass: bandClass(band),
			Segments:   []segment{{X: barX, Width: w, Class: "priority"}},
			Note:       strconv.FormatFloat(priority, 'f', 1, 64),
			NoteX:      barX + w + 6,
		})
		c.More = total - int64(len(c.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query identity_priority: %w", err)
	}
	c.Height = axisHeight + float64(len(c.Rows))*rowHeight
	if top > 0 {
		c.Grid = []gridLine{{barX, "0"}, {barX + barW/2, strconv.FormatFloat(top/2, 'f', 0, 64)}, {barX + barW, strconv.FormatFloat(top, 'f', 0, 64)}}
	}
	v.Priority = c
	return nil
}

// accounts draws each account's grants as shares (every bar is the account's whole), so the few
// used grants beside ~100,000 unused ones stay visible; the note gives the counts and the days
// of evidence, the badge the account's mean creep score.
func accounts(ctx context.Context, db *sql.DB, v *view) error {
	const labelEnd, badgeX, barX, barW = 262.0, 272.0, 350.0, 380.0
	c := chart{LabelEnd: labelEnd, BadgeX: badgeX, BarX: barX}
	names := [4]string{"used", "unused", "unknown", "used, not granted"}
	classes := [4]string{"used", "unused", "unknown", "ung"}
	err := query(ctx, db, `
		with usage as (
			select
				cloud,
				account_id,
				count(*) filter (where status = 'used') as used,
				count(*) filter (where status = 'unused') as unused,
				count(*) filter (where status = 'unknown') as unknown,
				count(*) filter (where status = 'used_not_granted') as used_not_granted
			from permission_usage
			group by cloud, account_id
		),
		names as (
			select cloud, account_id, any_value(account_name) as account_name
			from identity_priority
			group by cloud, account_id
		)
		select u.cloud, u.account_id, coalesce(n.account_name, u.account_id), u.used, u.unused, u.unknown, u.used_not_granted,
			a.score, coalesce(a.band, ''), w.evidence_start, w.evidence_end, count(*) over ()
		from usage as u
		left join account_creep_scores as a on a.cloud = u.cloud and a.account_id = u.account_id
		left join evidence_windows as w on w.cloud = u.cloud and w.account_id = u.account_id
		left join names as n on n.cloud = u.cloud and n.account_id = u.account_id
		order by u.cloud, coalesce(n.account_name, u.account_id), u.account_id
		limit ?`, []any{maxAccounts}, func(rows *sql.Rows) error {
		var (
			cloud, id, name, band string
			counts                [4]int64
			score                 sql.NullInt64
			evStart, evEnd        sql.NullTime
			total                 int64
		)
		if err := rows.Scan(&cloud, &id, &name, &counts[0], &counts[1], &counts[2], &counts[3], &score, &band, &evStart, &evEnd, &total); err != nil {
			return err
		}
		var all int64
		for _, n := range counts {
			all += n
		}
		label := name
		if name != id {
			label = name + " · " + id
		}
		r := chartRow{Y: axisHeight + float64(len(c.Rows))*rowHeight, Label: cut(label, accountLabelRune)}
		if score.Valid {
			r.Badge, r.BadgeClass = fmt.Sprintf("score %d", score.Int64), bandClass(band)
		}
		evidence := "no trail evidence"
		if evStart.Valid && evEnd.Valid {
			evidence = days(evEnd.Time.Sub(evStart.Time)) + " days of evidence"
		}
		// Shares, each non-zero one at least minSegment wide, taken from the largest.
		widths := [4]float64{}
		var used float64
		largest := 0
		for j, n := range counts {
			if n == 0 || all == 0 {
				continue
			}
			widths[j] = math.Max(barW*float64(n)/float64(all), minSegment)
			used += widths[j]
			if counts[j] > counts[largest] {
				largest = j
			}
		}
		if used > barW {
			widths[largest] -= used - barW
		}
		x := barX
		var title, note []string
		for j, n := range counts {
			title = append(title, fmt.Sprintf("%s %s", num(n), names[j]))
			if widths[j] == 0 {
				continue
			}
			note = append(note, fmt.Sprintf("%s %s", percent(n, all), names[j]))
			r.Segments = append(r.Segments, segment{X: x, Width: widths[j], Class: classes[j],
				Title: fmt.Sprintf("%s: %s %s (%s)", label, num(n), names[j], percent(n, all))})
			x += widths[j]
		}
		r.Title = fmt.Sprintf("%s %s: %s; %s", cloud, label, strings.Join(title, ", "), evidence)
		r.Note, r.NoteX = evidence, barX+barW+8
		if len(note) > 0 {
			r.Title += " (" + strings.Join(note, ", ") + ")"
		}
		c.Rows = append(c.Rows, r)
		c.More = total - int64(len(c.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query usage per account: %w", err)
	}
	c.Grid = []gridLine{{barX, "0%"}, {barX + barW/2, "50%"}, {barX + barW, "100%"}}
	c.Height = axisHeight + float64(len(c.Rows))*rowHeight
	v.Accounts = c
	return nil
}

// bands counts identities per creep band; every band gets a row, empty ones included.
func bands(ctx context.Context, db *sql.DB, v *view) error {
	const labelEnd, barX, barW = 130.0, 140.0, 560.0
	type band struct {
		name, limits string
		n            int64
	}
	var (
		all          []band
		total, large int64
	)
	err := query(ctx, db, `
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
		all = append(all, b)
		return nil
	})
	if err != nil {
		return fmt.Errorf("query creep bands: %w", err)
	}
	if total == 0 {
		return nil // the template says "No data" for a chart without rows
	}
	c := chart{LabelEnd: labelEnd, BarX: barX}
	for i, b := range all {
		w := barW * float64(b.n) / float64(large)
		if b.n > 0 {
			w = math.Max(w, minSegment)
		}
		c.Rows = append(c.Rows, chartRow{
			Y:        4 + float64(i)*rowHeight,
			Label:    fmt.Sprintf("%s (%s)", b.name, b.limits),
			Title:    fmt.Sprintf("%s: %s identities", b.name, num(b.n)),
			Segments: []segment{{X: barX, Width: w, Class: bandClass(b.name)}},
			Note:     fmt.Sprintf("%s (%s)", num(b.n), percent(b.n, total)),
			NoteX:    barX + w + 6,
		})
	}
	c.Height = 8 + float64(len(c.Rows))*rowHeight
	v.Bands = c
	return nil
}

// services lists, for the identities to fix first, what each service they hold was used for (the
// Access Advisor view): used services first, then by unused actions.
func services(ctx context.Context, db *sql.DB, v *view) error {
	err := query(ctx, db, `
		with top as (
			select * from identity_priority order by priority_rank limit ?
		)
		select t.priority_rank, t.display_name, t.account_name, s.service, s.granted_actions, s.used_actions,
			s.unused_actions, s.unknown_actions, s.last_used_at, s.status, count(*) over ()
		from service_usage as s
		inner join top as t on t.cloud = s.cloud and t.account_id = s.account_id and t.principal_arn = s.principal_arn
		order by t.priority_rank, s.used_actions > 0 desc, s.unused_actions desc, s.service
		limit ?`, []any{maxFixFirst, maxServices}, func(rows *sql.Rows) error {
		var (
			r                                         serviceRow
			rank, granted, used, unusedN, unknownN, n int64
			last                                      sql.NullTime
		)
		if err := rows.Scan(&rank, &r.Name, &r.Account, &r.Service, &granted, &used, &unusedN, &unknownN, &last, &r.Status, &n); err != nil {
			return err
		}
		r.Rank, r.Granted, r.Used, r.Unused, r.Unknown = num(rank), num(granted), num(used), num(unusedN), num(unknownN)
		r.LastUsed = date(last, "not in the evidence")
		v.Services.Rows = append(v.Services.Rows, r)
		v.Services.More = n - int64(len(v.Services.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query service_usage: %w", err)
	}
	return nil
}

// denied lists the actions identities tried and failed, most attempts first: a role trying what
// it lacks is a signal (a broken deployment, or someone probing).
func denied(ctx context.Context, db *sql.DB, v *view) error {
	err := query(ctx, db, `
		with names as (
			select cloud, account_id, principal_arn, display_name, account_name from identity_priority
		)
		select coalesce(n.display_name, u.principal_arn), u.principal_arn, coalesce(n.account_name, u.account_id), u.action,
			u.attempts, u.status, w.evidence_start, w.evidence_end, count(*) over ()
		from permission_usage as u
		left join names as n on n.cloud = u.cloud and n.account_id = u.account_id and n.principal_arn = u.principal_arn
		left join evidence_windows as w on w.cloud = u.cloud and w.account_id = u.account_id
		where u.attempts > 0
		order by u.attempts desc, u.action, u.principal_arn
		limit ?`, []any{maxDenied}, func(rows *sql.Rows) error {
		var (
			r              deniedRow
			attempts, n    int64
			evStart, evEnd sql.NullTime
		)
		if err := rows.Scan(&r.Name, &r.ARN, &r.Account, &r.Action, &attempts, &r.Status, &evStart, &evEnd, &n); err != nil {
			return err
		}
		r.Attempts = num(attempts)
		switch r.Status {
		case "used":
			r.Status = "granted, also succeeded"
		case "unused", "unknown":
			r.Status = "granted, never succeeded"
		default:
			r.Status = "not granted"
		}
		if evStart.Valid && evEnd.Valid {
			r.LastEvidence = date(evStart, "") + " – " + date(evEnd, "")
		}
		v.Denied.Rows = append(v.Denied.Rows, r)
		v.Denied.More = n - int64(len(v.Denied.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query denied attempts: %w", err)
	}
	return nil
}

// inactive lists inactive identities and credentials, longest inactive first; a NULL
// days_inactive (neither activity nor creation date known) sorts last.
func inactive(ctx context.Context, db *sql.DB, v *view) error {
	err := query(ctx, db, `
		select account_id, coalesce(identity_name, principal_arn), principal_arn, principal_type, credential, created_at,
			last_activity_at, coalesce(last_activity_source, ''), days_inactive, count(*) over ()
		from inactive_identities
		order by days_inactive desc nulls last, principal_arn, credential
		limit ?`, []any{maxInactive}, func(rows *sql.Rows) error {
		var (
			r             inactiveRow
			created, last sql.NullTime
			daysN         sql.NullInt64
			total         int64
		)
		if err := rows.Scan(&r.Account, &r.Name, &r.ARN, &r.Type, &r.Credential, &created, &last, &r.Source, &daysN, &total); err != nil {
			return err
		}
		r.Created, r.LastActivity, r.Days = date(created, "unknown"), date(last, "never seen"), "unknown"
		if daysN.Valid {
			r.Days = num(daysN.Int64)
		}
		v.Inactive.Rows = append(v.Inactive.Rows, r)
		v.Inactive.More = total - int64(len(v.Inactive.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query inactive_identities: %w", err)
	}
	return nil
}

// risky lists the unused high-risk actions held by the most principals, with the policies that
// grant them.
func risky(ctx context.Context, db *sql.DB, v *view) error {
	err := query(ctx, db, `
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
		limit ?`, []any{maxRisky}, func(rows *sql.Rows) error {
		var (
			r                                  riskyRow
			principals, accountsN, attempts, n int64
			grantedBy                          []any
		)
		if err := rows.Scan(&r.Action, &r.AccessLevel, &r.Reason, &principals, &accountsN, &attempts, &grantedBy, &n); err != nil {
			return err
		}
		r.Principals, r.Accounts, r.Attempts = num(principals), num(accountsN), num(attempts)
		r.GrantedBy = list(grantedBy, maxGrantedBy)
		v.Risky.Rows = append(v.Risky.Rows, r)
		v.Risky.More = n - int64(len(v.Risky.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query unused_high_risk: %w", err)
	}
	return nil
}

// unmapped lists the CloudTrail events no IAM action was derived for, most frequent first.
func unmapped(ctx context.Context, db *sql.DB, v *view) error {
	err := query(ctx, db, `
		select event_source, event_name, events, first_seen_at, last_seen_at, count(*) over ()
		from unmapped_events
		order by events desc, event_source, event_name
		limit ?`, []any{maxUnmapped}, func(rows *sql.Rows) error {
		var (
			r             unmappedRow
			events, total int64
			first, last   sql.NullTime
		)
		if err := rows.Scan(&r.Source, &r.Name, &events, &first, &last, &total); err != nil {
			return err
		}
		r.Events = num(events)
		r.FirstSeen, r.LastSeen = stamp(first), stamp(last)
		v.Unmapped.Rows = append(v.Unmapped.Rows, r)
		v.Unmapped.More = total - int64(len(v.Unmapped.Rows))
		return nil
	})
	if err != nil {
		return fmt.Errorf("query unmapped_events: %w", err)
	}
	return nil
}

// query runs q with args and calls scan for each row.
func query(ctx context.Context, db *sql.DB, q string, args []any, scan func(*sql.Rows) error) (err error) {
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

// bandClass maps a band to its CSS class; anything unexpected gets a neutral colour rather than
// reaching the class attribute as is.
func bandClass(band string) string {
	switch band {
	case "low", "medium", "high":
		return band
	}
	return "other"
}

// cut shortens s to n runes, marking the cut with an ellipsis.
func cut(s string, n int) string {
	r := []rune(s)
	if len(r) <= n {
		return s
	}
	return string(r[:n-1]) + "…"
}

// num prints n with thousands separators (456,996).
func num(n int64) string {
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

// percent prints n's share of all, with more digits when it is small (0.02%).
func percent(n, all int64) string {
	if all == 0 {
		return "0%"
	}
	p := 100 * float64(n) / float64(all)
	switch {
	case p == 0 || p >= 10:
		return strconv.FormatFloat(p, 'f', 0, 64) + "%"
	case p >= 1:
		return strconv.FormatFloat(p, 'f', 1, 64) + "%"
	}
	return strconv.FormatFloat(p, 'g', 2, 64) + "%"
}

// days prints a duration in days with one decimal (14.0).
func days(d time.Duration) string {
	return strconv.FormatFloat(d.Hours()/24, 'f', 1, 64)
}

// list joins the first n items of a DuckDB list and says how many more there are.
func list(items []any, n int) string {
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

// indentJSON pretty-prints a policy document for copying; a document that is not JSON is shown
// as it is.
func indentJSON(doc string) string {
	var b bytes.Buffer
	if err := json.Indent(&b, []byte(doc), "", "  "); err != nil {
		return doc
	}
	return b.String()
}

func date(t sql.NullTime, null string) string {
	if !t.Valid {
		return null
	}
	return t.Time.UTC().Format(dateLayout)
}

func stamp(t sql.NullTime) string {
	if !t.Valid {
		return ""
	}
	return t.Time.UTC().Format(timeLayout)
}
