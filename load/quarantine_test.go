package load

import (
	"context"
	"strings"
	"testing"
	"time"
)

// TestQuarantineAndAcknowledge: only objects whose latest record failed MaxAttempts reads are
// quarantined; an acknowledgement becomes their latest record even when the acknowledging
// machine's clock is behind the run that quarantined them; objects not quarantined are refused.
func TestQuarantineAndAcknowledge(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	l := openLake(t, t.TempDir())
	day := hour.Truncate(24 * time.Hour)
	later := hour.Add(48 * time.Hour) // the quarantining run's clock, ahead of the acknowledger's
	obj := func(key, errText string, attempts int, at time.Time) SourceObject {
		return SourceObject{Source: "aws_cloudtrail", AccountID: "012345678901", Key: key, ETag: "e1", DeliveredAt: hour,
			Error: errText, Attempts: attempts, RunID: "r1", IngestedAt: at}
	}
	if err := l.RecordIngested(ctx, "r1", []SourceObject{
		obj("a.json.gz", "empty object", 1, later),
		obj("b.json.gz", "empty object", MaxAttempts, later),
		obj("c.json.gz", "", 0, later),
		obj("d.json.gz", "truncated", MaxAttempts, later.Add(-time.Hour)),
	}); err != nil {
		t.Fatal(err)
	}
	// d was read successfully after it was quarantined (it changed): no longer quarantined.
	if err := l.RecordIngested(ctx, "r2", []SourceObject{obj("d.json.gz", "", 0, later)}); err != nil {
		t.Fatal(err)
	}
	q, err := l.Quarantined(ctx, day, day)
	if err != nil {
		t.Fatal(err)
	}
	if len(q) != 1 || q[0].Key != "b.json.gz" || q[0].Acknowledged != nil {
		t.Fatalf("quarantined = %+v, want b.json.gz only", q)
	}
	if err := l.Acknowledge(ctx, "ack-1", []SourceObject{obj("c.json.gz", "", 0, later)}, Acknowledgement{At: hour}); err == nil || !strings.Contains(err.Error(), "c.json.gz") {
		t.Errorf("acknowledging an object that is not quarantined: %v", err)
	}
	if err := l.Acknowledge(ctx, "ack-1", q, Acknowledgement{At: hour, By: "ops", Note: "lost upstream"}); err != nil {
		t.Fatal(err)
	}
	got, err := l.Ingested(ctx, "aws_cloudtrail", "012345678901", day)
	if err != nil {
		t.Fatal(err)
	}
	b := got["b.json.gz"]
	if b.Acknowledged == nil || b.Acknowledged.Note != "lost upstream" || !b.IsQuarantined() || !b.IngestedAt.After(later) {
		t.Errorf("b's latest record = %+v, want the acknowledgement after the quarantining run", b)
	}
	if q, _ := l.Quarantined(ctx, day, day); len(q) != 1 || q[0].Acknowledged == nil {
		t.Errorf("after the acknowledgement: %+v, want b listed as acknowledged", q)
	}
}
