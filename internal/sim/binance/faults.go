package simbinance

import (
	"net/http"
	"net/url"
	"time"
)

// FaultKind is what a fault does to a request.
type FaultKind int

// Fault kinds.
const (
	// FaultLatency only delays the request (set Latency).
	FaultLatency FaultKind = iota
	// FaultStatusBefore answers Status (default 503) without acting.
	FaultStatusBefore
	// FaultStatusAfter acts, then answers Status (default 503) with -1007 "execution status unknown".
	FaultStatusAfter
	// FaultDropAfter acts, then closes the connection without an answer.
	FaultDropAfter
	// FaultRateLimit answers HTTP 429 with Retry-After without acting.
	FaultRateLimit
	// FaultHold holds an admitted request (authenticated, signature and timestamp checked, weight
	// charged) for Latency, then acts on it and answers, whether or not the client is still
	// there: server-side latency, as when the matching engine or the withdrawal service is slow.
	// Holds records it on arrival, so a test can act in the window in which the venue has the
	// request and has not yet applied it (kill the client, say).
	FaultHold
)

// Fault is injected into the next Times requests matching Method and Path ("" matches any). A
// FaultHold is taken only by requests that pass admission; the other kinds by any request.
type Fault struct {
	Method, Path string
	Kind         FaultKind
	Times        int
	Status       int
	Latency      time.Duration
	RetryAfter   int // seconds, for FaultRateLimit (1)
}

func (f *Fault) status() int {
	if f.Status == 0 {
		return http.StatusServiceUnavailable
	}
	return f.Status
}

func (f *Fault) retryAfter() int {
	if f.RetryAfter <= 0 {
		return 1
	}
	return f.RetryAfter
}

// Inject adds a fault; faults are consumed in the order added.
func (s *Sim) Inject(f Fault) {
	if f.Times <= 0 {
		f.Times = 1
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &f)
}

// ClearFaults removes every pending fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault consumes the first fault matching method and path: a FaultHold when hold, any other
// kind otherwise.
func (s *Sim) takeFault(method, path string, hold bool) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Kind == FaultHold) == hold && (f.Method == "" || f.Method == method) && (f.Path == "" || f.Path == path) {
			f.Times--
			if f.Times <= 0 {
				s.faults = append(s.faults[:i], s.faults[i+1:]...)
			}
			c := *f
			return &c
		}
	}
	return nil
}

// Hold is a request a FaultHold held: when it arrived, its client id (newClientOrderId or
// withdrawOrderId), and, once the hold ended and the simulator handled it, Applied, with Err the
// API error it answered if it refused (empty when it acted).
type Hold struct {
	Method, Path, ClientID string
	Arrived                time.Time
	Applied                bool
	Err                    string
}

// Holds returns every request held so far, in arrival order.
func (s *Sim) Holds() []Hold {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]Hold, len(s.holds))
	for i, h := range s.holds {
		out[i] = *h
	}
	return out
}

// hold records a held request and waits d, not cancelled by the client going away: the venue
// has the request. It returns the record to complete with released.
func (s *Sim) hold(method, path string, p url.Values, d time.Duration) *Hold {
	cid := p.Get("newClientOrderId")
	if cid == "" {
		cid = p.Get("withdrawOrderId")
	}
	h := &Hold{Method: method, Path: path, ClientID: cid, Arrived: s.cfg.Now()}
	s.mu.Lock()
	s.holds = append(s.holds, h)
	s.mu.Unlock()
	time.Sleep(d)
	return h
}

// released marks a held request handled, with the API error it answered, if any.
func (s *Sim) released(h *Hold, herr *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	h.Applied = true
	if herr != nil {
		h.Err = herr.Msg
	}
}

// SuspendWithdrawals turns withdrawals of coin on network off (true) or back on.
func (s *Sim) SuspendWithdrawals(coin, network string, suspended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suspendedW[coin+"/"+network] = suspended
}

// SuspendDeposits turns deposits of coin on network off (true) or back on.
func (s *Sim) SuspendDeposits(coin, network string, suspended bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.suspendedD[coin+"/"+network] = suspended
}

// SetDepositWallet picks where new deposits are credited: "spot" or "funding".
func (s *Sim) SetDepositWallet(wallet string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.cfg.DepositWallet = wallet
}
