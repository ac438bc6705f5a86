package transform

import (
	"os"
	"reflect"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

// referenceRecords are the records the decoders are compared on: the real-shaped trail fixture
// and edge cases of the JSON grammar and of CloudTrail's shapes.
func referenceRecords(t testing.TB) [][]byte {
	t.Helper()
	b, err := os.ReadFile("../testdata/cloudtrail/123456789012_CloudTrail_us-east-1_20260327T1745Z_EXAMPLEsample0001.json")
	if err != nil {
		t.Fatal(err)
	}
	var file struct {
		Records []json.RawMessage `json:"Records"`
	}
	if err := json.Unmarshal(b, &file); err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, r := range file.Records {
		out = append(out, r)
	}
	for _, s := range []string{
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"AssumedRole","arn":"arn:aws:sts::111111111111:assumed-role/r/s"}}`,
		`{"EVENTID":"upper","eventTime":"2026-11-02T07:15:00Z","EventSource":"iam.amazonaws.com","eventName":"ListRoles","userIdentity":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/a"}}`,
		`{"eventID":"dup","eventID":"later","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"GetObject"}`,
		`{"eventID":"esc\u00e9\"\\\/\b\f\n\r\t","eventTime":"2026-11-02T07:15:00.123Z","eventSource":"ec2.amazonaws.com","eventName":"RunInstances","errorCode":"Client.UnauthorizedOperation","userAgent":"a\ud83d\ude00b"}`,
		`{"eventID":"lone","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userAgent":"\ud800x"}`,
		`{"eventID":"n","eventTime":"2026-11-02T07:15:00Z","eventSource":"sts.amazonaws.com","eventName":"AssumeRole","readOnly":null,"requestParameters":null,"responseElements":{"a":[1,2.5e3,-0,true,false,null,{"b":"c"}]},"resources":[{"ARN":"x"}]}`,
		`{"eventID":"types","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","managementEvent":"true","readOnly":"false"}`,
		`{"eventID":1,"eventTime":"2026-11-02T07:15:00Z"}`,
		`{"eventID":"e","eventTime":"not a time"}`,
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z",}`,
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z"} trailing`,
		`{"eventID":"e"`,
		`[]`, `null`, `"x"`, ``, `{}`,
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"signin.amazonaws.com","eventName":"ConsoleLogin","userIdentity":{"type":"Root","arn":"arn:aws:iam::111111111111:root","accountId":"111111111111"}}`,
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"lambda.amazonaws.com","eventName":"GetFunction20150331v2","userIdentity":{"type":"FederatedUser","sessionContext":{"sessionIssuer":{"type":"IAMUser","arn":"arn:aws:iam::111111111111:user/fed"}}}}`,
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"dynamodb.amazonaws.com","eventName":"ExecuteStatement","requestParameters":{"statement":"SELECT * FROM t"}}`,
		`{"eventID":"e","eventTime":"2026-11-02T07:15:00Z","eventSource":"s3.amazonaws.com","eventName":"ListBuckets","userIdentity":{"type":"AWSService","invokedBy":"ec2.amazonaws.com"}}`,
		"{\"eventID\":\"bad-utf8-\xff\",\"eventTime\":\"2026-11-02T07:15:00Z\",\"eventSource\":\"s3.amazonaws.com\",\"eventName\":\"ListBuckets\"}",
	} {
		out = append(out, []byte(s))
	}
	return out
}

// sameDecode fails t when the decoder and the reference disagree on raw: both error, or both give
// the same row.
func sameDecode(t testing.TB, raw []byte) {
	t.Helper()
	lin := Lineage{RunID: "r", SourceKey: "k"}
	got, gerr := CloudTrailEvent(raw, lin)
	want, werr := refCloudTrailEvent(raw, lin)
	if (gerr != nil) != (werr != nil) {
		t.Fatalf("%q: decoder error %v, reference error %v", raw, gerr, werr)
	}
	if gerr == nil && !reflect.DeepEqual(got, want) {
		t.Fatalf("%q:\ndecoder   %+v\nreference %+v", raw, got, want)
	}
}

// TestDecoderMatchesReference: the purpose-built decoder gives the rows (and the errors) the
// goccy/go-json decoder it replaced gave, on real-shaped records and the grammar's edge cases.
func TestDecoderMatchesReference(t *testing.T) {
	t.Parallel()
	recs := referenceRecords(t)
	if len(recs) < 40 {
		t.Fatalf("%d records", len(recs))
	}
	for _, r := range recs {
		sameDecode(t, r)
	}
	// Every record cut at every byte: both decoders must refuse the same prefixes.
	for _, r := range recs[:5] {
		for i := range len(r) {
			sameDecode(t, r[:i])
		}
	}
	if strings.Contains(string(recs[0]), "eventID") == false {
		t.Fatal("fixture without eventID")
	}
}

// FuzzDecoderMatchesReference compares the decoder with the reference on any input.
func FuzzDecoderMatchesReference(f *testing.F) {
	for _, r := range referenceRecords(f) {
		f.Add(r)
	}
	f.Fuzz(func(t *testing.T, raw []byte) { sameDecode(t, raw) })
}
