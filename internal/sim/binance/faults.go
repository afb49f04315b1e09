package simbinance

import (
	"net/http"
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
)

// Fault is injected into the next Times requests matching Method and Path ("" matches any).
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

func (s *Sim) takeFault(method, path string) *Fault {
	s.mu.Lock()
	defer s.mu.Unlock()
	for i, f := range s.faults {
		if (f.Method == "" || f.Method == method) && (f.Path == "" || f.Path == path) {
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
