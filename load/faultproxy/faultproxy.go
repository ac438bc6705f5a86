// Package faultproxy is a fault-injecting HTTP proxy for tests: it sits on 127.0.0.1 in front of
// a real object store (MinIO, Azurite) and, on the requests its rules choose, answers with a
// server error or a throttling response in the store's own wire format, resets the connection,
// or cuts a response body short of its declared Content-Length. Every other request is
// forwarded unchanged (the Host header included, which SigV4 signs).
//
// It is imported by tests only. It imports the standard library only; it must not import
// permlake's packages.
package faultproxy

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"net/http/httptest"
	"net/url"
	"regexp"
	"strconv"
	"sync"
	"testing"
	"time"
)

// Fault is what the proxy does to a chosen request.
type Fault int

const (
	// Status500 answers 500 InternalError (S3's XML error body and Azure's x-ms-error-code
	// header), without forwarding.
	Status500 Fault = iota + 1
	// Status503 answers 503 ServiceUnavailable, without forwarding.
	Status503
	// SlowDown answers S3's throttling response: 503 with an XML body whose Code is SlowDown.
	SlowDown
	// ServerBusy answers Azure Storage's throttling response: 503 with x-ms-error-code ServerBusy.
	ServerBusy
	// ResetBefore resets the TCP connection (RST, SO_LINGER 0) without forwarding the request:
	// the store never sees it.
	ResetBefore
	// ResetAfter forwards the request, lets the store apply it, and resets the connection
	// instead of returning the answer: the client cannot tell whether its write happened.
	ResetAfter
	// Truncate forwards the request and returns the store's status and headers (Content-Length
	// as declared) but only half of the body, then closes the connection.
	Truncate
)

func (f Fault) String() string {
	switch f {
	case Status500:
		return "500"
	case Status503:
		return "503"
	case SlowDown:
		return "SlowDown"
	case ServerBusy:
		return "ServerBusy"
	case ResetBefore:
		return "reset-before"
	case ResetAfter:
		return "reset-after"
	case Truncate:
		return "truncate"
	}
	return "none"
}

// Rule chooses requests and the fault they get. A request is matched by Method and Path; of the
// matching requests, the first Skip pass, then the next Times (every one when Times is 0) are
// eligible, and an eligible one is faulted (always, or with Probability when it is above 0,
// drawn from the proxy's seeded generator).
type Rule struct {
	Method      string         // "" matches every method
	Path        *regexp.Regexp // matched against "<path>?<raw query>"; nil matches every path
	Skip        int
	Times       int
	Probability float64
	Fault       Fault

	seen, hit int
}

// Request is one request the proxy handled, for assertions.
type Request struct {
	Method string
	Path   string // path and raw query
	Fault  Fault  // 0 when forwarded untouched
	Status int    // the store's status when forwarded (0 when the proxy answered or reset first)
}

// maxBody bounds what the proxy reads of a request body it does not forward, and of a response
// body it truncates.
const maxBody = 256 << 20

// Proxy is a running proxy. It is safe for concurrent use.
type Proxy struct {
	// URL is the proxy's base URL, http://127.0.0.1:PORT: use it as the store's endpoint.
	URL string

	target    *url.URL
	transport *http.Transport
	mu        sync.Mutex
	rules     []*Rule
	log       []Request
	rng       *rand.Rand
}

// Start starts a proxy in front of target (an http://127.0.0.1 or http://localhost URL) whose
// probabilistic rules draw from a generator seeded with seed, and stops it when the test ends.
func Start(t testing.TB, target string, seed uint64) *Proxy {
	t.Helper()
	u, err := url.Parse(target)
	if err != nil || u.Scheme != "http" || (u.Hostname() != "127.0.0.1" && u.Hostname() != "localhost") {
		t.Fatalf("faultproxy: target %q: want http://127.0.0.1:PORT", target)
	}
	p := &Proxy{
		target: &url.URL{Scheme: u.Scheme, Host: u.Host},
		// No proxy from the environment, no HTTP/2, bounded idle connections and timeouts: the
		// store is local.
		transport: &http.Transport{Proxy: nil, MaxIdleConnsPerHost: 16, IdleConnTimeout: 30 * time.Second,
			ResponseHeaderTimeout: 60 * time.Second, DialContext: (&net.Dialer{Timeout: 5 * time.Second}).DialContext},
		rng: rand.New(rand.NewPCG(seed, seed^0x9e3779b97f4a7c15)),
	}
	srv := httptest.NewServer(http.HandlerFunc(p.serve)) // 127.0.0.1:0
	p.URL = srv.URL
	t.Cleanup(func() {
		srv.CloseClientConnections()
		srv.Close()
		p.transport.CloseIdleConnections()
	})
	return p
}

// Inject adds rule r (copied) after the existing ones; the first rule that faults a request wins.
func (p *Proxy) Inject(r Rule) {
	p.mu.Lock()
	defer p.mu.Unlock()
	r.seen, r.hit = 0, 0
	p.rules = append(p.rules, &r)
}

// Heal removes every rule: from now on every request is forwarded untouched.
func (p *Proxy) Heal() {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.rules = nil
}

// Requests returns what the proxy handled so far, in arrival order.
func (p *Proxy) Requests() []Request {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]Request(nil), p.log...)
}

// Faults counts the requests faulted so far with f (0: with any fault).
func (p *Proxy) Faults(f Fault) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.log {
		if r.Fault != 0 && (f == 0 || r.Fault == f) {
			n++
		}
	}
	return n
}

// Count counts the requests so far whose method is method ("" for any) and whose path matches re
// (nil for any), faulted or not.
func (p *Proxy) Count(method string, re *regexp.Regexp) int {
	p.mu.Lock()
	defer p.mu.Unlock()
	n := 0
	for _, r := range p.log {
		if (method == "" || r.Method == method) && (re == nil || re.MatchString(r.Path)) {
			n++
		}
	}
	return n
}

// choose returns the fault for a request (0 for none) and logs it; the returned index lets
// serve record the store's status.
func (p *Proxy) choose(method, path string) (Fault, int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	var fault Fault
	for _, r := range p.rules {
		if (r.Method != "" && r.Method != method) || (r.Path != nil && !r.Path.MatchString(path)) {
			continue
		}
		r.seen++
		if r.seen <= r.Skip || (r.Times > 0 && r.hit >= r.Times) {
			continue
		}
		if r.Probability > 0 && p.rng.Float64() >= r.Probability {
			continue
		}
		r.hit++
		fault = r.Fault
		break
	}
	p.log = append(p.log, Request{Method: method, Path: path, Fault: fault})
	return fault, len(p.log) - 1
}

func (p *Proxy) setStatus(i, status int) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.log[i].Status = status
}

func (p *Proxy) serve(w http.ResponseWriter, r *http.Request) {
	path := r.URL.EscapedPath()
	if r.URL.RawQuery != "" {
		path += "?" + r.URL.RawQuery
	}
	fault, i := p.choose(r.Method, path)
	switch fault {
	case Status500, Status503, SlowDown, ServerBusy:
		// Read the body first, as a store does, so the client sees the answer rather than a
		// write error on a half-sent request.
		_, _ = io.Copy(io.Discard, io.LimitReader(r.Body, maxBody))
		writeError(w, r, fault)
		return
	case ResetBefore:
		reset(w)
		return
	}
	resp, err := p.forward(r)
	if err != nil {
		http.Error(w, "faultproxy: "+err.Error(), http.StatusBadGateway)
		return
	}
	defer resp.Body.Close()
	p.setStatus(i, resp.StatusCode)
	switch fault {
	case ResetAfter:
		_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, maxBody))
		reset(w)
		return
	case Truncate:
		truncate(w, r, resp)
		return
	}
	for k, vs := range resp.Header {
		w.Header()[k] = vs
	}
	w.WriteHeader(resp.StatusCode)
	_, _ = io.Copy(w, resp.Body)
}

// forward sends r to the target unchanged: same method, path, query, headers (Host included) and
// body.
func (p *Proxy) forward(r *http.Request) (*http.Response, error) {
	u := *p.target
	u.Path, u.RawPath, u.RawQuery = r.URL.Path, r.URL.RawPath, r.URL.RawQuery
	out, err := http.NewRequestWithContext(r.Context(), r.Method, u.String(), r.Body)
	if err != nil {
		return nil, err
	}
	out.Header = r.Header.Clone()
	out.Header.Del("Connection")
	out.Host = r.Host
	out.ContentLength = r.ContentLength
	if r.ContentLength == 0 {
		out.Body = http.NoBody
	}
	out.TransferEncoding = r.TransferEncoding
	return p.transport.RoundTrip(out)
}

// writeError answers in the stores' formats: S3 reads the XML body's Code, Azure the
// x-ms-error-code header (a HEAD answer has no body).
func writeError(w http.ResponseWriter, r *http.Request, f Fault) {
	status, code, msg := http.StatusServiceUnavailable, "ServiceUnavailable", "The server is unavailable."
	switch f {
	case Status500:
		status, code, msg = http.StatusInternalServerError, "InternalError", "We encountered an internal error. Please try again."
	case SlowDown:
		code, msg = "SlowDown", "Please reduce your request rate."
	case ServerBusy:
		code, msg = "ServerBusy", "The server is currently unable to receive requests. Please retry your request."
	}
	body := fmt.Sprintf(`<?xml version="1.0" encoding="UTF-8"?>`+"\n"+`<Error><Code>%s</Code><Message>%s</Message><RequestId>faultproxy</RequestId></Error>`, code, msg)
	h := w.Header()
	h.Set("Content-Type", "application/xml")
	h.Set("X-Ms-Error-Code", code)
	h.Set("X-Amz-Request-Id", "faultproxy")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	w.WriteHeader(status)
	if r.Method != http.MethodHead {
		_, _ = io.WriteString(w, body)
	}
}

// reset closes the client's connection with an RST.
func reset(w http.ResponseWriter) {
	conn, _, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler) // the server drops the connection
	}
	if tc, ok := conn.(*net.TCPConn); ok {
		_ = tc.SetLinger(0)
	}
	_ = conn.Close()
}

// truncate writes resp's status line and headers as the store sent them, then half its body
// (at most maxBody), and closes the connection.
func truncate(w http.ResponseWriter, r *http.Request, resp *http.Response) {
	body, _ := io.ReadAll(io.LimitReader(resp.Body, maxBody))
	conn, buf, err := http.NewResponseController(w).Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	defer conn.Close()
	var head bytes.Buffer
	fmt.Fprintf(&head, "HTTP/1.1 %d %s\r\n", resp.StatusCode, http.StatusText(resp.StatusCode))
	h := resp.Header.Clone()
	h.Del("Transfer-Encoding")
	h.Set("Content-Length", strconv.Itoa(len(body)))
	h.Set("Connection", "close")
	_ = h.Write(&head)
	head.WriteString("\r\n")
	bw := bufio.NewWriter(conn)
	_, _ = bw.Write(head.Bytes())
	if r.Method != http.MethodHead {
		_, _ = bw.Write(body[:len(body)/2])
	}
	_ = bw.Flush()
	_ = buf // the hijacked reader holds nothing the client is owed
}
