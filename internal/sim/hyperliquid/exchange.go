package hlsim

import (
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// okResponse builds {"status":"ok","response":{"type":typ,"data":data}}.
func okResponse(typ string, data any) map[string]any {
	r := map[string]any{"type": typ}
	if data != nil {
		r["data"] = data
	}
	return map[string]any{"status": "ok", "response": r}
}

func errResponse(msg string) map[string]any { return map[string]any{"status": "err", "response": msg} }

// verify recovers the signer of an exchange request and checks the network and the nonce. It returns
// the user and a venue error message ("" when accepted).
func (s *Sim) verify(req wire.ExchangeRequest, action any) (common.Address, string) {
	if req.VaultAddress != nil && *req.VaultAddress != "" {
		return common.Address{}, "Vault trading is not supported by the simulator"
	}
	if req.ExpiresAfter != nil && int64(*req.ExpiresAfter) < s.nowMs() {
		return common.Address{}, fmt.Sprintf("Action expired at %d", *req.ExpiresAfter)
	}
	var (
		digest common.Hash
		err    error
	)
	switch a := action.(type) {
	case wire.L1Action:
		digest, err = wire.L1Digest(s.cfg.Network, canonicalL1(a), req.Nonce, nil, req.ExpiresAfter)
	case wire.UserSignedAction:
		if a.Chain() != s.cfg.Network.ChainName() {
			return common.Address{}, fmt.Sprintf("Invalid hyperliquidChain %q", a.Chain())
		}
		if a.ActionNonce() != req.Nonce {
			return common.Address{}, "Action nonce does not match request nonce"
		}
		digest, err = wire.UserSignedDigest(a)
	default:
		return common.Address{}, "Unsupported action"
	}
	if err != nil {
		return common.Address{}, "Invalid signature: " + err.Error()
	}
	signer, err := wire.Recover(digest, req.Signature)
	if err != nil {
		return common.Address{}, "Invalid signature"
	}
	acct := s.accounts[signer]
	if acct == nil {
		return signer, fmt.Sprintf("User or API Wallet %s does not exist.", strings.ToLower(signer.Hex()))
	}
	if msg := acct.nonces.accept(req.Nonce, s.cfg.Now()); msg != "" {
		return signer, msg
	}
	return signer, ""
}

// canonicalL1 re-encodes prices and sizes as the venue parses them (numbers, no trailing zeros), so a
// client that signs "1.50" has signed a different action than the one the venue hashes.
func canonicalL1(a wire.L1Action) wire.L1Action {
	oa, ok := a.(wire.OrderAction)
	if !ok {
		return a
	}
	out := oa
	out.Orders = make([]wire.OrderWire, len(oa.Orders))
	for i, o := range oa.Orders {
		o.Price, o.Size = canonicalDecimal(o.Price), canonicalDecimal(o.Size)
		o.Cloid = strings.ToLower(o.Cloid)
		out.Orders[i] = o
	}
	return out
}

func canonicalDecimal(s string) string {
	if _, err := wire.ParseRat(s); err != nil {
		return s
	}
	if strings.Contains(s, ".") {
		s = strings.TrimRight(strings.TrimRight(s, "0"), ".")
	}
	if t := strings.TrimLeft(s, "0"); t != s {
		if t == "" || t[0] == '.' {
			t = "0" + t
		}
		s = t
	}
	return s
}

func actionHashHex(req wire.ExchangeRequest) string {
	return crypto.Keccak256Hash(req.Action, new(big.Int).SetUint64(req.Nonce).Bytes()).Hex()
}

// apply executes a verified action for user and returns the response body.
func (s *Sim) apply(user common.Address, req wire.ExchangeRequest, action any) map[string]any {
	switch a := action.(type) {
	case wire.OrderAction:
		statuses := make([]any, 0, len(a.Orders))
		for _, o := range a.Orders {
			statuses = append(statuses, s.placeOrder(user, o, req.Nonce))
		}
		return okResponse("order", map[string]any{"statuses": statuses})
	case wire.CancelByCloidAction:
		statuses := make([]any, 0, len(a.Cancels))
		for _, c := range a.Cancels {
			// IOC orders never rest, so there is never anything to cancel.
			o := s.cloids[user][strings.ToLower(c.Cloid)]
			if o == nil || o.Status != "open" {
				statuses = append(statuses, map[string]any{"error": "Order was never placed, already canceled, or filled."})
				continue
			}
			o.Status = "canceled"
			s.event(Event{Kind: EvCancel, User: user, Cloid: o.Cloid, Oid: o.Oid})
			statuses = append(statuses, "success")
		}
		return okResponse("cancel", map[string]any{"statuses": statuses})
	case wire.SpotSend:
		return s.spotSend(user, req, a)
	case wire.Withdraw3:
		return s.withdraw(user, req, a)
	case wire.UsdClassTransfer:
		return s.classTransfer(user, req, a)
	}
	return errResponse("Unsupported action")
}

func (s *Sim) spotSend(user common.Address, req wire.ExchangeRequest, a wire.SpotSend) map[string]any {
	name, id, ok := strings.Cut(a.Token, ":")
	t := s.byName[name]
	if !ok || t == nil || !strings.EqualFold(id, t.TokenID) {
		return errResponse(fmt.Sprintf("Invalid token %s", a.Token))
	}
	amt, err := wire.ParseDecimal(a.Amount, t.WeiDecimals)
	if err != nil || amt.Sign() <= 0 {
		return errResponse("Invalid amount " + a.Amount)
	}
	if !common.IsHexAddress(a.Destination) {
		return errResponse("Invalid destination " + a.Destination)
	}
	acct := s.accounts[user]
	if acct.bal(t.Index).Cmp(amt) < 0 {
		return errResponse("Insufficient balance for token transfer")
	}
	dest := common.HexToAddress(a.Destination)
	acct.spot[t.Index] = new(big.Int).Sub(acct.bal(t.Index), amt)
	hash := actionHashHex(req)
	delta := map[string]any{"type": "spotTransfer", "token": t.Name, "amount": a.Amount, "usdcValue": a.Amount,
		"user": strings.ToLower(user.Hex()), "destination": strings.ToLower(dest.Hex()), "fee": "0.0",
		"nativeTokenFee": "0.0", "nonce": a.Time}
	s.ledger[user] = append(s.ledger[user], ledgerUpdate{Time: s.nowMs(), Hash: hash, Delta: delta})
	s.event(Event{Kind: EvSpotSend, User: user, Nonce: a.Time, Token: t.Name, Amount: amt, Note: dest.Hex()})
	if dest == t.SystemAddress() {
		s.queuePayoutEVM(user, t, amt, a.Time)
	} else {
		d := s.acct(dest)
		d.spot[t.Index] = new(big.Int).Add(d.bal(t.Index), amt)
		s.ledger[dest] = append(s.ledger[dest], ledgerUpdate{Time: s.nowMs(), Hash: hash, Delta: delta})
	}
	return okResponse("default", nil)
}

func (s *Sim) withdraw(user common.Address, req wire.ExchangeRequest, a wire.Withdraw3) map[string]any {
	usdc := s.tokens[s.cfg.USDC]
	amt, err := wire.ParseDecimal(a.Amount, usdc.WeiDecimals)
	if err != nil || amt.Sign() <= 0 {
		return errResponse("Invalid amount " + a.Amount)
	}
	if amt.Cmp(s.wdFee) <= 0 {
		return errResponse("Withdrawal amount must exceed the fee")
	}
	if !common.IsHexAddress(a.Destination) {
		return errResponse("Invalid destination " + a.Destination)
	}
	acct := s.accounts[user]
	// withdraw3 draws on the perp USDC balance (the withdrawable amount).
	if acct.perp.Cmp(amt) < 0 {
		return errResponse("Insufficient balance for withdrawal")
	}
	acct.perp = new(big.Int).Sub(acct.perp, amt)
	hash := actionHashHex(req)
	s.ledger[user] = append(s.ledger[user], ledgerUpdate{Time: s.nowMs(), Hash: hash, Delta: map[string]any{
		"type": "withdraw", "usdc": a.Amount, "nonce": a.Time, "fee": wire.FormatDecimal(s.wdFee, usdc.WeiDecimals)}})
	s.event(Event{Kind: EvWithdraw, User: user, Nonce: a.Time, Token: usdc.Name, Amount: amt, Note: a.Destination})
	s.queuePayoutArbitrum(user, common.HexToAddress(a.Destination), new(big.Int).Sub(amt, s.wdFee), a.Time)
	return okResponse("default", nil)
}

func (s *Sim) classTransfer(user common.Address, req wire.ExchangeRequest, a wire.UsdClassTransfer) map[string]any {
	usdc := s.tokens[s.cfg.USDC]
	amt, err := wire.ParseDecimal(a.Amount, usdc.WeiDecimals)
	if err != nil || amt.Sign() <= 0 {
		return errResponse("Invalid amount " + a.Amount)
	}
	acct := s.accounts[user]
	if a.ToPerp {
		if acct.bal(usdc.Index).Cmp(amt) < 0 {
			return errResponse("Insufficient balance for transfer")
		}
		acct.spot[usdc.Index] = new(big.Int).Sub(acct.bal(usdc.Index), amt)
		acct.perp = new(big.Int).Add(acct.perp, amt)
	} else {
		if acct.perp.Cmp(amt) < 0 {
			return errResponse("Insufficient balance for transfer")
		}
		acct.perp = new(big.Int).Sub(acct.perp, amt)
		acct.spot[usdc.Index] = new(big.Int).Add(acct.bal(usdc.Index), amt)
	}
	s.ledger[user] = append(s.ledger[user], ledgerUpdate{Time: s.nowMs(), Hash: actionHashHex(req), Delta: map[string]any{
		"type": "accountClassTransfer", "usdc": a.Amount, "toPerp": a.ToPerp, "nonce": a.Nonce}})
	s.event(Event{Kind: EvClassTransfer, User: user, Nonce: a.Nonce, Token: usdc.Name, Amount: amt,
		Note: fmt.Sprintf("toPerp=%t", a.ToPerp)})
	return okResponse("default", nil)
}
