package awstest

import (
	"encoding/base64"
	"encoding/json"
	"encoding/xml"
	"fmt"
	"net/http"
	"net/http/httptest"
	"sort"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"
)

// IAMServer answers the IAM query API (form-encoded POST, XML responses as IAM sends them) for
// GetAccountAuthorizationDetails (paged with IsTruncated/Marker), GenerateCredentialReport and
// GetCredentialReport, per account under /<account>/. It can throttle: the first Throttle calls
// of each account get HTTP 400 Throttling, which the SDK must retry.
type IAMServer struct {
	URL      string // base URL; the account's endpoint is URL + "/" + account
	Throttle int
	// ThrottleStatus and ThrottleCode shape the throttling answer (default 400 Throttling, as IAM
	// sends it; 429 and 503 ServiceUnavailable happen too).
	ThrottleStatus int
	ThrottleCode   string

	mu        sync.Mutex
	pages     map[string][]map[string]any // GAAD pages in the API's field names
	reports   map[string][]byte
	calls     map[string]int
	generated map[string]int
}

// NewIAMServer serves pages (GAAD pages as JSON in the API's field names, as the demo writes
// them) and credential reports per account.
func NewIAMServer(t *testing.T, pages map[string][][]byte, reports map[string][]byte) *IAMServer {
	t.Helper()
	s := &IAMServer{pages: map[string][]map[string]any{}, reports: reports, calls: map[string]int{}, generated: map[string]int{}}
	for acct, ps := range pages {
		for _, p := range ps {
			var m map[string]any
			if err := json.Unmarshal(p, &m); err != nil {
				t.Fatal(err)
			}
			delete(m, "IsTruncated")
			delete(m, "Marker")
			s.pages[acct] = append(s.pages[acct], m)
		}
	}
	srv := httptest.NewServer(http.HandlerFunc(s.serve))
	t.Cleanup(srv.Close)
	s.URL = srv.URL
	return s
}

// Calls returns how many requests an account made.
func (s *IAMServer) Calls(acct string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.calls[acct]
}

const iamNS = "https://iam.amazonaws.com/doc/2010-05-08/"

func (s *IAMServer) serve(w http.ResponseWriter, r *http.Request) {
	acct := strings.Trim(r.URL.Path, "/")
	if err := r.ParseForm(); err != nil {
		iamError(w, http.StatusBadRequest, "MalformedInput", err.Error())
		return
	}
	action := r.Form.Get("Action")
	s.mu.Lock()
	s.calls[acct]++
	throttled := s.calls[acct] <= s.Throttle
	pages, known := s.pages[acct]
	s.mu.Unlock()
	switch {
	case !known:
		iamError(w, http.StatusForbidden, "AccessDenied", "User is not authorized to perform: "+strings.ToLower(action))
		return
	case throttled:
		status, code := s.ThrottleStatus, s.ThrottleCode
		if status == 0 {
			status, code = http.StatusBadRequest, "Throttling"
		}
		iamError(w, status, code, "Rate exceeded")
		return
	}
	var body strings.Builder
	switch action {
	case "GetAccountAuthorizationDetails":
		i := 0
		if m := r.Form.Get("Marker"); m != "" {
			n, err := strconv.Atoi(strings.TrimPrefix(m, "page-"))
			if err != nil || n <= 0 || n >= len(pages) {
				iamError(w, http.StatusBadRequest, "InvalidInput", "bad marker "+m)
				return
			}
			i = n
		}
		page := map[string]any{}
		for k, v := range pages[i] {
			page[k] = v
		}
		page["IsTruncated"] = i+1 < len(pages)
		if i+1 < len(pages) {
			page["Marker"] = fmt.Sprintf("page-%d", i+1)
		}
		writeXML(&body, page)
	case "GenerateCredentialReport":
		s.mu.Lock()
		s.generated[acct]++
		state := "STARTED"
		if s.generated[acct] > 1 {
			state = "COMPLETE"
		}
		s.mu.Unlock()
		writeXML(&body, map[string]any{"State": state, "Description": "report " + strings.ToLower(state)})
	case "GetCredentialReport":
		writeXML(&body, map[string]any{"Content": base64.StdEncoding.EncodeToString(s.reports[acct]), "ReportFormat": "text/csv",
			"GeneratedTime": time.Now().UTC().Format(time.RFC3339)})
	default:
		iamError(w, http.StatusBadRequest, "InvalidAction", "unsupported action "+action)
		return
	}
	w.Header().Set("Content-Type", "text/xml")
	fmt.Fprintf(w, `<%sResponse xmlns="%s"><%sResult>%s</%sResult><ResponseMetadata><RequestId>00000000-0000-4000-8000-000000000000</RequestId></ResponseMetadata></%sResponse>`,
		action, iamNS, action, body.String(), action, action)
}

func iamError(w http.ResponseWriter, status int, code, msg string) {
	w.Header().Set("Content-Type", "text/xml")
	w.WriteHeader(status)
	var b strings.Builder
	_ = xml.EscapeText(&b, []byte(msg))
	fmt.Fprintf(w, `<ErrorResponse xmlns="%s"><Error><Type>Sender</Type><Code>%s</Code><Message>%s</Message></Error><RequestId>00000000-0000-4000-8000-000000000001</RequestId></ErrorResponse>`,
		iamNS, code, b.String())
}

// writeXML renders a JSON value as the query protocol's XML: objects as elements, lists as
// <member> items.
func writeXML(b *strings.Builder, v any) {
	switch x := v.(type) {
	case map[string]any:
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if x[k] == nil {
				continue
			}
			fmt.Fprintf(b, "<%s>", k)
			writeXML(b, x[k])
			fmt.Fprintf(b, "</%s>", k)
		}
	case []any:
		for _, e := range x {
			b.WriteString("<member>")
			writeXML(b, e)
			b.WriteString("</member>")
		}
	case string:
		_ = xml.EscapeText(b, []byte(x))
	case bool:
		b.WriteString(strconv.FormatBool(x))
	case float64:
		b.WriteString(strconv.FormatFloat(x, 'f', -1, 64))
	default:
		fmt.Fprint(b, x)
	}
}
