package simchain

import (
	"bytes"
	"encoding/json"
	"io"
	"net/http"
	"strconv"
	"sync"
	"time"
)

// maxRequestBody bounds what the fault layer reads to find the methods; the
// node's own limit is larger than any request this project sends.
const maxRequestBody = 5 << 20

// Faults controls the failures injected in front of one HTTP endpoint and
// counts the requests that reach it. The zero state injects nothing. All
// methods are safe for concurrent use.
type Faults struct {
	mu         sync.Mutex
	down       bool
	latency    time.Duration
	rateLimit  int // requests still to answer with 429; negative: all
	retryAfter int // seconds, sent in Retry-After with a 429
	httpFail   int
	httpStatus int
	rpcFail    map[string]rpcFault
	requests   int64
	calls      map[string]int64
}

type rpcFault struct {
	remaining int // negative: until cleared
	code      int
	message   string
}

func newFaults() *Faults {
	return &Faults{rpcFail: map[string]rpcFault{}, calls: map[string]int64{}}
}

// SetDown turns an outage on or off: while down, every connection is closed
// without an answer, as when a provider is unreachable.
func (f *Faults) SetDown(down bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down = down
}

// SetLatency adds d before every request is handled.
func (f *Faults) SetLatency(d time.Duration) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.latency = d
}

// RateLimit answers the next n requests with HTTP 429 and a Retry-After of
// retryAfterSeconds; n < 0 rate-limits every request until Reset.
func (f *Faults) RateLimit(n, retryAfterSeconds int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rateLimit = n
	f.retryAfter = retryAfterSeconds
}

// FailHTTP answers the next n requests with the given HTTP status (e.g. 502).
func (f *Faults) FailHTTP(n, status int) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.httpFail = n
	f.httpStatus = status
}

// FailRPC answers the next n single (non-batch) JSON-RPC requests for method
// with a JSON-RPC error; n < 0 fails them until Reset.
func (f *Faults) FailRPC(method string, n, code int, message string) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.rpcFail[method] = rpcFault{remaining: n, code: code, message: message}
}

// Reset clears every injected fault. Counters are kept.
func (f *Faults) Reset() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.down, f.latency, f.rateLimit, f.httpFail = false, 0, 0, 0
	f.rpcFail = map[string]rpcFault{}
}

// Requests is the number of HTTP requests (round trips) that reached this
// endpoint, faulted or not.
func (f *Faults) Requests() int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.requests
}

// Calls is the number of JSON-RPC calls of method that reached this endpoint;
// each element of a batch counts.
func (f *Faults) Calls(method string) int64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.calls[method]
}

// ResetCounters zeroes Requests and Calls.
func (f *Faults) ResetCounters() {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests = 0
	f.calls = map[string]int64{}
}

type rpcRequest struct {
	ID     json.RawMessage `json:"id"`
	Method string          `json:"method"`
}

// decision is what the fault layer does with one request.
type decision struct {
	down       bool
	latency    time.Duration
	status     int
	retryAfter int
	rpcErr     *rpcFault
	id         json.RawMessage
}

// admit counts the request and decides which fault, if any, applies.
func (f *Faults) admit(reqs []rpcRequest, batch bool) decision {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.requests++
	for _, r := range reqs {
		f.calls[r.Method]++
	}
	d := decision{down: f.down, latency: f.latency}
	switch {
	case f.down:
	case f.rateLimit != 0:
		if f.rateLimit > 0 {
			f.rateLimit--
		}
		d.status, d.retryAfter = http.StatusTooManyRequests, f.retryAfter
	case f.httpFail > 0:
		f.httpFail--
		d.status = f.httpStatus
	case !batch && len(reqs) == 1:
		if rf, ok := f.rpcFail[reqs[0].Method]; ok && rf.remaining != 0 {
			if rf.remaining > 0 {
				rf.remaining--
				f.rpcFail[reqs[0].Method] = rf
			}
			d.rpcErr, d.id = &rf, reqs[0].ID
		}
	}
	return d
}

// parseRequests extracts the methods of a single or batch JSON-RPC request.
// A body it cannot parse is passed on untouched: the node answers it.
func parseRequests(body []byte) (reqs []rpcRequest, batch bool) {
	trimmed := bytes.TrimLeft(body, " \t\r\n")
	if len(trimmed) > 0 && trimmed[0] == '[' {
		_ = json.Unmarshal(trimmed, &reqs)
		return reqs, true
	}
	var r rpcRequest
	if json.Unmarshal(trimmed, &r) == nil {
		reqs = []rpcRequest{r}
	}
	return reqs, false
}

// submitsTx tells whether a request hands the node a transaction, after which
// AutoMine seals a block before answering.
func submitsTx(reqs []rpcRequest) bool {
	for _, r := range reqs {
		if r.Method == "eth_sendRawTransaction" || r.Method == "eth_sendTransaction" {
			return true
		}
	}
	return false
}

// endpoint is one HTTP front of the node: faults, then the node's JSON-RPC
// handler, then (AutoMine) a block before the answer goes out.
type endpoint struct {
	faults *Faults
	next   http.Handler
	mine   func() // nil unless AutoMine
}

func (e *endpoint) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	body, err := io.ReadAll(io.LimitReader(r.Body, maxRequestBody))
	if err != nil {
		http.Error(w, "read body", http.StatusBadRequest)
		return
	}
	reqs, batch := parseRequests(body)
	d := e.faults.admit(reqs, batch)
	if d.latency > 0 {
		t := time.NewTimer(d.latency)
		select {
		case <-t.C:
		case <-r.Context().Done():
			t.Stop()
			return
		}
	}
	switch {
	case d.down:
		if hj, ok := w.(http.Hijacker); ok {
			if conn, _, err := hj.Hijack(); err == nil {
				_ = conn.Close()
				return
			}
		}
		http.Error(w, "down", http.StatusServiceUnavailable)
		return
	case d.status != 0:
		if d.status == http.StatusTooManyRequests {
			w.Header().Set("Retry-After", strconv.Itoa(d.retryAfter))
		}
		http.Error(w, http.StatusText(d.status), d.status)
		return
	case d.rpcErr != nil:
		id := d.id
		if len(id) == 0 {
			id = json.RawMessage("null")
		}
		w.Header().Set("Content-Type", "application/json")
		_ = json.NewEncoder(w).Encode(map[string]any{
			"jsonrpc": "2.0", "id": id,
			"error": map[string]any{"code": d.rpcErr.code, "message": d.rpcErr.message},
		})
		return
	}
	r.Body = io.NopCloser(bytes.NewReader(body))
	if e.mine == nil || !submitsTx(reqs) {
		e.next.ServeHTTP(w, r)
		return
	}
	// Hold the answer until the transaction is mined, so a client that got
	// its hash back can read its receipt at once (AutoMine semantics).
	buf := &bufferedWriter{header: w.Header(), status: http.StatusOK}
	e.next.ServeHTTP(buf, r)
	e.mine()
	w.WriteHeader(buf.status)
	_, _ = w.Write(buf.body.Bytes())
}

type bufferedWriter struct {
	header http.Header
	status int
	body   bytes.Buffer
}

func (b *bufferedWriter) Header() http.Header         { return b.header }
func (b *bufferedWriter) Write(p []byte) (int, error) { return b.body.Write(p) }
func (b *bufferedWriter) WriteHeader(status int)      { b.status = status }
