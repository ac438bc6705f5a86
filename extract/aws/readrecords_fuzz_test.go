package aws

import (
	"bytes"
	"strings"
	"testing"

	json "github.com/goccy/go-json"
)

// FuzzReadRecordsMatchesDecoder: the hand-written record splitter accepts exactly the log bodies
// a JSON decoder accepts as {"Records":[…]} and yields the same record bytes. A body naming
// "Records" twice is left out: the decoder keeps the last array, the splitter streams both.
func FuzzReadRecordsMatchesDecoder(f *testing.F) {
	for _, s := range []string{
		`{"Records":[]}`,
		`{"Records":[{"eventID":"a","x":[1,{"y":"\"}"}]},{"eventID":"b"}]}`,
		`{"Other":{"a":[1,2]},"Records":[{"eventID":"\u00e9"}],"More":null}`,
		` { "Records" : [ { } , { "k" : 1.5e-3 } ] } `,
		`{"Records":[{"eventID":"a"},]}`,
		`{"Records":[{"eventID":"a"}]`,
		`{"Records":{}}`,
		`[]`, ``, `{}`, `{"Records":[1,"x",null,true]}`,
	} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, body []byte) {
		if strings.Count(strings.ToLower(string(body)), "records") > 1 {
			return
		}
		var got [][]byte
		_, gerr := ReadRecords(bytes.NewReader(body), func(raw []byte) error {
			got = append(got, bytes.Clone(raw))
			return nil
		})
		var ref struct {
			Records *[]json.RawMessage `json:"Records"`
		}
		rerr := json.Unmarshal(body, &ref)
		if rerr == nil && ref.Records == nil {
			return // no Records key: the splitter's own error ("no Records"), not the decoder's
		}
		if (gerr != nil) != (rerr != nil) {
			t.Fatalf("%q: splitter error %v, decoder error %v", body, gerr, rerr)
		}
		if gerr != nil {
			return
		}
		if len(got) != len(*ref.Records) {
			t.Fatalf("%q: %d records, decoder %d", body, len(got), len(*ref.Records))
		}
		for i, r := range *ref.Records {
			if !bytes.Equal(bytes.TrimSpace(got[i]), bytes.TrimSpace(r)) {
				t.Fatalf("%q: record %d = %q, decoder %q", body, i, got[i], r)
			}
		}
	})
}
