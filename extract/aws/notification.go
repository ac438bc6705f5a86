package aws

import (
	"bytes"
	"fmt"
	"net/url"
	"slices"
	"sort"
	"strconv"
	"strings"

	json "github.com/goccy/go-json"
)

// Notification is what one queue message announces.
type Notification struct {
	Bucket  string   // the bucket named (the same for every key; a message naming several buckets is an error)
	Keys    []string // object keys, decoded (S3 event keys are URL-encoded: '+' is a space, %XX escapes), in message order
	Ignored string   // non-empty when the message announces nothing to read, saying what it is, e.g. "s3:TestEvent", "SNS SubscriptionConfirmation"
}

// ParseNotification parses one SQS message body. An error says precisely what is wrong (which field, what was found), truncating quoted input to ~200 bytes.
//
// Accepted bodies, each either as the body itself (SNS raw message delivery on, or no SNS at all)
// or as the Message string of one SNS envelope (raw message delivery off):
//   - CloudTrail's own notification {"s3Bucket":…,"s3ObjectKey":[…]}, keys taken verbatim;
//   - S3 event notifications {"Records":[…]}: ObjectCreated:* records give keys, URL-decoded;
//     other event names are skipped;
//   - the S3 test event {"Service":"Amazon S3","Event":"s3:TestEvent",…}, Ignored;
//   - EventBridge events from aws.s3: "Object Created" gives its key verbatim; other detail
//     types are Ignored.
//
// SNS SubscriptionConfirmation and UnsubscribeConfirmation messages are Ignored.
func ParseNotification(body []byte) (Notification, error) {
	return parseNotification(body, false)
}

// The forms a message body can take, told apart by top-level fields that only one form uses.
const (
	formSNS         = "SNS envelope (Type)"
	formCloudTrail  = "CloudTrail notification (s3Bucket, s3ObjectKey)"
	formS3Event     = "S3 event notification (Records)"
	formS3Test      = "S3 test event (Event)"
	formEventBridge = "EventBridge event (detail-type)"
)

var formMarkers = []struct {
	form   string
	fields []string
}{
	{formSNS, []string{"Type"}},
	{formCloudTrail, []string{"s3Bucket", "s3ObjectKey"}},
	{formS3Event, []string{"Records"}},
	{formS3Test, []string{"Event"}},
	{formEventBridge, []string{"detail-type"}},
}

func parseNotification(body []byte, inSNS bool) (Notification, error) {
	var m map[string]json.RawMessage
	if err := json.Unmarshal(body, &m); err != nil {
		if !json.Valid(body) {
			return Notification{}, fmt.Errorf("not JSON: %s: %w", quoteInput(body), err)
		}
		return Notification{}, fmt.Errorf("not a JSON object: found %s", quoteInput(body))
	}
	if m == nil { // the body was null
		return Notification{}, fmt.Errorf("not a JSON object: found %s", quoteInput(body))
	}

	var forms []string
	for _, fm := range formMarkers {
		for _, f := range fm.fields {
			if _, ok := m[f]; ok {
				forms = append(forms, fm.form)
				break
			}
		}
	}
	switch {
	case len(forms) == 0:
		return Notification{}, fmt.Errorf("not a known notification (SNS envelope, CloudTrail notification, S3 event, S3 test event or EventBridge event): top-level fields found: %s", fieldNames(m))
	case len(forms) > 1:
		return Notification{}, fmt.Errorf("ambiguous notification: has fields of %s; top-level fields found: %s", strings.Join(forms, " and "), fieldNames(m))
	}

	switch forms[0] {
	case formSNS:
		if inSNS {
			return Notification{}, fmt.Errorf("SNS envelope nested inside an SNS envelope's Message")
		}
		return parseSNS(m)
	case formCloudTrail:
		return parseCloudTrail(m)
	case formS3Event:
		return parseS3Event(m)
	case formS3Test:
		return parseS3Test(m)
	default:
		return parseEventBridge(m)
	}
}

// parseSNS unwraps an SNS envelope. Its Message is the published message as a JSON string, so
// the inner notification is JSON encoded inside JSON.
func parseSNS(m map[string]json.RawMessage) (Notification, error) {
	typ, err := stringField(m, "Type")
	if err != nil {
		return Notification{}, fmt.Errorf("SNS envelope: %w", err)
	}
	switch typ {
	case "SubscriptionConfirmation", "UnsubscribeConfirmation":
		return Notification{Ignored: "SNS " + typ}, nil
	case "Notification":
	default:
		return Notification{}, fmt.Errorf("SNS envelope: Type %s is not Notification, SubscriptionConfirmation or UnsubscribeConfirmation", quoteInput([]byte(typ)))
	}
	msg, err := stringField(m, "Message")
	if err != nil {
		return Notification{}, fmt.Errorf("SNS Notification: %w", err)
	}
	if msg == "" {
		return Notification{}, fmt.Errorf("SNS Notification: Message is empty")
	}
	n, err := parseNotification([]byte(msg), true)
	if err != nil {
		return Notification{}, fmt.Errorf("SNS Notification Message: %w", err)
	}
	return n, nil
}

// parseCloudTrail reads CloudTrail's own notification. Its keys are plain object keys: the
// CloudTrail User Guide shows them verbatim and says nothing of URL encoding.
func parseCloudTrail(m map[string]json.RawMessage) (Notification, error) {
	bucket, err := stringField(m, "s3Bucket")
	if err != nil {
		return Notification{}, fmt.Errorf("CloudTrail notification: %w", err)
	}
	if bucket == "" {
		return Notification{}, fmt.Errorf("CloudTrail notification: s3Bucket is empty")
	}
	raw, ok := m["s3ObjectKey"]
	if !ok {
		return Notification{}, fmt.Errorf("CloudTrail notification: s3ObjectKey is missing")
	}
	var items []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &items) != nil {
		return Notification{}, fmt.Errorf("CloudTrail notification: s3ObjectKey is not an array: found %s", quoteInput(raw))
	}
	if len(items) == 0 {
		return Notification{}, fmt.Errorf("CloudTrail notification: s3ObjectKey is an empty array")
	}
	n := Notification{Bucket: bucket, Keys: make([]string, 0, len(items))}
	for i, item := range items {
		key, err := asString(item, fmt.Sprintf("s3ObjectKey[%d]", i))
		if err != nil {
			return Notification{}, fmt.Errorf("CloudTrail notification: %w", err)
		}
		if key == "" {
			return Notification{}, fmt.Errorf("CloudTrail notification: s3ObjectKey[%d] is empty", i)
		}
		n.Keys = append(n.Keys, key)
	}
	return n, nil
}

// s3Record is the part of an S3 event notification record this package reads.
type s3Record struct {
	EventSource string `json:"eventSource"`
	EventName   string `json:"eventName"`
	S3          struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	} `json:"s3"`
}

// parseS3Event reads an S3 event notification. Per the S3 User Guide ("Event message
// structure") the object key "is URL encoded … "red flower.jpg" becomes "red+flower.jpg""
// (form encoding), so keys are decoded with url.QueryUnescape.
func parseS3Event(m map[string]json.RawMessage) (Notification, error) {
	raw := m["Records"]
	var records []json.RawMessage
	if isNull(raw) || json.Unmarshal(raw, &records) != nil {
		return Notification{}, fmt.Errorf("S3 event: Records is not an array: found %s", quoteInput(raw))
	}
	if len(records) == 0 {
		return Notification{}, fmt.Errorf("S3 event: Records is an empty array")
	}
	var n Notification
	var skipped []string
	for i, rawRec := range records {
		var r s3Record
		if err := json.Unmarshal(rawRec, &r); err != nil {
			return Notification{}, fmt.Errorf("S3 event: Records[%d] %s: %w", i, quoteInput(rawRec), err)
		}
		// A CloudTrail log body also has "Records" (eventSource "s3.amazonaws.com"); taking it for
		// an S3 event would skip every record and lose the message quietly.
		if r.EventSource != "aws:s3" {
			return Notification{}, fmt.Errorf("S3 event: Records[%d].eventSource is %s, want \"aws:s3\"", i, quoteInput([]byte(r.EventSource)))
		}
		if r.EventName == "" {
			return Notification{}, fmt.Errorf("S3 event: Records[%d].eventName is missing or empty", i)
		}
		// eventName carries no "s3:" prefix, e.g. "ObjectCreated:Put".
		if !strings.HasPrefix(r.EventName, "ObjectCreated:") {
			if !slices.Contains(skipped, r.EventName) {
				skipped = append(skipped, r.EventName)
			}
			continue
		}
		if r.S3.Bucket.Name == "" {
			return Notification{}, fmt.Errorf("S3 event: Records[%d].s3.bucket.name is missing or empty", i)
		}
		if r.S3.Object.Key == "" {
			return Notification{}, fmt.Errorf("S3 event: Records[%d].s3.object.key is missing or empty", i)
		}
		key, err := url.QueryUnescape(r.S3.Object.Key)
		if err != nil {
			return Notification{}, fmt.Errorf("S3 event: Records[%d].s3.object.key %s: %w", i, quoteInput([]byte(r.S3.Object.Key)), err)
		}
		if err := n.add(r.S3.Bucket.Name, key); err != nil {
			return Notification{}, fmt.Errorf("S3 event: Records[%d]: %w", i, err)
		}
	}
	if len(n.Keys) == 0 {
		return Notification{Ignored: truncateInput("S3 " + strings.Join(skipped, ", "))}, nil
	}
	return n, nil
}

// parseS3Test recognises the test message S3 sends when a notification is configured.
func parseS3Test(m map[string]json.RawMessage) (Notification, error) {
	event, err := stringField(m, "Event")
	if err != nil {
		return Notification{}, fmt.Errorf("S3 test event: %w", err)
	}
	if event != "s3:TestEvent" {
		return Notification{}, fmt.Errorf("S3 test event: Event is %s, want \"s3:TestEvent\"", quoteInput([]byte(event)))
	}
	return Notification{Ignored: event}, nil
}

// eventBridgeEvent is the part of an EventBridge event from S3 this package reads.
type eventBridgeEvent struct {
	DetailType string `json:"detail-type"`
	Source     string `json:"source"`
	Detail     struct {
		Bucket struct {
			Name string `json:"name"`
		} `json:"bucket"`
		Object struct {
			Key string `json:"key"`
		} `json:"object"`
	} `json:"detail"`
}

// parseEventBridge reads an EventBridge event. The S3 User Guide ("EventBridge event message
// structure") documents detail.object.key without any encoding, unlike the S3 event
// notification page, so the key is taken verbatim.
func parseEventBridge(m map[string]json.RawMessage) (Notification, error) {
	var ev eventBridgeEvent
	var err error
	if ev.DetailType, err = stringField(m, "detail-type"); err != nil {
		return Notification{}, fmt.Errorf("EventBridge event: %w", err)
	}
	if ev.Source, err = stringField(m, "source"); err != nil {
		return Notification{}, fmt.Errorf("EventBridge event: %w", err)
	}
	// Events of other services mean a rule routes more than S3 to this queue: say so.
	if ev.Source != "aws.s3" {
		return Notification{}, fmt.Errorf("EventBridge event: source is %s, want \"aws.s3\"", quoteInput([]byte(ev.Source)))
	}
	if ev.DetailType != "Object Created" {
		return Notification{Ignored: truncateInput("EventBridge " + ev.DetailType)}, nil
	}
	raw, ok := m["detail"]
	if !ok || isNull(raw) {
		return Notification{}, fmt.Errorf("EventBridge Object Created: detail is missing")
	}
	if err := json.Unmarshal(raw, &ev.Detail); err != nil {
		return Notification{}, fmt.Errorf("EventBridge Object Created: detail %s: %w", quoteInput(raw), err)
	}
	if ev.Detail.Bucket.Name == "" {
		return Notification{}, fmt.Errorf("EventBridge Object Created: detail.bucket.name is missing or empty")
	}
	if ev.Detail.Object.Key == "" {
		return Notification{}, fmt.Errorf("EventBridge Object Created: detail.object.key is missing or empty")
	}
	return Notification{Bucket: ev.Detail.Bucket.Name, Keys: []string{ev.Detail.Object.Key}}, nil
}

// add appends key, refusing a bucket other than the one already named.
func (n *Notification) add(bucket, key string) error {
	if n.Bucket != "" && n.Bucket != bucket {
		return fmt.Errorf("bucket %s differs from %s named before: one message must name one bucket", quoteInput([]byte(bucket)), quoteInput([]byte(n.Bucket)))
	}
	n.Bucket = bucket
	n.Keys = append(n.Keys, key)
	return nil
}

// stringField returns the string value of field name in m.
func stringField(m map[string]json.RawMessage, name string) (string, error) {
	raw, ok := m[name]
	if !ok {
		return "", fmt.Errorf("%s is missing", name)
	}
	return asString(raw, name)
}

// asString decodes raw as a JSON string; what names it in the error.
func asString(raw json.RawMessage, what string) (string, error) {
	var s string
	if isNull(raw) || json.Unmarshal(raw, &s) != nil {
		return "", fmt.Errorf("%s is not a string: found %s", what, quoteInput(raw))
	}
	return s, nil
}

// isNull reports whether raw is JSON null, which decodes into a Go value without error.
func isNull(raw json.RawMessage) bool {
	return bytes.Equal(bytes.TrimSpace(raw), []byte("null"))
}

// quoteLimit bounds how much of the input an error or Ignored text repeats.
const quoteLimit = 200

// quoteInput returns b as a Go-quoted string, cut to quoteLimit bytes.
func quoteInput(b []byte) string {
	if len(b) <= quoteLimit {
		return strconv.Quote(string(b))
	}
	return strconv.Quote(string(b[:quoteLimit])) + "…"
}

// truncateInput cuts s to quoteLimit bytes.
func truncateInput(s string) string {
	if len(s) <= quoteLimit {
		return s
	}
	return s[:quoteLimit] + "…"
}

// fieldNames lists m's keys, sorted and quoted, cut to quoteLimit bytes.
func fieldNames(m map[string]json.RawMessage) string {
	if len(m) == 0 {
		return "none (empty object)"
	}
	names := make([]string, 0, len(m))
	for k := range m {
		names = append(names, strconv.Quote(k))
	}
	sort.Strings(names)
	return truncateInput(strings.Join(names, ", "))
}
