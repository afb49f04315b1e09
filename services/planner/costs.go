package planner

import (
	"fmt"
	"math/big"
	"strings"
	"sync"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// Quote is what moving a route through a venue costs and allows, in the route's source base
// units. Costs are exact: Rate is a fraction of the amount, Fixed a per-intent amount.
type Quote struct {
	// Rate is the proportional cost: trade fee, spread against the fair price, latency charge.
	Rate *big.Rat
	// Fixed is the per-intent cost: deposit gas and the withdrawal fee, in source base units.
	Fixed *big.Int
	// Min is the smallest amountIn the venue takes on this route (deposit minimum, withdrawal
	// minimum, minimum order value); Max the largest, nil for none.
	Min, Max *big.Int
	// Parts explains the figures for the decision record.
	Parts string
}

// CostModel quotes routes. The planner calls it from its pure core, so an implementation must
// answer from data it already holds (a configured table, or venue facts folded from the stream):
// the same inputs must give the same quote, or replays stop reproducing decisions. The venue
// adapters implement it later; StaticCosts answers from the configuration until then.
type CostModel interface {
	// Quote returns the route's costs through venue, or an error wrapping ErrNoRoute.
	Quote(venue string, r events.Route) (Quote, error)
}

// StaticCosts is the CostModel of the configured cost table (venues[].legs and trades). It is
// safe for concurrent use; quotes are computed once per (venue, route) and kept, which is sound
// because the table never changes.
type StaticCosts struct {
	cfg    *config.Config
	legs   map[legKey]config.Leg
	trades map[tradeKey]config.Trade
	venues map[string]bool
	cache  sync.Map // quoteKey → quoteResult
}

type legKey struct {
	venue string
	chain uint64
	token string
}

type tradeKey struct{ venue, from, to string }

type quoteKey struct {
	venue string
	route events.Route
}

type quoteResult struct {
	q   Quote
	err error
}

// NewStaticCosts returns the configured cost table of cfg.
func NewStaticCosts(cfg *config.Config) *StaticCosts {
	s := &StaticCosts{cfg: cfg, legs: map[legKey]config.Leg{}, trades: map[tradeKey]config.Trade{}, venues: map[string]bool{}}
	for _, v := range cfg.Venues {
		s.venues[v.Name] = true
		for _, l := range v.Legs {
			s.legs[legKey{v.Name, l.Chain, l.Token}] = l
		}
		for _, t := range v.Trades {
			s.trades[tradeKey{v.Name, t.From, t.To}] = t
		}
	}
	return s
}

// Quote implements CostModel. The returned quote's figures are shared: callers must not modify
// them.
func (s *StaticCosts) Quote(venue string, r events.Route) (Quote, error) {
	k := quoteKey{venue, r}
	if v, ok := s.cache.Load(k); ok {
		res := v.(quoteResult)
		return res.q, res.err
	}
	q, err := s.quote(venue, r)
	s.cache.Store(k, quoteResult{q, err})
	return q, err
}

func (s *StaticCosts) quote(venue string, r events.Route) (Quote, error) {
	if !s.venues[venue] {
		return Quote{}, fmt.Errorf("%w: venue %s is not configured", ErrNoRoute, venue)
	}
	in, ok := s.legs[legKey{venue, r.SrcChain, r.SrcToken}]
	if !ok || !in.Deposit {
		return Quote{}, fmt.Errorf("%w: %s takes no %s deposits on chain %d", ErrNoRoute, venue, r.SrcToken, r.SrcChain)
	}
	out, ok := s.legs[legKey{venue, r.DstChain, r.DstToken}]
	if !ok || !out.Withdraw {
		return Quote{}, fmt.Errorf("%w: %s makes no %s withdrawals on chain %d", ErrNoRoute, venue, r.DstToken, r.DstChain)
	}
	conv, err := newConverter(s.cfg, r)
	if err != nil {
		return Quote{}, err
	}
	rate := new(big.Rat).Add(in.Latency.Rat(), out.Latency.Rat())
	var parts []string
	parts = append(parts, "latency "+ratPct(rate))
	q := Quote{Rate: rate, Min: new(big.Int)}
	if r.SrcToken != r.DstToken {
		t, ok := s.trades[tradeKey{venue, r.SrcToken, r.DstToken}]
		if !ok {
			return Quote{}, fmt.Errorf("%w: %s has no %s→%s book", ErrNoRoute, venue, r.SrcToken, r.DstToken)
		}
		rate.Add(rate, t.Fee.Rat())
		rate.Add(rate, t.Spread.Rat())
		parts = append(parts, "trade fee "+ratPct(t.Fee.Rat()), "spread "+ratPct(t.Spread.Rat()))
		minNotional, err := conv.fromValue(t.MinNotional)
		if err != nil {
			return Quote{}, err
		}
		q.Min = maxBig(q.Min, minNotional)
	}
	depCost, err := in.DepositCost.Units(r.SrcDecimals)
	if err != nil {
		return Quote{}, fmt.Errorf("deposit cost: %w", err)
	}
	wdFee, err := conv.dstToSrc(out.WithdrawFee, true)
	if err != nil {
		return Quote{}, err
	}
	q.Fixed = new(big.Int).Add(depCost, wdFee)
	parts = append(parts, fmt.Sprintf("deposit gas %s %s", in.DepositCost.Rat().FloatString(4), r.SrcToken),
		fmt.Sprintf("withdrawal fee %s %s", out.WithdrawFee.Rat().FloatString(4), r.DstToken))
	depMin, err := in.DepositMin.Units(r.SrcDecimals)
	if err != nil {
		return Quote{}, fmt.Errorf("deposit minimum: %w", err)
	}
	q.Min = maxBig(q.Min, depMin)
	wdMin, err := conv.dstToSrc(out.WithdrawMin, true)
	if err != nil {
		return Quote{}, err
	}
	// The withdrawal minimum applies to what arrives, which is the amount less the withdrawal fee.
	q.Min = maxBig(q.Min, new(big.Int).Add(wdMin, wdFee))
	if out.WithdrawMax.Set() && !out.WithdrawMax.IsZero() {
		q.Max, err = conv.dstToSrc(out.WithdrawMax, false)
		if err != nil {
			return Quote{}, err
		}
	}
	q.Parts = strings.Join(parts, ", ")
	return q, nil
}

// ratPct renders a rate as a percentage for records; display only, never computed with.
func ratPct(r *big.Rat) string {
	return new(big.Rat).Mul(r, big.NewRat(100, 1)).FloatString(4) + "%"
}

func maxBig(a, b *big.Int) *big.Int {
	if a.Cmp(b) >= 0 {
		return a
	}
	return b
}

// converter turns amounts between a route's destination and source units through the tokens'
// fair prices, exactly, with an explicit rounding direction.
type converter struct {
	cfg              *config.Config
	srcDec, dstDec   uint8
	srcFair, dstFair *big.Rat
}

func newConverter(cfg *config.Config, r events.Route) (*converter, error) {
	st, ok := cfg.Token(r.SrcToken)
	if !ok {
		return nil, fmt.Errorf("%w: token %s is not configured", ErrNoRoute, r.SrcToken)
	}
	dt, ok := cfg.Token(r.DstToken)
	if !ok {
		return nil, fmt.Errorf("%w: token %s is not configured", ErrNoRoute, r.DstToken)
	}
	return &converter{cfg: cfg, srcDec: r.SrcDecimals, dstDec: r.DstDecimals, srcFair: st.FairPrice.Rat(), dstFair: dt.FairPrice.Rat()}, nil
}

// dstToSrc converts a human amount of the destination token into source base units.
func (c *converter) dstToSrc(d config.Decimal, up bool) (*big.Int, error) {
	x := new(big.Rat).Mul(d.Rat(), c.dstFair)
	x.Quo(x, c.srcFair)
	x.Mul(x, new(big.Rat).SetInt(pow10(c.srcDec)))
	return roundRat(x, up), nil
}

// fromValue converts a human amount in the common unit into source base units, rounded up.
func (c *converter) fromValue(d config.Decimal) (*big.Int, error) {
	x := new(big.Rat).Quo(d.Rat(), c.srcFair)
	x.Mul(x, new(big.Rat).SetInt(pow10(c.srcDec)))
	return roundRat(x, true), nil
}

// roundRat rounds a non-negative rational down, or up when up is set.
func roundRat(x *big.Rat, up bool) *big.Int {
	q, m := new(big.Int).QuoRem(x.Num(), x.Denom(), new(big.Int))
	if up && m.Sign() != 0 {
		q.Add(q, big.NewInt(1))
	}
	return q
}

// pow10 returns 10^n; the result is shared for small n, so callers must not modify it.
func pow10(n uint8) *big.Int {
	if int(n) < len(pow10s) {
		return pow10s[n]
	}
	return new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(n)), nil)
}

var pow10s = func() []*big.Int {
	out := make([]*big.Int, 40)
	for i := range out {
		out[i] = new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(i)), nil)
	}
	return out
}()
