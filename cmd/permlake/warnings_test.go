package main

import (
	"strings"
	"testing"
	"time"

	"github.com/permlake/permlake/extract/aws"
)

// TestNoTrailWarning: an account the trail does not log produced an empty, "complete" hour
// without a word; the hours without any CloudTrail file are now named.
func TestNoTrailWarning(t *testing.T) {
	t.Parallel()
	h := time.Date(2026, 11, 22, 7, 0, 0, 0, time.UTC)
	file := func(at time.Time) aws.LogFile {
		return aws.LogFile{Key: "k", AccountID: "111122223333", Region: "us-east-1", DeliveredAt: at}
	}
	oneHour := window{From: h, To: h}
	day := window{From: h, To: h.Add(23 * time.Hour)}
	var everyHour []aws.LogFile
	for i := range 24 {
		everyHour = append(everyHour, file(h.Add(time.Duration(i)*time.Hour+5*time.Minute)))
	}
	tests := []struct {
		name   string
		listed []aws.LogFile
		w      window
		want   []string // substrings; none: no warning
	}{
		{"covered", []aws.LogFile{file(h.Add(5 * time.Minute))}, oneHour, nil},
		{"delivered after the hour", []aws.LogFile{file(h.Add(time.Hour + 10*time.Minute))}, oneHour, nil},
		{"no file at all", nil, oneHour, []string{"1 of 1 hours", "2026-11-22T07"}},
		{"only files of other hours", []aws.LogFile{file(h.Add(-10 * time.Minute)), file(h.Add(time.Hour + 20*time.Minute))}, oneHour, []string{"2026-11-22T07"}},
		{"every hour of a day", everyHour, day, nil},
		// the file of 20:05 may hold events of 19:55: hour 19 counts as covered
		{"a gap", append(append([]aws.LogFile{}, everyHour[:10]...), everyHour[13:]...), day, []string{"2 of 24 hours", "2026-11-22T17, 2026-11-22T18)"}},
		{"a day without", nil, day, []string{"24 of 24 hours", "2026-11-22T07, 2026-11-22T08, 2026-11-22T09, 2026-11-22T10, 2026-11-22T11, …"}},
	}
	for _, tc := range tests {
		got := noTrailWarning(tc.listed, tc.w)
		if len(tc.want) == 0 && got != "" {
			t.Errorf("%s: warned %q", tc.name, got)
		}
		for _, w := range tc.want {
			if !strings.Contains(got, w) {
				t.Errorf("%s: %q lacks %q", tc.name, got, w)
			}
		}
	}
}
