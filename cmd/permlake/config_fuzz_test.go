package main

import (
	"bytes"
	"testing"
)

// FuzzConfig: any YAML either loads into a Config that validates and holds no URL missing its
// "//", or is an error; never a panic. The seed corpus (testdata/fuzz/FuzzConfig) holds the
// configurations in the repository: the Kubernetes example, the demo's, the README's keys.
func FuzzConfig(f *testing.F) {
	f.Add([]byte("lake: file:///tmp/lake\nlookback_days: 30\naws:\n  trail:\n    url: file:///tmp/trail\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		v := newViper()
		v.SetConfigType("yaml")
		if err := v.ReadConfig(bytes.NewReader(data)); err != nil {
			return
		}
		c, err := decodeConfig(v, "")
		if err != nil {
			return
		}
		if err := c.validate(); err != nil {
			t.Fatalf("accepted, then invalid: %v", err)
		}
		if err := checkURLs(c); err != nil {
			t.Fatalf("accepted a bad URL: %v", err)
		}
		if c.LookbackDays <= 0 || c.Concurrency <= 0 || c.LateMargin < 0 {
			t.Fatalf("accepted %+v", c)
		}
	})
}
