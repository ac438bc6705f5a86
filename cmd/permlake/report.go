package main

import (
	"context"
	"database/sql"
	_ "embed"
	"fmt"
	"html/template"
	"io"
	"strings"
	"time"
)

//go:embed report.html.tmpl
var reportTemplateText string

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"pct": func(part, whole int64) string {
		if whole == 0 {
			return "0%"
		}
		return fmt.Sprintf("%.0f%%", 100*float64(part)/float64(whole))
	},
}).Parse(reportTemplateText))

// reportBar is one horizontal bar of an inline SVG chart.
type reportBar struct {
	Label    string
	Title    string // full text for the tooltip
	Note     string // text after the bar
	Value    int64
	Width    float64 // in chart units (0-600)
	Y        float64
	Class    string
	Segments []reportSegment
}

type reportSegment struct {
	X, Width float64
	Class    string
	Value    int64
	Label    string
}

type reportData struct {
	GeneratedAt            string
	WindowStart, WindowEnd string
	Accounts, Principals   int64
	Used, Unused, Unknown  int64
	UsedNotGranted         int64
	Inactive               int64
	TopScores              []reportBar
	TopScoresHeight        float64
	PerAccount             []reportBar
	PerAccountHeight       float64
	Bands                  []reportBar
	InactiveRows           []reportInactive
	RiskyRows              []reportRisky
	UnmappedRows           []reportUnmapped
}

type reportInactive struct {
	Account, ARN, Type, Credential, LastActivity, Source string
	Days                                                 int64
}

type reportRisky struct {
	Account, ARN, Action, AccessLevel, GrantedBy string
}

type reportUnmapped struct {
	Source, Name string
	Events       int64
}

const reportChartWidth = 600.0

// writeReport renders a self-contained HTML page (inline CSS and SVG; no script, font or remote
// resource) from the marts in db.
func writeReport(ctx context.Context, db *sql.DB, w io.Writer, generatedAt time.Time) error {
	d := reportData{GeneratedAt: generatedAt.UTC().Format(time.RFC3339)}
	var ws, we sql.NullTime
	err := db.QueryRowContext(ctx, `select
		(select count(distinct account_id) from permission_usage),
		(select count(distinct principal_arn) from permission_usage),
		(select count(*) from permission_usage where status = 'used'),
		(select count(*) from permission_usage where status = 'unused'),
		(select count(*) from permission_usage where status = 'unknown'),
		(select count(*) from permission_usage where status = 'used_not_granted'),
		(select count(*) from inactive_identities),
		(select min(window_start) from permission_usage),
		(select max(window_end) from permission_usage)`).Scan(&d.Accounts, &d.Principals, &d.Used, &d.Unused, &d.Unknown, &d.UsedNotGranted, &d.Inactive, &ws, &we)
	if err != nil {
		return fmt.Errorf("headline numbers: %w", err)
	}
	if ws.Valid {
		d.WindowStart, d.WindowEnd = ws.Time.Format("2006-01-02 15:04"), we.Time.Format("2006-01-02 15:04")
	}

	rows, err := db.QueryContext(ctx, `select principal_arn, score, band from creep_scores order by score desc, principal_arn limit 15`)
	if err != nil {
		return fmt.Errorf("creep scores: %w", err)
	}
	for i := 0; rows.Next(); i++ {
		var b reportBar
		if err := rows.Scan(&b.Label, &b.Value, &b.Class); err != nil {
			rows.Close()
			return err
		}
		b.Title = b.Label
		b.Label = reportShortARN(b.Label)
		b.Width, b.Y = (reportChartWidth-40)*float64(b.Value)/100, float64(i)*26
		d.TopScores = append(d.TopScores, b)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	d.TopScoresHeight = float64(len(d.TopScores)) * 26

	rows, err = db.QueryContext(ctx, `select account_id,
		count(*) filter (where status = 'used'), count(*) filter (where status = 'unused'),
		count(*) filter (where status = 'unknown'), count(*) filter (where status = 'used_not_granted')
		from permission_usage group by account_id order by account_id`)
	if err != nil {
		return fmt.Errorf("usage per account: %w", err)
	}
	var max int64
	type acc struct {
		id   string
		vals [4]int64
	}
	var accs []acc
	for rows.Next() {
		var a acc
		if err := rows.Scan(&a.id, &a.vals[0], &a.vals[1], &a.vals[2], &a.vals[3]); err != nil {
			rows.Close()
			return err
		}
		if t := a.vals[0] + a.vals[1] + a.vals[2] + a.vals[3]; t > max {
			max = t
		}
		accs = append(accs, a)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	classes := [4]string{"used", "unused", "unknown", "ung"}
	names := [4]string{"used", "unused", "unknown", "used, not granted"}
	for i, a := range accs {
		b := reportBar{Label: a.id, Y: float64(i) * 30}
		x := 0.0
		for j, v := range a.vals {
			wdt := (reportChartWidth - 80) * float64(v) / float64(max)
			b.Segments = append(b.Segments, reportSegment{X: x, Width: wdt, Class: classes[j], Value: v, Label: names[j]})
			x += wdt
			b.Value += v
		}
		b.Note = fmt.Sprintf("%d used · %d unused · %d unknown · %d not granted", a.vals[0], a.vals[1], a.vals[2], a.vals[3])
		d.PerAccount = append(d.PerAccount, b)
	}
	d.PerAccountHeight = float64(len(d.PerAccount)) * 30

	rows, err = db.QueryContext(ctx, `select band, count(*) from creep_scores group by band
		order by case band when 'high' then 1 when 'medium' then 2 else 3 end`)
	if err != nil {
		return fmt.Errorf("bands: %w", err)
	}
	var bandMax int64
	for rows.Next() {
		var b reportBar
		if err := rows.Scan(&b.Label, &b.Value); err != nil {
			rows.Close()
			return err
		}
		b.Class = b.Label
		if b.Value > bandMax {
			bandMax = b.Value
		}
		d.Bands = append(d.Bands, b)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	for i := range d.Bands {
		d.Bands[i].Width, d.Bands[i].Y = reportChartWidth*float64(d.Bands[i].Value)/float64(bandMax), float64(i)*26
	}

	rows, err = db.QueryContext(ctx, `select account_id, principal_arn, principal_type, credential, last_activity_at, coalesce(last_activity_source, ''), coalesce(days_inactive, 0)
		from inactive_identities order by days_inactive desc nulls first, principal_arn limit 200`)
	if err != nil {
		return fmt.Errorf("inactive identities: %w", err)
	}
	for rows.Next() {
		var r reportInactive
		var last sql.NullTime
		if err := rows.Scan(&r.Account, &r.ARN, &r.Type, &r.Credential, &last, &r.Source, &r.Days); err != nil {
			rows.Close()
			return err
		}
		r.LastActivity = "never seen"
		if last.Valid {
			r.LastActivity = last.Time.Format("2006-01-02")
		}
		d.InactiveRows = append(d.InactiveRows, r)
	}
	if err := closeRows(rows); err != nil {
		return err
	}

	rows, err = db.QueryContext(ctx, `select p.account_id, p.principal_arn, p.action, coalesce(p.access_level, ''), array_to_string(p.granted_by, ', ')
		from permission_usage p
		where p.status = 'unused' and p.is_high_risk
		order by p.account_id, p.principal_arn, p.action limit 100`)
	if err != nil {
		return fmt.Errorf("unused high-risk permissions: %w", err)
	}
	for rows.Next() {
		var r reportRisky
		if err := rows.Scan(&r.Account, &r.ARN, &r.Action, &r.AccessLevel, &r.GrantedBy); err != nil {
			rows.Close()
			return err
		}
		d.RiskyRows = append(d.RiskyRows, r)
	}
	if err := closeRows(rows); err != nil {
		return err
	}

	rows, err = db.QueryContext(ctx, `select event_source, event_name, events from unmapped_events order by events desc, event_source, event_name limit 50`)
	if err != nil {
		return fmt.Errorf("unmapped events: %w", err)
	}
	for rows.Next() {
		var r reportUnmapped
		if err := rows.Scan(&r.Source, &r.Name, &r.Events); err != nil {
			rows.Close()
			return err
		}
		d.UnmappedRows = append(d.UnmappedRows, r)
	}
	if err := closeRows(rows); err != nil {
		return err
	}
	return reportTemplate.Execute(w, d)
}

// reportShortARN keeps an ARN readable in a chart label: the account and the entity name, with
// the path dropped and long names cut (the tooltip has the full ARN).
func reportShortARN(arn string) string {
	parts := strings.SplitN(arn, ":", 6)
	if len(parts) != 6 {
		return arn
	}
	res := parts[5]
	if i := strings.IndexByte(res, '/'); i >= 0 {
		kind, name := res[:i], res[strings.LastIndexByte(res, '/')+1:]
		res = kind + "/" + name
	}
	if len(res) > 44 {
		res = res[:43] + "…"
	}
	return parts[4] + " " + res
}

func closeRows(rows *sql.Rows) error {
	if err := rows.Err(); err != nil {
		rows.Close()
		return err
	}
	return rows.Close()
}
