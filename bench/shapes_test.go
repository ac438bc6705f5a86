package main

import (
	"strings"
	"testing"
)

func TestParseShapes(t *testing.T) {
	t.Parallel()
	got, err := parseShapes(" demo, busy ,demo", fullSize, false)
	if err != nil {
		t.Fatal(err)
	}
	if len(got) != 2 || got[0].name != "demo" || got[1].name != "busy" {
		t.Fatalf("parseShapes = %+v", got)
	}
	// The demo shape keeps the cache name of the sets generated before shapes existed.
	if n := got[0].size.name(); n != "m8-e8500-d1" {
		t.Errorf("demo name %q, want m8-e8500-d1", n)
	}
	if n := got[1].size.name(); n != "m2-e7500-d1-plarge-dl10-r1" {
		t.Errorf("busy name %q", n)
	}
	cfg := got[1].size.demoConfig().WithDefaults()
	if cfg.Payloads != "large" || cfg.DeliveryMinutes != 10 || strings.Join(cfg.Regions, ",") != "us-east-1" {
		t.Errorf("busy config %+v", cfg)
	}
	if q, _ := parseShapes("busy", fullSize, true); q[0].size != busyQuickSize {
		t.Errorf("-quick busy = %+v", q[0].size)
	}
	for _, bad := range []string{"", "huge", "demo,huge"} {
		if _, err := parseShapes(bad, fullSize, false); err == nil {
			t.Errorf("parseShapes(%q): want an error", bad)
		}
	}
}
