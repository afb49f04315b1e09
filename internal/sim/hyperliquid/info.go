package hlsim

import (
	"encoding/json"
	"fmt"
	"math/big"
	"sort"
	"strings"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// infoRequest is the union of the /info request fields the simulator reads.
type infoRequest struct {
	Type      string          `json:"type"`
	User      string          `json:"user"`
	Oid       json.RawMessage `json:"oid"`
	Coin      string          `json:"coin"`
	StartTime *int64          `json:"startTime"`
	EndTime   *int64          `json:"endTime"`
}

// infoWeight is the venue's documented weight of an /info request.
func infoWeight(typ string) int {
	switch typ {
	case "l2Book", "allMids", "clearinghouseState", "orderStatus", "spotClearinghouseState", "exchangeStatus":
		return 2
	case "userRole":
		return 60
	}
	return 20
}

// info answers one /info request. The bool is false for a request the venue would refuse to
// deserialize (HTTP 422).
func (s *Sim) info(req infoRequest) (any, bool) {
	switch req.Type {
	case "spotMeta":
		return s.spotMeta(), true
	case "spotMetaAndAssetCtxs":
		return []any{s.spotMeta(), s.assetCtxs()}, true
	case "spotClearinghouseState":
		u, ok := addr(req.User)
		if !ok {
			return nil, false
		}
		return s.spotState(u), true
	case "clearinghouseState":
		u, ok := addr(req.User)
		if !ok {
			return nil, false
		}
		return s.perpState(u), true
	case "orderStatus":
		u, ok := addr(req.User)
		if !ok {
			return nil, false
		}
		return s.orderStatus(u, req.Oid)
	case "l2Book":
		return s.l2Book(req.Coin), true
	case "userFills", "userFillsByTime":
		u, ok := addr(req.User)
		if !ok {
			return nil, false
		}
		return s.userFills(u, req.StartTime, req.EndTime), true
	case "userNonFundingLedgerUpdates":
		u, ok := addr(req.User)
		if !ok || req.StartTime == nil {
			return nil, false
		}
		return s.ledgerUpdates(u, *req.StartTime, req.EndTime), true
	case "userFees":
		if _, ok := addr(req.User); !ok {
			return nil, false
		}
		return map[string]any{
			"dailyUserVlm":           []any{},
			"userCrossRate":          "0.00045",
			"userAddRate":            "0.00015",
			"userSpotCrossRate":      wire.FormatRat(s.cfg.TakerFee, 8, true),
			"userSpotAddRate":        wire.FormatRat(s.cfg.MakerFee, 8, true),
			"activeReferralDiscount": "0.0",
		}, true
	case "exchangeStatus":
		return map[string]any{"time": s.nowMs(), "specialStatuses": nil}, true
	}
	return nil, false
}

func addr(s string) (common.Address, bool) {
	if !common.IsHexAddress(s) {
		return common.Address{}, false
	}
	return common.HexToAddress(s), true
}

func (s *Sim) spotMeta() map[string]any {
	idx := make([]uint32, 0, len(s.tokens))
	for i := range s.tokens {
		idx = append(idx, i)
	}
	sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
	tokens := []any{}
	for _, i := range idx {
		t := s.tokens[i]
		var evm any
		if t.EVMContract != (common.Address{}) {
			evm = map[string]any{"address": strings.ToLower(t.EVMContract.Hex()),
				"evm_extra_wei_decimals": t.EVMDecimals - t.WeiDecimals}
		}
		tokens = append(tokens, map[string]any{"name": t.Name, "szDecimals": t.SzDecimals,
			"weiDecimals": t.WeiDecimals, "index": t.Index, "tokenId": t.TokenID, "isCanonical": t.Index == s.cfg.USDC,
			"evmContract": evm, "fullName": nil, "deployerTradingFeeShare": "0.0"})
	}
	universe := []any{}
	assets := make([]uint32, 0, len(s.books))
	for a := range s.books {
		assets = append(assets, a)
	}
	sort.Slice(assets, func(i, j int) bool { return assets[i] < assets[j] })
	for _, a := range assets {
		p := s.books[a].pair
		universe = append(universe, map[string]any{"tokens": []uint32{p.Base, p.Quote},
			"name": fmt.Sprintf("@%d", p.Index), "index": p.Index, "isCanonical": false})
	}
	return map[string]any{"tokens": tokens, "universe": universe}
}

func (s *Sim) assetCtxs() []any {
	out := []any{}
	for _, b := range s.sortedBooks() {
		ctx := map[string]any{"coin": coinName(b), "dayNtlVlm": "0.0", "prevDayPx": "1.0"}
		if len(b.bids) > 0 && len(b.asks) > 0 {
			mid := new(big.Rat).Add(b.bids[0].px, b.asks[0].px)
			mid.Quo(mid, big.NewRat(2, 1))
			ctx["midPx"] = wire.FormatRat(mid, 8, false)
			ctx["markPx"] = ctx["midPx"]
		}
		out = append(out, ctx)
	}
	return out
}

func (s *Sim) sortedBooks() []*book {
	var bs []*book
	for _, b := range s.books {
		bs = append(bs, b)
	}
	sort.Slice(bs, func(i, j int) bool { return bs[i].pair.Index < bs[j].pair.Index })
	return bs
}

func (s *Sim) spotState(u common.Address) map[string]any {
	balances := []any{}
	if a := s.accounts[u]; a != nil {
		idx := make([]uint32, 0, len(a.spot))
		for i := range a.spot {
			idx = append(idx, i)
		}
		sort.Slice(idx, func(i, j int) bool { return idx[i] < idx[j] })
		for _, i := range idx {
			t := s.tokens[i]
			balances = append(balances, map[string]any{"coin": t.Name, "token": t.Index, "hold": "0.0",
				"total": wire.FormatDecimal(a.bal(i), t.WeiDecimals), "entryNtl": "0.0"})
		}
	}
	return map[string]any{"balances": balances}
}

func (s *Sim) perpState(u common.Address) map[string]any {
	v := "0.0"
	if a := s.accounts[u]; a != nil {
		v = wire.FormatDecimal(a.perp, s.tokens[s.cfg.USDC].WeiDecimals)
	}
	summary := map[string]any{"accountValue": v, "totalNtlPos": "0.0", "totalRawUsd": v, "totalMarginUsed": "0.0"}
	return map[string]any{"marginSummary": summary, "crossMarginSummary": summary, "crossMaintenanceMarginUsed": "0.0",
		"withdrawable": v, "assetPositions": []any{}, "time": s.nowMs()}
}

func (s *Sim) orderStatus(u common.Address, raw json.RawMessage) (any, bool) {
	var o *order
	var asNum uint64
	var asStr string
	switch {
	case json.Unmarshal(raw, &asNum) == nil:
		if x := s.orders[asNum]; x != nil && x.User == u {
			o = x
		}
	case json.Unmarshal(raw, &asStr) == nil:
		if !validCloid(asStr) {
			return nil, false
		}
		o = s.cloids[u][strings.ToLower(asStr)]
	default:
		return nil, false
	}
	if o == nil {
		return map[string]any{"status": "unknownOid"}, true
	}
	b := s.books[o.Asset]
	side := "A"
	if o.IsBuy {
		side = "B"
	}
	var cloid any
	if o.Cloid != "" {
		cloid = o.Cloid
	}
	rest := new(big.Int).Sub(o.OrigSz, o.Filled)
	return map[string]any{"status": "order", "order": map[string]any{
		"order": map[string]any{"coin": o.Coin, "side": side, "limitPx": o.LimitPx,
			"sz": wire.FormatDecimal(rest, b.base.WeiDecimals), "oid": o.Oid, "timestamp": o.Timestamp,
			"origSz": wire.FormatDecimal(o.OrigSz, b.base.WeiDecimals), "cloid": cloid, "orderType": "Limit",
			"tif": "Ioc", "reduceOnly": false},
		"status": o.Status, "statusTimestamp": o.Timestamp}}, true
}

func (s *Sim) l2Book(coin string) any {
	for _, b := range s.books {
		if coinName(b) != coin {
			continue
		}
		side := func(ls []*level) []any {
			out := []any{}
			for i, l := range ls {
				if i == 20 {
					break
				}
				out = append(out, map[string]any{"px": wire.FormatRat(l.px, 8, false),
					"sz": wire.FormatDecimal(l.sz, b.base.WeiDecimals), "n": 1})
			}
			return out
		}
		return map[string]any{"coin": coin, "time": s.nowMs(), "levels": []any{side(b.bids), side(b.asks)}}
	}
	return nil
}

func (s *Sim) userFills(u common.Address, start, end *int64) []any {
	out := []any{}
	fs := s.fills[u]
	for i := len(fs) - 1; i >= 0; i-- { // newest first, as the venue answers
		f := fs[i]
		if (start != nil && f.Time < *start) || (end != nil && f.Time > *end) {
			continue
		}
		m := map[string]any{"coin": f.Coin, "px": f.Px, "sz": f.Sz, "side": f.Side, "time": f.Time,
			"startPosition": "0.0", "dir": f.Dir, "closedPnl": "0.0", "hash": f.Hash, "oid": f.Oid,
			"crossed": true, "fee": f.Fee, "tid": f.Tid, "feeToken": f.FeeToken}
		if f.Cloid != "" {
			m["cloid"] = f.Cloid
		}
		out = append(out, m)
	}
	return out
}

func (s *Sim) ledgerUpdates(u common.Address, start int64, end *int64) []any {
	out := []any{}
	for _, l := range s.ledger[u] {
		if l.Time < start || (end != nil && l.Time > *end) {
			continue
		}
		out = append(out, l)
	}
	return out
}
