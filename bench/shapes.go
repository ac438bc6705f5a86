package main

import (
	"fmt"
	"io"
	"slices"
	"strings"

	"github.com/permlake/permlake/extract/demo"
)

// Shapes of trail the comparison runs on (issue 18): the advantage over DuckDB depends on the
// shape of the input — bytes per record, records per file, how nested the payloads are — so the
// bench measures more than one.
//
//   - demo: the demo generator as the first runs and the end-to-end tests use it (~1.06 KB per
//     record, ~315 records per file, two regions, 5-minute delivery), at the size of -members,
//     -events-per-hour and -days.
//   - busy: busy accounts delivering big files — one region, a file every 10 minutes, ≥1,000
//     records per file, large nested payloads (RunInstances' instancesSet, CreatePolicy and
//     PutRolePolicy documents, S3 object data events; demo.PayloadsLarge), ≥1.4 KB per record.
//     2 member accounts (4 in all) × 24 hours: small enough for every `make bench`.
//   - busy-big: the same shape at 8 member accounts (10 in all), ~2.5× the records of the
//     default demo set; for a longer run (`-shapes demo,busy-big`).
var shapeNames = []string{"demo", "busy", "busy-big"}

var (
	busySize      = size{members: 2, eventsPerHour: 7500, days: 1, payloads: demo.PayloadsLarge, deliveryMinutes: 10, regions: 1}
	busyQuickSize = size{members: 2, eventsPerHour: 2400, days: 1, payloads: demo.PayloadsLarge, deliveryMinutes: 30, regions: 1}
	busyBigSize   = size{members: 8, eventsPerHour: 7500, days: 1, payloads: demo.PayloadsLarge, deliveryMinutes: 10, regions: 1}
)

// benchRegions are the regions of a shape with size.regions set, in order.
var benchRegions = []string{"us-east-1", "eu-west-1", "us-west-2", "ap-southeast-2"}

// shape is a named dataset of the comparison.
type shape struct {
	name string
	size size
}

// parseShapes resolves -shapes: demo takes the demo size chosen by the other flags (demoSize),
// the busy shapes their own (the quick variant of busy with -quick).
func parseShapes(list string, demoSize size, quick bool) ([]shape, error) {
	var out []shape
	for _, n := range strings.Split(list, ",") {
		n = strings.TrimSpace(n)
		var s size
		switch n {
		case "":
			continue
		case "demo":
			s = demoSize
		case "busy":
			s = busySize
			if quick {
				s = busyQuickSize
			}
		case "busy-big":
			s = busyBigSize
		default:
			return nil, fmt.Errorf("-shapes: unknown shape %q (known: %s)", n, strings.Join(shapeNames, ", "))
		}
		if slices.ContainsFunc(out, func(x shape) bool { return x.name == n }) {
			continue
		}
		out = append(out, shape{name: n, size: s})
	}
	if len(out) == 0 {
		return nil, fmt.Errorf("-shapes names no shape (known: %s)", strings.Join(shapeNames, ", "))
	}
	return out, nil
}

// demoConfig is the generator's configuration of a size.
func (s size) demoConfig() demo.Config {
	cfg := demo.Config{MemberAccounts: s.members, EventsPerHour: s.eventsPerHour, Days: s.days, Payloads: s.payloads, DeliveryMinutes: s.deliveryMinutes}
	if s.regions > 0 {
		cfg.Regions = benchRegions[:min(s.regions, len(benchRegions))]
	}
	return cfg
}

// shapeText describes a size's generator knobs beyond the three of its name.
func (s size) shapeText() string {
	cfg := s.demoConfig().WithDefaults()
	return fmt.Sprintf("payloads %s, regions %s, a file every %d minutes per account and region", cfg.Payloads, strings.Join(cfg.Regions, " "), cfg.DeliveryMinutes)
}

// shapeResult is what the comparison found on one shape.
type shapeResult struct {
	shape shape
	ds    *dataset
	sum   summary
	same  bool
}

// figures is the dataset's shape in one line: records, files, bytes, bytes per record.
func (d *dataset) figures() string {
	return fmt.Sprintf("%d records in %d files (%.0f records per file), %.1f MB JSON (%.0f bytes per record), %.1f MB gzipped, %d accounts",
		d.Org.Events, d.Files, float64(d.Org.Events)/float64(max(d.Files, 1)), mb(d.JSONBytes), float64(d.JSONBytes)/float64(max(d.Org.Events, 1)),
		mb(d.GzipBytes), len(d.Org.Accounts))
}

// shapesText is the table of every shape's figures and verdict, printed after the comparisons.
func shapesText(rs []shapeResult) string {
	var b strings.Builder
	fmt.Fprintf(&b, "\n%-9s %10s %6s %8s %11s %9s %9s %13s %12s %5s\n", "shape", "records", "files", "rec/file", "JSON MB", "B/record", "ratio", "permlake MiB", "duckdb MiB", "rows")
	for _, r := range rs {
		same := "same"
		if !r.same {
			same = "DIFF"
		}
		fmt.Fprintf(&b, "%-9s %10d %6d %8.0f %11.1f %9.0f %8.2f× %13.0f %12.0f %5s\n", r.shape.name, r.ds.Org.Events, r.ds.Files,
			float64(r.ds.Org.Events)/float64(max(r.ds.Files, 1)), mb(r.ds.JSONBytes), float64(r.ds.JSONBytes)/float64(max(r.ds.Org.Events, 1)),
			r.sum.ratio, mib(r.sum.peakRSS["permlake"]), mib(r.sum.peakRSS["duckdb"]), same)
	}
	b.WriteString("ratio: median over the repetitions' pairs of permlake/DuckDB events/s; MiB: peak RSS, the largest of the repetitions\n")
	return b.String()
}

func printShapes(w io.Writer, rs []shapeResult) {
	if len(rs) > 0 {
		fmt.Fprint(w, shapesText(rs))
	}
}
