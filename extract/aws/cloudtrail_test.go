package aws

import (
	"bytes"
	"context"
	"strings"
	"testing"
	"time"

	"github.com/klauspost/compress/gzip"
	"gocloud.dev/blob/fileblob"
)

func gz(t *testing.T, s string) []byte {
	t.Helper()
	var b bytes.Buffer
	w := gzip.NewWriter(&b)
	if _, err := w.Write([]byte(s)); err != nil {
		t.Fatal(err)
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	return b.Bytes()
}

func TestReadRecords(t *testing.T) {
	t.Parallel()
	body := `{"Records":[{"eventID":"a"},{"eventID":"b","x":[1,{"y":2}]}],"extra":{"k":1}}`
	full := gz(t, body)
	tests := []struct {
		name    string
		in      []byte
		want    int
		wantErr string
	}{
		{"gzip", full, 2, ""},
		{"already inflated", []byte(body), 2, ""},
		{"other key first", []byte(`{"note":"x","Records":[{"eventID":"a"}]}`), 1, ""},
		{"no records in file", []byte(`{"Records":[]}`), 0, ""},
		{"empty object", nil, 0, "empty object"},
		{"truncated gzip", full[:len(full)-10], 2, "after 2 records"},
		{"truncated json", []byte(`{"Records":[{"eventID":"a"},{"event`), 1, "record 2"},
		{"not json", []byte("hello"), 0, "not a CloudTrail log"},
		{"array body", []byte(`[{"eventID":"a"}]`), 0, "not a CloudTrail log"},
		{"no Records key", []byte(`{"records":[]}`), 0, `no "Records"`},
		{"Records not array", []byte(`{"Records":{}}`), 0, "not an array"},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			var ids []string
			n, err := ReadRecords(bytes.NewReader(tc.in), func(raw []byte) error {
				ids = append(ids, string(raw))
				return nil
			})
			if tc.wantErr == "" && err != nil || tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)) {
				t.Fatalf("err = %v, want %q", err, tc.wantErr)
			}
			if tc.wantErr == "" && n != tc.want || len(ids) != n {
				t.Errorf("n = %d, records = %d, want %d", n, len(ids), tc.want)
			}
		})
	}
}

func TestListLogFiles(t *testing.T) {
	t.Parallel()
	ctx := context.Background()
	b, err := fileblob.OpenBucket(t.TempDir(), &fileblob.Options{Metadata: fileblob.MetadataDontWrite, CreateDir: true})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	put := func(key string) {
		if err := b.WriteAll(ctx, key, gz(t, `{"Records":[]}`), nil); err != nil {
			t.Fatal(err)
		}
	}
	base := "org/AWSLogs/o-abcdefghij/012345678901/CloudTrail/"
	put(base + "us-east-1/2026/11/02/012345678901_CloudTrail_us-east-1_20261102T0705Z_AAAAAAAAAAAAAAAA.json.gz")
	put(base + "us-east-1/2026/11/02/012345678901_CloudTrail_us-east-1_20261102T0655Z_BBBBBBBBBBBBBBBB.json.gz")
	put(base + "eu-west-1/2026/11/03/012345678901_CloudTrail_eu-west-1_20261103T0003Z_CCCCCCCCCCCCCCCC.json.gz")
	put(base + "us-east-1/2026/11/03/012345678901_CloudTrail_us-east-1_20261103T0200Z_DDDDDDDDDDDDDDDD.json.gz") // after the window
	put(base + "us-east-1/2026/11/02/notes.txt")
	put("org/AWSLogs/o-abcdefghij/012345678901/CloudTrail-Digest/us-east-1/2026/11/02/012345678901_CloudTrail-Digest_us-east-1_trail_us-east-1_20261102T0705Z.json.gz")
	put("org/AWSLogs/o-abcdefghij/111111111111/CloudTrail/us-east-1/2026/11/02/111111111111_CloudTrail_us-east-1_20261102T0705Z_EEEEEEEEEEEEEEEE.json.gz")

	tr := &Trail{Bucket: b, Prefix: "org/", OrganizationID: "o-abcdefghij"}
	files, err := tr.ListLogFiles(ctx, "012345678901", time.Date(2026, 11, 2, 6, 0, 0, 0, time.UTC), time.Date(2026, 11, 3, 1, 0, 0, 0, time.UTC))
	if err != nil {
		t.Fatal(err)
	}
	var got []string
	for _, f := range files {
		got = append(got, f.Region+" "+f.DeliveredAt.Format("0102T1504"))
		if f.Size == 0 || f.Version == "" {
			t.Errorf("%s: size %d version %q", f.Key, f.Size, f.Version)
		}
	}
	want := "us-east-1 1102T0655,us-east-1 1102T0705,eu-west-1 1103T0003"
	if strings.Join(got, ",") != want {
		t.Errorf("files = %s\nwant %s", strings.Join(got, ","), want)
	}
	var n int
	if _, _, _, err := tr.ReadLogFile(ctx, files[0].Key, func([]byte) error { n++; return nil }); err != nil {
		t.Fatal(err)
	}
	if _, _, _, err := tr.ReadLogFile(ctx, "missing.json.gz", func([]byte) error { return nil }); err == nil || !strings.Contains(err.Error(), "missing.json.gz") {
		t.Errorf("missing object: err = %v, want one naming the key", err)
	}

	tr.Regions = []string{"eu-west-1"}
	files, err = tr.ListLogFiles(ctx, "012345678901", time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC), time.Date(2026, 11, 4, 0, 0, 0, 0, time.UTC))
	if err != nil || len(files) != 1 {
		t.Errorf("regions filter: %v %v", files, err)
	}
	if _, err := tr.ListLogFiles(ctx, "12345", time.Time{}, time.Time{}); err == nil {
		t.Error("short account ID accepted")
	}
	bad := &Trail{Bucket: b, OrganizationID: "org-1"}
	if _, err := bad.ListLogFiles(ctx, "012345678901", time.Time{}, time.Time{}); err == nil {
		t.Error("bad organization ID accepted")
	}
}

// FuzzReadRecords: whatever the bytes, ReadRecords returns an error or a count equal to the records
// it handed over, and never panics.
func FuzzReadRecords(f *testing.F) {
	f.Add([]byte(`{"Records":[{"eventID":"a"}]}`))
	f.Add([]byte(`{"Records":[],"x":1}`))
	f.Add([]byte{0x1f, 0x8b, 0x08, 0x00})
	f.Add([]byte(`{"Records":[{"eventID":`))
	f.Fuzz(func(t *testing.T, in []byte) {
		calls := 0
		n, err := ReadRecords(bytes.NewReader(in), func([]byte) error { calls++; return nil })
		if err == nil && n != calls {
			t.Fatalf("n = %d, calls = %d", n, calls)
		}
	})
}

func TestHopValidate(t *testing.T) {
	t.Parallel()
	for _, tc := range []struct {
		hop Hop
		ok  bool
	}{
		{Hop{RoleARN: "arn:aws:iam::012345678901:role/permlake-reader"}, true},
		{Hop{RoleARN: "arn:aws-us-gov:iam::012345678901:role/path/reader", Duration: time.Hour}, true},
		{Hop{RoleARN: "arn:aws:iam::12345:role/x"}, false},
		{Hop{RoleARN: "arn:aws:iam::012345678901:user/x"}, false},
		{Hop{RoleARN: "arn:aws:iam::012345678901:role/x", Duration: time.Minute}, false},
	} {
		if err := tc.hop.Validate(); (err == nil) != tc.ok {
			t.Errorf("%+v: err = %v", tc.hop, err)
		}
	}
}
