package hlsim

import (
	"encoding/json"
	"io"
	"net"
	"net/http"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

const maxBody = 1 << 20

// Handler serves POST /info and POST /exchange.
func (s *Sim) Handler() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("POST /info", s.serveInfo)
	mux.HandleFunc("POST /exchange", s.serveExchange)
	return mux
}

func clientIP(r *http.Request) string {
	host, _, err := net.SplitHostPort(r.RemoteAddr)
	if err != nil {
		return r.RemoteAddr
	}
	return host
}

func writeJSON(w http.ResponseWriter, status int, v any) {
	w.Header().Set("Content-Type", "application/json")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

func unprocessable(w http.ResponseWriter) {
	w.Header().Set("Content-Type", "text/plain")
	w.WriteHeader(http.StatusUnprocessableEntity)
	_, _ = io.WriteString(w, "Failed to deserialize the JSON body into the target type")
}

// preFaults applies latency, 5xx and 429 faults; it reports whether the request was answered, and
// whether a random fault asks for the response to be dropped after the request is applied.
func (s *Sim) preFaults(w http.ResponseWriter, endpoint, typ string) (answered, dropAfter bool) {
	s.mu.Lock()
	lat := s.takeFault(endpoint, typ, FaultLatency)
	rnd := s.randomFault(endpoint, typ)
	s.mu.Unlock()
	switch rnd {
	case FaultServerError:
		w.WriteHeader(http.StatusBadGateway)
		return true, false
	case FaultRateLimit:
		writeJSON(w, http.StatusTooManyRequests, nil)
		return true, false
	}
	dropAfter = rnd == FaultDropResponse
	if lat != nil {
		// Server-side latency: the venue keeps processing even if the client has gone.
		time.Sleep(lat.Delay)
	}
	s.mu.Lock()
	f := s.takeFault(endpoint, typ, FaultServerError, FaultRateLimit)
	s.mu.Unlock()
	if f == nil {
		return false, dropAfter
	}
	if f.Kind == FaultRateLimit {
		writeJSON(w, http.StatusTooManyRequests, nil)
		return true, false
	}
	status := f.Status
	if status == 0 {
		status = http.StatusBadGateway
	}
	w.WriteHeader(status)
	return true, false
}

func (s *Sim) serveInfo(w http.ResponseWriter, r *http.Request) {
	var req infoRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil {
		unprocessable(w)
		return
	}
	if answered, _ := s.preFaults(w, "info", req.Type); answered {
		return
	}
	s.mu.Lock()
	if !s.charge(clientIP(r), infoWeight(req.Type)) {
		s.mu.Unlock()
		writeJSON(w, http.StatusTooManyRequests, nil)
		return
	}
	out, ok := s.info(req)
	drop := ok && s.takeFault("info", req.Type, FaultDropResponse) != nil
	var body []byte
	if ok {
		body, _ = json.Marshal(out)
	}
	s.mu.Unlock()
	if !ok {
		unprocessable(w)
		return
	}
	if drop {
		dropConn(w)
		return
	}
	w.Header().Set("Content-Type", "application/json")
	_, _ = w.Write(body)
}

func (s *Sim) serveExchange(w http.ResponseWriter, r *http.Request) {
	var req wire.ExchangeRequest
	if err := json.NewDecoder(io.LimitReader(r.Body, maxBody)).Decode(&req); err != nil || len(req.Action) == 0 {
		unprocessable(w)
		return
	}
	action, err := wire.DecodeAction(req.Action)
	if err != nil {
		unprocessable(w)
		return
	}
	typ := action.(interface{ ActionType() string }).ActionType()
	answered, dropAfter := s.preFaults(w, "exchange", typ)
	if answered {
		return
	}
	weight := 1
	if oa, ok := action.(wire.OrderAction); ok {
		weight += len(oa.Orders) / 40
	}
	s.mu.Lock()
	if !s.charge(clientIP(r), weight) {
		s.mu.Unlock()
		writeJSON(w, http.StatusTooManyRequests, nil)
		return
	}
	user, msg := s.verify(req, action)
	var resp map[string]any
	if msg != "" {
		s.event(Event{Kind: EvRejected, User: user, Nonce: req.Nonce, Note: typ + ": " + msg})
		resp = errResponse(msg)
	} else {
		resp = s.apply(user, req, action)
	}
	drop := s.takeFault("exchange", typ, FaultDropResponse) != nil || dropAfter
	s.mu.Unlock()
	s.kickPayouts()
	if drop {
		dropConn(w)
		return
	}
	writeJSON(w, http.StatusOK, resp)
}

// dropConn closes the connection without an HTTP response, as a lost response looks to a client.
func dropConn(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}
