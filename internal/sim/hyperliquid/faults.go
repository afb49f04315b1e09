package hlsim

import (
	"math/rand/v2"
	"time"
)

// FaultKind is what an injected fault does.
type FaultKind int

const (
	// FaultLatency delays the request by Delay before it is handled; the action still takes effect
	// even if the client gave up meanwhile, as on the venue.
	FaultLatency FaultKind = iota + 1
	// FaultDropResponse applies the action, then closes the connection without a response.
	FaultDropResponse
	// FaultServerError answers HTTP Status (default 502) without applying anything.
	FaultServerError
	// FaultRateLimit answers HTTP 429 without applying anything.
	FaultRateLimit
)

// Fault is an injected fault. It matches requests to Endpoint ("info" or "exchange"; empty: both)
// whose action or info type is Type (empty: any), and fires Times times (0: until cleared).
type Fault struct {
	Endpoint string
	Type     string
	Kind     FaultKind
	Delay    time.Duration
	Status   int
	Times    int
}

type faultRule struct {
	Fault
	fired int
}

// InjectFault adds a fault; the earliest matching fault fires first.
func (s *Sim) InjectFault(f Fault) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = append(s.faults, &faultRule{Fault: f})
}

// SetFaultRate makes a fraction rate of all requests fail at random from a seeded sequence, in
// equal shares: HTTP 502 before anything is applied, HTTP 429, or (exchange only; info gets a 502)
// the response dropped after the action took effect. Zero turns it off. Each fires an EvFault.
func (s *Sim) SetFaultRate(rate float64, seed uint64) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faultRate = rate
	s.faultRng = rand.New(rand.NewPCG(seed, 0x68_6c_73_69_6d)) //nolint:gosec // a seeded sequence: runs are repeatable
}

// randomFault draws the random fault of one request, if any. Caller holds s.mu.
func (s *Sim) randomFault(endpoint, typ string) FaultKind {
	if s.faultRate <= 0 || s.faultRng.Float64() >= s.faultRate {
		return 0
	}
	k := []FaultKind{FaultServerError, FaultRateLimit, FaultDropResponse}[s.faultRng.IntN(3)]
	if k == FaultDropResponse && endpoint != "exchange" {
		k = FaultServerError
	}
	s.event(Event{Kind: EvFault, Note: endpoint + "/" + typ + ":random:" + kindName(k)})
	return k
}

// ClearFaults removes every fault.
func (s *Sim) ClearFaults() {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.faults = nil
}

// takeFault returns the first matching live fault of one of kinds and counts it as fired.
func (s *Sim) takeFault(endpoint, typ string, kinds ...FaultKind) *Fault {
	for _, r := range s.faults {
		if r.Times > 0 && r.fired >= r.Times {
			continue
		}
		if (r.Endpoint != "" && r.Endpoint != endpoint) || (r.Type != "" && r.Type != typ) {
			continue
		}
		for _, k := range kinds {
			if r.Kind == k {
				r.fired++
				f := r.Fault
				s.event(Event{Kind: EvFault, Note: endpoint + "/" + typ + ":" + kindName(k)})
				return &f
			}
		}
	}
	return nil
}

func kindName(k FaultKind) string {
	switch k {
	case FaultLatency:
		return "latency"
	case FaultDropResponse:
		return "drop_response"
	case FaultServerError:
		return "server_error"
	case FaultRateLimit:
		return "rate_limit"
	}
	return "unknown"
}

type spent struct {
	at     time.Time
	weight int
}

// charge adds weight to ip's rolling minute and reports whether it stays within the limit.
func (s *Sim) charge(ip string, weight int) bool {
	now := s.cfg.Now()
	kept := s.weights[ip][:0]
	total := 0
	for _, w := range s.weights[ip] {
		if now.Sub(w.at) < time.Minute {
			kept = append(kept, w)
			total += w.weight
		}
	}
	if total+weight > s.cfg.WeightPerMinute {
		s.weights[ip] = kept
		return false
	}
	s.weights[ip] = append(kept, spent{at: now, weight: weight})
	return true
}
