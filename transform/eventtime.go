package transform

import (
	"fmt"
	"time"
)

// EarliestEventTime is the first instant a CloudTrail or Azure activity record can plausibly
// carry: CloudTrail launched in November 2013 (issue 13 sets the bound at 2013). A zero time
// (0001-01-01) or anything older is a forged or broken record.
var EarliestEventTime = time.Date(2013, 1, 1, 0, 0, 0, 0, time.UTC)

// MaxEventLead is how far an event may lie after the delivery of the file holding it: clocks of
// the hosts serving an API endpoint (FORMATS.md §1.3) are not that far off. A record from
// further in the future (year 9999) is broken, and would open a partition of that date.
const MaxEventLead = 24 * time.Hour

// CheckEventTime says whether at, the time of a record in a file delivered at deliveredAt, is
// plausible: not before EarliestEventTime and not more than MaxEventLead after the delivery.
// A zero deliveredAt (not known) checks the lower bound only. The error says why, for the
// caller to name the record: such a record is skipped and counted, never its account's hour.
func CheckEventTime(at, deliveredAt time.Time) error {
	if at.Before(EarliestEventTime) {
		return fmt.Errorf("implausible event time %s: before %s", at.UTC().Format(time.RFC3339), EarliestEventTime.Format("2006-01-02"))
	}
	if !deliveredAt.IsZero() && at.After(deliveredAt.Add(MaxEventLead)) {
		return fmt.Errorf("implausible event time %s: more than %s after its file's delivery at %s", at.UTC().Format(time.RFC3339), MaxEventLead, deliveredAt.UTC().Format(time.RFC3339))
	}
	return nil
}
