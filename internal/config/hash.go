package config

import (
	"cmp"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"slices"
)

// canonical is the planner-relevant part of the configuration in a fixed shape: lists sorted by
// their keys, decimals as reduced fractions, durations in nanoseconds. Its JSON is what Hash hashes.
type canonical struct {
	Chains     []canonChain `json:"chains"`
	Tokens     []canonToken `json:"tokens"`
	Targets    []canonBand  `json:"targets"`
	Aggregates []canonBand  `json:"aggregates"`
	Venues     []canonVenue `json:"venues"`
	Planner    canonPlanner `json:"planner"`
}

type canonChain struct {
	ID         uint64 `json:"id"`
	StaleAfter int64  `json:"staleAfter"`
}

type canonToken struct {
	Symbol    string       `json:"symbol"`
	FairPrice string       `json:"fairPrice"`
	Chains    []TokenChain `json:"chains"`
}

type canonBand struct {
	Token     string `json:"token"`
	Chain     uint64 `json:"chain,omitempty"`
	Target    string `json:"target"`
	Threshold string `json:"threshold"`
	Max       string `json:"max"`
	Tier      int    `json:"tier,omitempty"`
}

type canonLeg struct {
	Chain                                                             uint64
	Token, Network                                                    string
	Deposit, Withdraw                                                 bool
	DepositMin, DepositCost, WithdrawMin, WithdrawMax, WdFee, Latency string
}

type canonTrade struct {
	From, To, Fee, Spread, MinNotional string
}

type canonVenue struct {
	Name                                  string
	StaleAfter, Cooldown                  int64
	MaxInFlight                           int
	MaxNotional, MinTransfer, MaxTransfer string
	Legs                                  []canonLeg
	Trades                                []canonTrade
}

type canonPlanner struct {
	Mode, FeeBound, AheadOfLedger string
	IntentTTL, Cooldown           int64
	SearchNodes                   int
}

func rat(d Decimal) string { return d.Rat().RatString() }

// Hash is the hex SHA-256 of the canonical planner-relevant configuration. It changes when a
// decision could change (a target, a cost, a cap, staleness, the planner's settings) and not when
// only formatting, order, RPC URLs or other services' sections do.
func (c *Config) Hash() string {
	var k canonical
	for _, ch := range c.Chains {
		k.Chains = append(k.Chains, canonChain{ID: ch.ID, StaleAfter: int64(ch.StaleAfter.Duration)})
	}
	slices.SortFunc(k.Chains, func(a, b canonChain) int { return cmp.Compare(a.ID, b.ID) })
	for _, t := range c.Tokens {
		ct := canonToken{Symbol: t.Symbol, FairPrice: rat(t.FairPrice), Chains: slices.Clone(t.Chains)}
		slices.SortFunc(ct.Chains, func(a, b TokenChain) int { return cmp.Compare(a.Chain, b.Chain) })
		k.Tokens = append(k.Tokens, ct)
	}
	slices.SortFunc(k.Tokens, func(a, b canonToken) int { return cmp.Compare(a.Symbol, b.Symbol) })
	for _, t := range c.Targets {
		k.Targets = append(k.Targets, canonBand{Token: t.Token, Chain: t.Chain, Target: rat(t.Target), Threshold: rat(t.Threshold), Max: rat(t.Max), Tier: t.Tier})
	}
	sortBands(k.Targets)
	for _, a := range c.Aggregates {
		k.Aggregates = append(k.Aggregates, canonBand{Token: a.Token, Target: rat(a.Target), Threshold: rat(a.Threshold), Max: rat(a.Max)})
	}
	sortBands(k.Aggregates)
	for _, v := range c.Venues {
		cv := canonVenue{
			Name: v.Name, StaleAfter: int64(v.StaleAfter.Duration), Cooldown: int64(c.RouteCooldown(v)),
			MaxInFlight: v.MaxInFlight, MaxNotional: rat(v.MaxNotional), MinTransfer: rat(v.MinTransfer), MaxTransfer: rat(v.MaxTransfer),
		}
		for _, l := range v.Legs {
			cv.Legs = append(cv.Legs, canonLeg{
				Chain: l.Chain, Token: l.Token, Network: l.Network, Deposit: l.Deposit, Withdraw: l.Withdraw,
				DepositMin: rat(l.DepositMin), DepositCost: rat(l.DepositCost), WithdrawMin: rat(l.WithdrawMin),
				WithdrawMax: rat(l.WithdrawMax), WdFee: rat(l.WithdrawFee), Latency: rat(l.Latency),
			})
		}
		slices.SortFunc(cv.Legs, func(a, b canonLeg) int {
			return cmp.Or(cmp.Compare(a.Chain, b.Chain), cmp.Compare(a.Token, b.Token))
		})
		for _, t := range v.Trades {
			cv.Trades = append(cv.Trades, canonTrade{From: t.From, To: t.To, Fee: rat(t.Fee), Spread: rat(t.Spread), MinNotional: rat(t.MinNotional)})
		}
		slices.SortFunc(cv.Trades, func(a, b canonTrade) int {
			return cmp.Or(cmp.Compare(a.From, b.From), cmp.Compare(a.To, b.To))
		})
		k.Venues = append(k.Venues, cv)
	}
	slices.SortFunc(k.Venues, func(a, b canonVenue) int { return cmp.Compare(a.Name, b.Name) })
	p := c.Planner
	k.Planner = canonPlanner{Mode: p.Mode, FeeBound: rat(p.FeeBound), AheadOfLedger: p.AheadOfLedger, IntentTTL: int64(p.IntentTTL.Duration), Cooldown: int64(p.Cooldown.Duration), SearchNodes: p.SearchNodes}
	b, err := json.Marshal(k)
	if err != nil {
		panic("config: canonical form does not marshal: " + err.Error()) // plain structs: cannot happen
	}
	sum := sha256.Sum256(b)
	return hex.EncodeToString(sum[:])
}

func sortBands(b []canonBand) {
	slices.SortFunc(b, func(x, y canonBand) int {
		return cmp.Or(cmp.Compare(x.Token, y.Token), cmp.Compare(x.Chain, y.Chain))
	})
}
