package laketest_test

import (
	"context"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/load/laketest"
)

// TestFileLake runs the conformance suite on a local-directory lake (fileblob).
func TestFileLake(t *testing.T) {
	open := func(t *testing.T, url string) *load.Lake {
		l, err := load.Open(context.Background(), url)
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
		return l
	}
	laketest.Run(t, laketest.Backend{
		New:   func(t *testing.T) *load.Lake { return open(t, "file://"+t.TempDir()) },
		Again: func(t *testing.T, l *load.Lake) *load.Lake { return open(t, l.URL()) },
	})
}
