package transform

import (
	"strings"
	"testing"
	"time"
)

func TestCheckEventTime(t *testing.T) {
	t.Parallel()
	delivered := time.Date(2026, 11, 2, 7, 5, 0, 0, time.UTC)
	tests := []struct {
		name      string
		at        time.Time
		delivered time.Time
		wantErr   string
	}{
		{"ordinary", delivered.Add(-5 * time.Minute), delivered, ""},
		{"days old (late delivery)", delivered.Add(-30 * 24 * time.Hour), delivered, ""},
		{"clock a little ahead", delivered.Add(2 * time.Hour), delivered, ""},
		{"exactly a day ahead", delivered.Add(MaxEventLead), delivered, ""},
		{"zero time", time.Time{}, delivered, "before 2013-01-01"},
		{"2012", time.Date(2012, 12, 31, 23, 59, 59, 0, time.UTC), delivered, "before 2013-01-01"},
		{"year 9999", time.Date(9999, 12, 31, 23, 0, 0, 0, time.UTC), delivered, "after its file's delivery"},
		{"a day and a second ahead", delivered.Add(MaxEventLead + time.Second), delivered, "after its file's delivery"},
		{"delivery unknown", time.Date(9999, 1, 1, 0, 0, 0, 0, time.UTC), time.Time{}, ""},
		{"delivery unknown, zero time", time.Time{}, time.Time{}, "before 2013"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			err := CheckEventTime(tc.at, tc.delivered)
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("CheckEventTime(%s, %s) = %v, want %q", tc.at, tc.delivered, err, tc.wantErr)
			}
		})
	}
}
