package main

import (
	"fmt"
	"strings"
	"time"

	"github.com/permlake/permlake/extract/aws"
)

// trailDeliveryDelay is how long after the end of an hour CloudTrail may still deliver files
// holding its events: "typically within an average of about 5 minutes", and files are written
// at least every 15 (https://docs.aws.amazon.com/awscloudtrail/latest/userguide/how-cloudtrail-works.html).
const trailDeliveryDelay = 15 * time.Minute

// maxWarnedHours is how many missing hours a warning names; it counts them all.
const maxWarnedHours = 5

// noTrailWarning says which hours of w no listed CloudTrail file covers, or "" when each has
// one. A file named with delivery time t holds events of the minutes before t, so hour h is
// covered by a file delivered in [h, h+1h+trailDeliveryDelay). Every live account has AWS
// management activity each hour (its services' own calls), so an hour without any file means
// the trail does not log the account (not in the organization trail, a wrong prefix or
// organization ID, a trail stopped): its activity is missing, not absent.
//
// listed is every file the listing of the account returned for the window, including those
// already ingested.
func noTrailWarning(listed []aws.LogFile, w window) string {
	if w.From.IsZero() || w.To.Before(w.From) {
		return ""
	}
	var missing []string
	hours := 0
	for h := w.From.UTC().Truncate(time.Hour); !h.After(w.To); h = h.Add(time.Hour) {
		hours++
		if !covered(listed, h) {
			missing = append(missing, h.Format("2006-01-02T15"))
		}
	}
	if len(missing) == 0 {
		return ""
	}
	shown := missing
	if len(shown) > maxWarnedHours {
		shown = append(shown[:maxWarnedHours:maxWarnedHours], "…")
	}
	return fmt.Sprintf("no CloudTrail file for %d of %d hours the trail should cover (%s): is the account logged by the configured trail (prefix, organization ID)?",
		len(missing), hours, strings.Join(shown, ", "))
}

func covered(listed []aws.LogFile, h time.Time) bool {
	end := h.Add(time.Hour + trailDeliveryDelay)
	for _, f := range listed {
		if t := f.DeliveredAt; !t.Before(h) && t.Before(end) {
			return true
		}
	}
	return false
}
