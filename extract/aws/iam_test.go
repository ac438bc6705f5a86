package aws

import (
	"context"
	"strings"
	"testing"

	"gocloud.dev/blob/fileblob"
)

func TestSnapshotFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	for key, body := range map[string]string{
		"iam/012345678901/gaad-0002.json":        `{"page":2}`,
		"iam/012345678901/gaad-0001.json":        `{"page":1}`,
		"iam/012345678901/credential-report.csv": "user,arn\n",
		"iam/012345678901/notes.txt":             "ignored",
		"iam/111111111111/gaad-0001.json":        `{"page":1}`,
	} {
		if err := b.WriteAll(ctx, key, []byte(body), nil); err != nil {
			t.Fatal(err)
		}
	}
	src := &SnapshotFiles{Bucket: b, Prefix: "iam"}
	s, err := src.Snapshot(ctx, "012345678901")
	if err != nil {
		t.Fatal(err)
	}
	if len(s.GAADPages) != 2 || string(s.GAADPages[0]) != `{"page":1}` || string(s.GAADPages[1]) != `{"page":2}` {
		t.Errorf("pages out of order or missing: %q", s.GAADPages)
	}
	if string(s.CredentialReport) != "user,arn\n" || s.SourceKey != "iam/012345678901/" {
		t.Errorf("snapshot = %+v", s)
	}
	s, err = src.Snapshot(ctx, "111111111111")
	if err != nil || s.CredentialReport != nil {
		t.Errorf("account without a credential report: %v, %v", s, err)
	}
	if _, err := src.Snapshot(ctx, "222222222222"); err == nil || !strings.Contains(err.Error(), "222222222222") {
		t.Errorf("account without pages: err = %v, want one naming the account", err)
	}
	if _, err := src.Snapshot(ctx, "../../etc"); err == nil {
		t.Error("path-like account ID accepted")
	}
}
