package faultproxy

import (
	"errors"
	"io"
	"net/http"
	"net/http/httptest"
	"reflect"
	"regexp"
	"strings"
	"sync/atomic"
	"syscall"
	"testing"
)

// backend is a store stand-in that counts what reaches it and echoes the Host header it got.
func backend(t *testing.T) (*httptest.Server, *atomic.Int64) {
	var hits atomic.Int64
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		hits.Add(1)
		b, _ := io.ReadAll(r.Body)
		w.Header().Set("X-Host", r.Host)
		w.Header().Set("ETag", `"e1"`)
		_, _ = io.WriteString(w, "0123456789"+string(b))
	}))
	t.Cleanup(srv.Close)
	return srv, &hits
}

func client() *http.Client {
	// No connection reuse: each request's fate is its own.
	return &http.Client{Transport: &http.Transport{DisableKeepAlives: true, Proxy: nil}}
}

func TestForwardUnchanged(t *testing.T) {
	srv, hits := backend(t)
	p := Start(t, srv.URL, 1)
	req, _ := http.NewRequest(http.MethodPut, p.URL+"/bucket/a%2Fb?x=1", strings.NewReader("body"))
	resp, err := client().Do(req)
	if err != nil {
		t.Fatal(err)
	}
	b, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	host := strings.TrimPrefix(p.URL, "http://")
	if resp.StatusCode != 200 || string(b) != "0123456789body" || resp.Header.Get("X-Host") != host || resp.Header.Get("ETag") != `"e1"` {
		t.Errorf("forwarded: %d %q host %q etag %q; want 200, the body, Host %s", resp.StatusCode, b, resp.Header.Get("X-Host"), resp.Header.Get("ETag"), host)
	}
	want := []Request{{Method: "PUT", Path: "/bucket/a%2Fb?x=1", Status: 200}}
	if got := p.Requests(); !reflect.DeepEqual(got, want) || hits.Load() != 1 {
		t.Errorf("log %+v, hits %d; want %+v and 1", got, hits.Load(), want)
	}
}

func TestErrorResponses(t *testing.T) {
	srv, hits := backend(t)
	for _, tc := range []struct {
		fault  Fault
		status int
		code   string
	}{
		{Status500, 500, "InternalError"},
		{Status503, 503, "ServiceUnavailable"},
		{SlowDown, 503, "SlowDown"},
		{ServerBusy, 503, "ServerBusy"},
	} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			hits.Store(0)
			p := Start(t, srv.URL, 1)
			p.Inject(Rule{Fault: tc.fault})
			resp, err := client().Post(p.URL+"/c/k", "text/plain", strings.NewReader(strings.Repeat("x", 1<<20)))
			if err != nil {
				t.Fatal(err)
			}
			b, _ := io.ReadAll(resp.Body)
			resp.Body.Close()
			if resp.StatusCode != tc.status || !strings.Contains(string(b), "<Code>"+tc.code+"</Code>") || resp.Header.Get("X-Ms-Error-Code") != tc.code {
				t.Errorf("%d %q x-ms-error-code %q; want %d with code %s", resp.StatusCode, b, resp.Header.Get("X-Ms-Error-Code"), tc.status, tc.code)
			}
			if hits.Load() != 0 || p.Faults(tc.fault) != 1 {
				t.Errorf("backend hits %d, faults %d; want 0 and 1", hits.Load(), p.Faults(tc.fault))
			}
		})
	}
}

func TestResets(t *testing.T) {
	srv, hits := backend(t)
	for _, tc := range []struct {
		fault Fault
		hits  int64
	}{{ResetBefore, 0}, {ResetAfter, 1}} {
		t.Run(tc.fault.String(), func(t *testing.T) {
			hits.Store(0)
			p := Start(t, srv.URL, 1)
			p.Inject(Rule{Method: http.MethodGet, Fault: tc.fault})
			_, err := client().Get(p.URL + "/c/k")
			if err == nil || !(errors.Is(err, syscall.ECONNRESET) || errors.Is(err, io.EOF)) {
				t.Errorf("GET through a reset = %v; want a connection reset", err)
			}
			if hits.Load() != tc.hits {
				t.Errorf("backend hits %d, want %d", hits.Load(), tc.hits)
			}
		})
	}
}

func TestTruncate(t *testing.T) {
	srv, _ := backend(t)
	p := Start(t, srv.URL, 1)
	p.Inject(Rule{Fault: Truncate, Times: 1})
	resp, err := client().Get(p.URL + "/c/k")
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || resp.ContentLength != 10 || string(b) != "01234" || !errors.Is(err, io.ErrUnexpectedEOF) {
		t.Errorf("truncated GET: %d, Content-Length %d, %q, %v; want 200, 10, 5 bytes and an unexpected EOF", resp.StatusCode, resp.ContentLength, b, err)
	}
	// Times: 1, so the next one is whole.
	resp, err = client().Get(p.URL + "/c/k")
	if err != nil {
		t.Fatal(err)
	}
	b, err = io.ReadAll(resp.Body)
	resp.Body.Close()
	if string(b) != "0123456789" || err != nil {
		t.Errorf("second GET %q, %v; want the whole body", b, err)
	}
}

func TestRuleSelection(t *testing.T) {
	srv, _ := backend(t)
	p := Start(t, srv.URL, 1)
	// The 2nd and 3rd PUT of data.parquet fail; GETs and other keys pass.
	p.Inject(Rule{Method: http.MethodPut, Path: regexp.MustCompile(`/data\.parquet$`), Skip: 1, Times: 2, Fault: Status503})
	var got []int
	for _, u := range []string{"/x/data.parquet", "/x/other", "/x/data.parquet", "/x/data.parquet", "/x/data.parquet"} {
		for _, m := range []string{http.MethodGet, http.MethodPut} {
			req, _ := http.NewRequest(m, p.URL+u, nil)
			resp, err := client().Do(req)
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			got = append(got, resp.StatusCode)
		}
	}
	want := []int{200, 200, 200, 200, 200, 503, 200, 503, 200, 200}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("statuses %v, want %v", got, want)
	}
	if n := p.Count(http.MethodPut, regexp.MustCompile(`data\.parquet`)); n != 4 {
		t.Errorf("Count = %d, want 4", n)
	}
	p.Heal()
	resp, err := client().Post(p.URL+"/x/data.parquet", "", nil)
	if err != nil || resp.StatusCode != 200 {
		t.Errorf("after Heal: %v %v", resp, err)
	}
}

func TestProbabilityIsSeeded(t *testing.T) {
	srv, _ := backend(t)
	pattern := func(seed uint64) string {
		p := Start(t, srv.URL, seed)
		p.Inject(Rule{Probability: 0.3, Fault: Status500})
		var b strings.Builder
		for range 200 {
			resp, err := client().Get(p.URL + "/k")
			if err != nil {
				t.Fatal(err)
			}
			resp.Body.Close()
			if resp.StatusCode == 500 {
				b.WriteByte('x')
			} else {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	a, again, other := pattern(7), pattern(7), pattern(8)
	if a != again || a == other {
		t.Errorf("seed 7 twice gave different patterns, or seed 8 the same:\n%s\n%s\n%s", a, again, other)
	}
	if n := strings.Count(a, "x"); n < 30 || n > 90 {
		t.Errorf("%d of 200 faulted at p=0.3", n)
	}
}

func TestStartRefusesRemoteTargets(t *testing.T) {
	ft := &fatalT{TB: t}
	func() {
		defer func() { _ = recover() }()
		Start(ft, "http://example.com:80", 1)
	}()
	if !ft.failed {
		t.Error("Start accepted a target that is not on 127.0.0.1")
	}
}

// fatalT records Fatalf instead of stopping the test.
type fatalT struct {
	testing.TB
	failed bool
}

func (f *fatalT) Helper() {}
func (f *fatalT) Fatalf(string, ...any) {
	f.failed = true
	panic("fatal")
}
