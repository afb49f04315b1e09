package planner

import (
	"errors"
	"math/big"
	"slices"
	"strconv"

	"github.com/prometheus/client_golang/prometheus"
)

// Balances against targets, as the planner sees them, computed at scrape time from the folded
// state (the core's own virtualBalances, so the dashboard shows exactly what a decision would):
//
//	rebal_planner_balance{account,chain,token,bound}     virtual balance, whole tokens; bound "lo"
//	                                                     (counts what may be gone: used for excesses)
//	                                                     and "hi" (used for deficits), equal unless
//	                                                     the snapshot is ahead of the ledger
//	rebal_planner_location_usable{account,chain,token}   1 when the location may take part in a plan,
//	                                                     0 when it is left out (no, stale or gapped
//	                                                     snapshot, decimals that disagree)
//	rebal_planner_band{account,chain,token,level}        the configured threshold, target and max
//
// The float64 values exist only in the exposition: they are converted from the *big.Int base
// units at the last moment and nothing reads them back.

var (
	descBalance = prometheus.NewDesc("rebal_planner_balance",
		"Virtual balance (snapshot plus ledger legs in effect) the planner decides on, in whole tokens; bound lo counts debits that may not show yet, hi credits.",
		[]string{"account", "chain", "token", "bound"}, nil)
	descUsable = prometheus.NewDesc("rebal_planner_location_usable",
		"1 when the location can take part in a plan; 0 when it is left out (no snapshot, stale, gapped or reorged, decimals that disagree).",
		[]string{"account", "chain", "token"}, nil)
	descBand = prometheus.NewDesc("rebal_planner_band",
		"The location's configured band in whole tokens: level threshold (refill below), target, max (drain above).",
		[]string{"account", "chain", "token", "level"}, nil)
)

// balanceCollector reads the service's state when scraped.
type balanceCollector struct{ s *Service }

// registerBalanceMetrics registers the balance collector on reg; nil registers nothing. A second
// planner on the same registry (tests) keeps the first one's.
func (s *Service) registerBalanceMetrics(reg prometheus.Registerer) {
	if reg == nil {
		return
	}
	if err := reg.Register(balanceCollector{s}); err != nil {
		var are prometheus.AlreadyRegisteredError
		if !errors.As(err, &are) {
			panic(err)
		}
	}
}

// Describe implements prometheus.Collector.
func (balanceCollector) Describe(ch chan<- *prometheus.Desc) {
	ch <- descBalance
	ch <- descUsable
	ch <- descBand
}

type locationBalance struct {
	account string
	node    *nodePolicy
	lo, hi  *big.Int // nil when not usable
}

// Collect implements prometheus.Collector. It holds the service's lock only while the core
// computes the balances (no I/O): a scrape delays a decision by microseconds.
func (c balanceCollector) Collect(ch chan<- prometheus.Metric) {
	s := c.s
	accounts := make([]string, 0, len(s.accounts))
	for a := range s.accounts {
		accounts = append(accounts, a)
	}
	slices.Sort(accounts)
	var out []locationBalance
	s.mu.Lock()
	for _, a := range accounts {
		lo, hi, healthy := virtualBalances(s.pol, s.st, a, s.st.accountIntents(a), s.st.clock, &Record{})
		for i := range s.pol.nodes {
			np := &s.pol.nodes[i]
			if !np.hasTarget {
				continue
			}
			lb := locationBalance{account: a, node: np}
			if healthy[i] {
				lb.lo, lb.hi = lo[i], hi[i]
			}
			out = append(out, lb)
		}
	}
	s.mu.Unlock()

	for _, lb := range out {
		np := lb.node
		chain := strconv.FormatUint(np.chain, 10)
		usable := 0.0
		if lb.lo != nil {
			usable = 1
			ch <- prometheus.MustNewConstMetric(descBalance, prometheus.GaugeValue, wholeTokens(lb.lo, np.decimals), lb.account, chain, np.token, "lo")
			ch <- prometheus.MustNewConstMetric(descBalance, prometheus.GaugeValue, wholeTokens(lb.hi, np.decimals), lb.account, chain, np.token, "hi")
		}
		ch <- prometheus.MustNewConstMetric(descUsable, prometheus.GaugeValue, usable, lb.account, chain, np.token)
		for _, l := range []struct {
			level string
			v     *big.Int
		}{{"threshold", np.threshold}, {"target", np.target}, {"max", np.upper}} {
			ch <- prometheus.MustNewConstMetric(descBand, prometheus.GaugeValue, wholeTokens(l.v, np.decimals), lb.account, chain, np.token, l.level)
		}
	}
}

// wholeTokens scales base units to whole tokens for the exposition only.
func wholeTokens(units *big.Int, decimals uint8) float64 {
	f, _ := new(big.Rat).SetFrac(units, pow10(decimals)).Float64()
	return f
}
