package transform

import (
	"hash/maphash"
	"time"

	"github.com/permlake/permlake/schemas"
)

// contentSeed seeds CloudTrailContentHash: hashes are compared within one process only.
var contentSeed = maphash.MakeSeed()

// CloudTrailContentHash hashes what a CloudTrail record said: every field taken from the record,
// not those derived from it (principal, IAM actions, mapping: a new version of the mapping must
// not make a re-delivery look different) nor the lineage (run, source object). Two rows with one
// eventID and different hashes are a conflicting duplicate (load.MergeWriter.SetContent).
func CloudTrailContentHash(e *schemas.CloudTrailEvent) uint64 {
	var h maphash.Hash
	h.SetSeed(contentSeed)
	str := func(s string) {
		h.WriteString(s)
		h.WriteByte(0)
	}
	opt := func(s *string) {
		if s == nil {
			h.WriteByte(1)
			return
		}
		h.WriteByte(2)
		str(*s)
	}
	optBool := func(b *bool) {
		switch {
		case b == nil:
			h.WriteByte(1)
		case *b:
			h.WriteByte(2)
		default:
			h.WriteByte(3)
		}
	}
	str(e.EventID)
	str(e.EventTime.UTC().Format(time.RFC3339Nano))
	str(e.EventVersion)
	str(e.EventSource)
	str(e.EventName)
	str(e.EventType)
	opt(e.EventCategory)
	str(e.AWSRegion)
	opt(e.SourceIPAddress)
	opt(e.UserAgent)
	opt(e.ErrorCode)
	opt(e.ErrorMessage)
	optBool(e.IsReadOnly)
	optBool(e.IsManagementEvent)
	str(e.RecipientAccountID)
	opt(e.SharedEventID)
	opt(e.RequestID)
	opt(e.VPCEndpointID)
	str(e.UserIdentityType)
	opt(e.UserIdentityARN)
	opt(e.UserIdentityAccountID)
	opt(e.UserIdentityPrincipalID)
	opt(e.AccessKeyID)
	opt(e.InvokedBy)
	opt(e.SessionName)
	opt(e.SourceIdentity)
	optBool(e.IsMFAAuthenticated)
	opt(e.RequestParameters)
	opt(e.ResponseElements)
	opt(e.AdditionalEventData)
	opt(e.Resources)
	return h.Sum64()
}
