package activity

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestExports(t *testing.T) {
	t.Parallel()
	e, err := ActivityExport("0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0")
	if err != nil {
		t.Fatal(err)
	}
	hour := time.Date(2026, 11, 2, 7, 59, 59, 0, time.FixedZone("CET", 3600)) // 06:59 UTC
	if got, want := e.BlobName(hour), "resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=02/h=06/m=00/PT1H.json"; got != want {
		t.Errorf("blob name = %q, want %q", got, want)
	}
	if e.Container != ContainerActivityLogs {
		t.Errorf("container = %q", e.Container)
	}
	en, err := EntraExport(ContainerSignInLogs, "72F988BF-86F1-41AF-91AB-2D7CD011DB47")
	if err != nil {
		t.Fatal(err)
	}
	if got, want := en.HourPrefix(time.Date(2026, 1, 31, 23, 0, 0, 0, time.UTC)), "tenantId=72f988bf-86f1-41af-91ab-2d7cd011db47/y=2026/m=01/d=31/h=23/"; got != want {
		t.Errorf("hour prefix = %q, want %q", got, want)
	}
	for _, bad := range []string{"", "0f1e2d3c", "../../etc", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/..", "{0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0}", "0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1fg", "0f1e2d3c4b5a697887 96a5b4c3d2e1f0"} {
		if _, err := ActivityExport(bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("ActivityExport(%q) error = %v, want ErrInvalidID", bad, err)
		}
		if _, err := EntraExport(ContainerAuditLogs, bad); !errors.Is(err, ErrInvalidID) {
			t.Errorf("EntraExport(%q) error = %v, want ErrInvalidID", bad, err)
		}
	}
	if _, err := EntraExport("insights-logs-riskyusers", "72f988bf-86f1-41af-91ab-2d7cd011db47"); err == nil || !strings.Contains(err.Error(), "insights-logs-riskyusers") {
		t.Errorf("unknown container error = %v", err)
	}
	bad := e
	bad.Root = "../other/"
	if err := bad.Validate(); err == nil {
		t.Error("root with .. accepted")
	}
}

func TestPathHours(t *testing.T) {
	t.Parallel()
	at := func(d, h int) time.Time { return time.Date(2026, 11, d, h, 0, 0, 0, time.UTC) }
	for _, tc := range []struct {
		name string
		w    Window
		want []time.Time
	}{
		{"one hour, no lateness", Window{From: at(22, 7), To: at(22, 8)}, []time.Time{at(22, 7)}},
		{"To zero is one hour", Window{From: at(22, 7).Add(30 * time.Minute)}, []time.Time{at(22, 7)}},
		{"two hours late", Window{From: at(22, 7), To: at(22, 8), Late: 2 * time.Hour}, []time.Time{at(22, 7), at(22, 8), at(22, 9)}},
		{"partial hour of lateness reaches the next blob", Window{From: at(22, 7), To: at(22, 8), Late: 90 * time.Minute}, []time.Time{at(22, 7), at(22, 8), at(22, 9)}},
		{"range across midnight", Window{From: at(22, 22), To: at(23, 1), Late: time.Hour}, []time.Time{at(22, 22), at(22, 23), at(23, 0), at(23, 1)}},
		{"offset zone is read as UTC", Window{From: time.Date(2026, 11, 22, 9, 0, 0, 0, time.FixedZone("EET", 7200)), To: at(22, 8)}, []time.Time{at(22, 7)}},
	} {
		got, err := tc.w.PathHours()
		if err != nil {
			t.Errorf("%s: %v", tc.name, err)
			continue
		}
		if len(got) != len(tc.want) {
			t.Errorf("%s: hours = %v, want %v", tc.name, got, tc.want)
			continue
		}
		for i := range got {
			if !got[i].Equal(tc.want[i]) {
				t.Errorf("%s: hours = %v, want %v", tc.name, got, tc.want)
				break
			}
		}
	}
	if hs, err := (Window{From: at(1, 0), To: at(2, 0), Late: DefaultLate}).PathHours(); err != nil || len(hs) != 24+48 {
		t.Errorf("a day with the default lateness = %d hours, %v; want 72", len(hs), err)
	}
	if _, err := (Window{From: at(22, 7), Late: -time.Hour}).PathHours(); err == nil {
		t.Error("negative lateness accepted")
	}
	if _, err := (Window{From: at(1, 0).AddDate(-1, 0, 0), To: at(1, 0)}).PathHours(); err == nil {
		t.Error("a year-long window accepted")
	}
}

func TestParseHour(t *testing.T) {
	t.Parallel()
	const p = "resourceId=/SUBSCRIPTIONS/0F1E2D3C-4B5A-6978-8796-A5B4C3D2E1F0/"
	for _, tc := range []struct {
		name string
		ok   bool
		want time.Time
	}{
		{p + "y=2026/m=11/d=22/h=07/m=00/PT1H.json", true, time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)},
		{"ResourceId=/subscriptions/0f1e2d3c-4b5a-6978-8796-a5b4c3d2e1f0/y=2026/m=02/d=28/h=23/m=00/PT1H.json", true, time.Date(2026, 2, 28, 23, 0, 0, 0, time.UTC)},
		{p + "y=2026/m=02/d=30/h=07/m=00/PT1H.json", false, time.Time{}},
		{p + "y=2026/m=11/d=22/h=24/m=00/PT1H.json", false, time.Time{}},
		{p + "y=2026/m=11/d=22/h=07/m=30/PT1H.json", false, time.Time{}},
		{p + "y=2026/m=11/d=22/h=07/m=00/PT1H.json.tmp", false, time.Time{}},
		{p + "y=2026/m=11/d=22/h=07/m=00/other/PT1H.json", false, time.Time{}},
		{"resourceId=/SUBSCRIPTIONS/11111111-4B5A-6978-8796-A5B4C3D2E1F0/y=2026/m=11/d=22/h=07/m=00/PT1H.json", false, time.Time{}},
	} {
		got, ok := parseHour(p, tc.name)
		if ok != tc.ok || !got.Equal(tc.want) {
			t.Errorf("parseHour(%q) = %v %v, want %v %v", tc.name, got, ok, tc.want, tc.ok)
		}
	}
}
