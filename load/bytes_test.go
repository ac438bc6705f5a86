package load

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/permlake/permlake/schemas"
)

// TestStatsBytesAreTheObjectSize: a merge that copies the old row groups reports the size of the
// object it published, copied bytes included.
func TestStatsBytesAreTheObjectSize(t *testing.T) {
	ctx := context.Background()
	l := openLake(t, t.TempDir())
	old := RowGroupRows
	RowGroupRows = 5000
	t.Cleanup(func() { RowGroupRows = old })
	p := Partition{ID: "012345678901", Hour: hour}
	key := func(e *schemas.CloudTrailEvent) string { return e.EventID }
	var st PartitionStats
	for round := range 3 {
		w, err := NewMergeWriter(ctx, l, schemas.CloudTrailEvents, p, key)
		if err != nil {
			t.Fatal(err)
		}
		var rows []schemas.CloudTrailEvent
		for i := range 20000 {
			payload := fmt.Sprintf(`{"bucketName":"b-%d-%d","key":"%x"}`, round, i, i*7919)
			rows = append(rows, schemas.CloudTrailEvent{EventID: fmt.Sprintf("r%d-%06d", round, i), EventTime: hour.Add(time.Duration(i) * time.Millisecond),
				IAMActions: []string{}, RequestParameters: &payload})
		}
		if _, err := w.Write(rows); err != nil {
			t.Fatal(err)
		}
		if st, err = w.Commit(); err != nil {
			t.Fatal(err)
		}
	}
	attrs, err := l.Bucket().Attributes(ctx, p.dataKey(schemas.CloudTrailEvents.Name))
	if err != nil {
		t.Fatal(err)
	}
	if st.RowsAfter != 60000 || st.Bytes != attrs.Size {
		t.Errorf("stats: %d rows, %d bytes; the object holds %d bytes", st.RowsAfter, st.Bytes, attrs.Size)
	}
}
