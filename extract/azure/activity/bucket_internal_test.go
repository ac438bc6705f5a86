package activity

import (
	"testing"
	"time"

	"gocloud.dev/blob"
)

func TestBucketBlob(t *testing.T) {
	t.Parallel()
	mod := time.Date(2026, 11, 22, 7, 59, 0, 5, time.FixedZone("CET", 3600))
	created := mod.Add(-time.Hour)
	b := bucketBlob("n", &blob.Attributes{Size: 300, ModTime: mod, CreateTime: created, ETag: `W/"0x8DC"`})
	if b.ETag != "0x8DC" || b.Size != 300 || !b.Append || !b.CreatedAt.Equal(created) || b.CreatedAt.Location() != time.UTC || !b.LastModified.Equal(mod) {
		t.Errorf("blob = %+v", b)
	}
	// A driver without ETags: size and modification time are the version.
	b = bucketBlob("n", &blob.Attributes{Size: 300, ModTime: mod})
	if b.ETag != "18ea4bcbc40a0805-12c" || !b.CreatedAt.IsZero() {
		t.Errorf("blob = %+v", b)
	}
	if b2 := bucketBlob("n", &blob.Attributes{Size: 301, ModTime: mod}); b2.ETag == b.ETag {
		t.Errorf("size not in the version %q", b2.ETag)
	}
}
