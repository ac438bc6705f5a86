package laketest_test

import (
	"context"
	"testing"

	"github.com/permlake/permlake/load"
	"github.com/permlake/permlake/load/laketest"
)

// TestFileLake runs the conformance suite on a local-directory lake (fileblob).
func TestFileLake(t *testing.T) {
	laketest.Run(t, func(t *testing.T) *load.Lake {
		l, err := load.Open(context.Background(), "file://"+t.TempDir())
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() {
			if err := l.Close(); err != nil {
				t.Error(err)
			}
		})
		return l
	})
}
