package aws

import (
	"context"
	"strings"
	"testing"

	"gocloud.dev/blob/fileblob"
)

// TestReadLogFileTrailingContent: a log file is one {"Records":[…]} document. Anything after it
// but whitespace (a second document, a stray value, a second gzip member holding records) is an
// error naming the object, never records dropped in silence with the file counted as read; a
// gzip file of several members is read whole.
func TestReadLogFileTrailingContent(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite, CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	members := func(parts ...string) []byte {
		var out []byte
		for _, p := range parts {
			out = append(out, gz(t, p)...)
		}
		return out
	}
	one := `{"Records":[{"eventID":"a"}]}`
	tests := []struct {
		name    string
		body    []byte
		want    int    // records passed on
		wantErr string // "" for none; else a part of the error, which must also name the key
	}{
		{"trailing number", []byte(`{"Records":[]}0`), 0, "after the document"},
		{"second document", []byte(one + `{"Records":[{"eventID":"b"}]}`), 1, "after the document"},
		{"second document after newline", []byte(one + "\n" + `{"Records":[{"eventID":"b"}]}`), 1, "after the document"},
		{"trailing garbage", []byte(one + ` x`), 1, "after the document"},
		{"trailing whitespace", []byte(one + " \n\t\r\n"), 1, ""},
		{"gzip trailing value", gz(t, one+`[]`), 1, "after the document"},
		{"second gzip member with records", members(one, `{"Records":[{"eventID":"b"}]}`), 1, "after the document"},
		{"second gzip member with whitespace", members(one, "\n"), 1, ""},
		{"document split over gzip members", members(`{"Records":[{"eventID":"a"},`, `{"eventID":"b"}]}`), 2, ""},
		{"empty second gzip member", members(one, ""), 1, ""},
	}
	for i, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			key := "AWSLogs/012345678901/CloudTrail/us-east-1/2026/11/02/012345678901_CloudTrail_us-east-1_20261102T0705Z_" + strings.Repeat(string(rune('A'+i)), 16) + ".json.gz"
			if err := b.WriteAll(ctx, key, tc.body, nil); err != nil {
				t.Fatal(err)
			}
			tr := &Trail{Bucket: b}
			got := 0
			n, _, _, err := tr.ReadLogFile(ctx, key, func([]byte) error { got++; return nil })
			if tc.wantErr == "" {
				if err != nil {
					t.Fatalf("err = %v, want none", err)
				}
			} else if err == nil || !strings.Contains(err.Error(), tc.wantErr) || !strings.Contains(err.Error(), key) {
				t.Fatalf("err = %v, want one naming %s and %q", err, key, tc.wantErr)
			}
			if n != tc.want || got != tc.want {
				t.Errorf("n = %d, passed %d, want %d", n, got, tc.want)
			}
		})
	}
}
