package hyperliquid

import (
	"context"
	"errors"
	"fmt"
	"math/big"
	"regexp"
	"strings"
	"sync/atomic"
	"time"

	"github.com/ethereum/go-ethereum/common"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// VenueConfig places the venue's routes on chains. Zero values take the configured network's
// defaults (Arbitrum One / HyperEVM 999 on mainnet, Arbitrum Sepolia / HyperEVM 998 on testnet).
type VenueConfig struct {
	ArbitrumChainID uint64
	// ArbitrumUSDC is native USDC on Arbitrum (the token Bridge2 accepts) and its decimals (6).
	ArbitrumUSDC     common.Address
	ArbitrumDecimals uint8
	// Bridge2 is the deposit contract (default per network).
	Bridge2 common.Address
	// MinBridgeDeposit is the smallest Bridge2 deposit the venue credits, in Arbitrum USDC units
	// (5 USDC): smaller deposits are lost.
	MinBridgeDeposit *big.Int
	HyperEVMChainID  uint64
	// CoreDepositWallet is where HyperEVM USDC enters HyperCore (approve, then deposit).
	CoreDepositWallet common.Address
	// HyperEVMPayer, when set, is the sender of HyperEVM payouts instead of the token's system
	// address. Only for simulators, whose chains cannot sign as a system address.
	HyperEVMPayer common.Address
	// Coins maps rebalancer token symbols to the venue's coin names (USDC→USDC, USDT→USDT0).
	Coins map[string]string
	// Store persists prepared transfers per step.
	Store PreparedStore
}

// Venue is the common venue view (venue.Venue) over a Client.
type Venue struct {
	c   *Client
	cfg VenueConfig
	seq atomic.Uint64
}

var _ venue.Venue = (*Venue)(nil)

// NewVenue wraps c.
func NewVenue(c *Client, cfg VenueConfig) (*Venue, error) {
	if cfg.Store == nil {
		return nil, fmt.Errorf("%w: venue needs a PreparedStore", ErrConfig)
	}
	main := c.cfg.Network == wire.Mainnet
	if cfg.ArbitrumChainID == 0 {
		cfg.ArbitrumChainID = map[bool]uint64{true: 42161, false: 421614}[main]
	}
	if cfg.HyperEVMChainID == 0 {
		cfg.HyperEVMChainID = map[bool]uint64{true: 999, false: 998}[main]
	}
	if cfg.Bridge2 == (common.Address{}) {
		cfg.Bridge2 = map[bool]common.Address{true: Bridge2Mainnet, false: Bridge2Testnet}[main]
	}
	if cfg.ArbitrumDecimals == 0 {
		cfg.ArbitrumDecimals = 6
	}
	if cfg.MinBridgeDeposit == nil {
		cfg.MinBridgeDeposit = new(big.Int).Mul(big.NewInt(5), pow10(int(cfg.ArbitrumDecimals)))
	}
	if cfg.Coins == nil {
		cfg.Coins = map[string]string{"USDC": c.Meta().Quote.Name, "USDT": c.Meta().Base.Name}
	}
	return &Venue{c: c, cfg: cfg}, nil
}

// Name is "hyperliquid".
func (v *Venue) Name() string { return events.VenueHyperliquid }

func (v *Venue) coin(token string) (Token, error) {
	name, ok := v.cfg.Coins[token]
	if !ok {
		return Token{}, fmt.Errorf("%w: token %s", venue.ErrUnsupported, token)
	}
	t, err := v.c.Token(name)
	if err != nil {
		return Token{}, fmt.Errorf("%w: %w", venue.ErrUnsupported, err)
	}
	return t, nil
}

func (v *Venue) tokenOf(coin string) string {
	for tok, c := range v.cfg.Coins {
		if c == coin {
			return tok
		}
	}
	return coin
}

// Routes lists USDC on Arbitrum (Bridge2 in, withdraw3 out) and every pair token linked to HyperEVM
// (system address or CoreDepositWallet in, spotSend out).
func (v *Venue) Routes(ctx context.Context) ([]venue.Route, error) {
	if err := v.c.RefreshIfStale(ctx); err != nil {
		return nil, err
	}
	m := v.c.Meta()
	fee, err := v.withdrawFee()
	if err != nil {
		return nil, err
	}
	var routes []venue.Route
	if v.cfg.ArbitrumUSDC != (common.Address{}) {
		routes = append(routes, venue.Route{Venue: v.Name(), Token: v.tokenOf(m.Quote.Name), Coin: m.Quote.Name,
			Network: "ARBITRUM", ChainID: v.cfg.ArbitrumChainID, TokenAddress: v.cfg.ArbitrumUSDC.Hex(),
			Decimals: v.cfg.ArbitrumDecimals, DepositEnabled: true, WithdrawEnabled: true,
			Limits: venue.Limits{
				WithdrawFee: fee.Rescale(v.cfg.ArbitrumDecimals, venue.Up),
				WithdrawMin: venue.NewAmount(new(big.Int).Add(fee.Rescale(v.cfg.ArbitrumDecimals, venue.Up).Units, big.NewInt(1)), v.cfg.ArbitrumDecimals),
			}})
	}
	for _, t := range []Token{m.Quote, m.Base} {
		if t.EVMContract == (common.Address{}) {
			continue
		}
		dec := uint8(t.EVMDecimals)
		routes = append(routes, venue.Route{Venue: v.Name(), Token: v.tokenOf(t.Name), Coin: t.Name,
			Network: "HYPEREVM", ChainID: v.cfg.HyperEVMChainID, TokenAddress: t.EVMContract.Hex(), Decimals: dec,
			DepositEnabled:  t.Index != m.Quote.Index || v.cfg.CoreDepositWallet != (common.Address{}),
			WithdrawEnabled: true,
			Limits:          venue.Limits{WithdrawFee: venue.Zero(dec), WithdrawMin: venue.NewAmount(big.NewInt(1), dec)}})
	}
	return routes, nil
}

func (v *Venue) withdrawFee() (venue.Amount, error) {
	m := v.c.Meta()
	fee, err := wire.ParseDecimal(v.c.cfg.WithdrawFee, m.Quote.WeiDecimals)
	if err != nil {
		return venue.Amount{}, fmt.Errorf("%w: withdraw fee: %w", ErrConfig, err)
	}
	return venue.NewAmount(fee, uint8(m.Quote.WeiDecimals)), nil
}

func (v *Venue) route(ctx context.Context, k venue.Key) (venue.Route, error) {
	routes, err := v.Routes(ctx)
	if err != nil {
		return venue.Route{}, err
	}
	for _, r := range routes {
		if r.Key() == k {
			return r, nil
		}
	}
	return venue.Route{}, fmt.Errorf("%w: route %s on chain %d", venue.ErrUnsupported, k.Token, k.ChainID)
}

// Quote prices src → dst from the live book and fees: the trade through the book's depth (IOC at
// the worst level needed), the taker fee on the received token and withdraw3's fee to Arbitrum.
func (v *Venue) Quote(ctx context.Context, src, dst venue.Key, amountIn venue.Amount) (venue.Quote, error) {
	sr, err := v.route(ctx, src)
	if err != nil {
		return venue.Quote{}, err
	}
	dr, err := v.route(ctx, dst)
	if err != nil {
		return venue.Quote{}, err
	}
	m := v.c.Meta()
	from, err := v.coin(src.Token)
	if err != nil {
		return venue.Quote{}, err
	}
	to, err := v.coin(dst.Token)
	if err != nil {
		return venue.Quote{}, err
	}
	q := venue.Quote{Src: src, Dst: dst, AmountIn: amountIn, AsOf: v.c.cfg.Now(), Feasible: true,
		TradeFee: venue.Zero(sr.Decimals), WithdrawFee: venue.Zero(dr.Decimals)}
	in := amountIn.Rescale(uint8(from.WeiDecimals), venue.Down).Units
	received := new(big.Int).Set(in)
	minIn := venue.Zero(sr.Decimals)
	if from.Index != to.Index {
		book, err := v.c.Book(ctx)
		if err != nil {
			return venue.Quote{}, err
		}
		fees, err := v.c.Fees(ctx)
		if err != nil {
			return venue.Quote{}, err
		}
		var plan Plan
		if from.Index == m.Quote.Index {
			plan, err = PlanBuy(m, book, in, fees.Taker, nil)
		} else {
			plan, err = PlanSell(m, book, in, fees.Taker, nil)
		}
		if err != nil {
			q.Feasible, q.Why = false, err.Error()
			received.SetInt64(0)
		} else {
			received = plan.Expected
			gross := plan.Size
			if !plan.IsBuy {
				gross = new(big.Int).Add(plan.Expected, ceilInt(new(big.Rat).Mul(new(big.Rat).SetInt(plan.Expected), fees.Taker)))
			}
			q.TradeFee = venue.NewAmount(new(big.Int).Sub(gross, plan.Expected), uint8(to.WeiDecimals)).Rescale(sr.Decimals, venue.Up)
		}
		minNtl, err := venue.ParseAmount(v.c.cfg.MinNotional, sr.Decimals)
		if err != nil {
			return venue.Quote{}, fmt.Errorf("%w: min notional: %w", ErrConfig, err)
		}
		minIn = minNtl
	}
	if src.ChainID == v.cfg.ArbitrumChainID {
		if mb := venue.NewAmount(v.cfg.MinBridgeDeposit, v.cfg.ArbitrumDecimals); mb.Cmp(minIn) > 0 {
			minIn = mb.Rescale(sr.Decimals, venue.Up)
		}
	}
	if dst.ChainID == v.cfg.ArbitrumChainID {
		q.WithdrawFee = dr.Limits.WithdrawFee
		received.Sub(received, q.WithdrawFee.Rescale(uint8(to.WeiDecimals), venue.Up).Units)
		if wm := dr.Limits.WithdrawMin.Rescale(sr.Decimals, venue.Up); wm.Cmp(minIn) > 0 {
			minIn = wm
		}
	}
	if received.Sign() < 0 {
		received.SetInt64(0)
	}
	q.Out = venue.NewAmount(received, uint8(to.WeiDecimals)).Rescale(dr.Decimals, venue.Down)
	q.MinIn = minIn
	spread := new(big.Rat).Sub(amountIn.Rat(), q.Out.Rat())
	spread.Sub(spread, q.TradeFee.Rat()).Sub(spread, q.WithdrawFee.Rat())
	q.Spread = venue.FromRatUp(spread, sr.Decimals)
	switch {
	case !sr.DepositEnabled:
		q.Feasible, q.Why = false, "deposits disabled on the source route"
	case amountIn.Cmp(minIn) < 0:
		q.Feasible, q.Why = false, fmt.Sprintf("amount below the minimum %s", minIn)
	case q.Out.Sign() <= 0 && q.Feasible:
		q.Feasible, q.Why = false, "nothing would arrive"
	}
	return q, nil
}

// Balances reads spot (USDC, USDT0) and perp USDC balances.
func (v *Venue) Balances(ctx context.Context) (venue.Snapshot, error) {
	bs, err := v.c.Balances(ctx)
	if err != nil {
		return venue.Snapshot{}, err
	}
	perp, err := v.c.PerpWithdrawable(ctx)
	if err != nil {
		return venue.Snapshot{}, err
	}
	m := v.c.Meta()
	snap := venue.Snapshot{Venue: v.Name(), Account: v.c.Address(), Seq: v.seq.Add(1), AsOf: v.c.cfg.Now()}
	have := map[string]bool{}
	for _, b := range bs {
		have[b.Token] = true
		snap.Balances = append(snap.Balances, venue.Balance{Token: v.tokenOf(b.Token), Coin: b.Token, Wallet: "spot",
			Free: venue.NewAmount(b.Available, uint8(b.Decimals)), Locked: venue.NewAmount(b.Hold, uint8(b.Decimals))})
	}
	for _, t := range []Token{m.Quote, m.Base} {
		if !have[t.Name] {
			snap.Balances = append(snap.Balances, venue.Balance{Token: v.tokenOf(t.Name), Coin: t.Name, Wallet: "spot",
				Free: venue.Zero(uint8(t.WeiDecimals)), Locked: venue.Zero(uint8(t.WeiDecimals))})
		}
	}
	snap.Balances = append(snap.Balances, venue.Balance{Token: v.tokenOf(m.Quote.Name), Coin: m.Quote.Name, Wallet: "perp",
		Free: venue.NewAmount(perp, uint8(m.Quote.WeiDecimals)), Locked: venue.Zero(uint8(m.Quote.WeiDecimals))})
	return snap, nil
}

// DepositAddress is Bridge2 for Arbitrum USDC (a plain transfer of at least MinBridgeDeposit), the
// token's system address for HyperEVM tokens other than USDC (a plain transfer), and
// CoreDepositWallet for HyperEVM USDC, which must be approved and then deposited with
// DepositCalldata: a plain transfer to the wallet is lost.
func (v *Venue) DepositAddress(ctx context.Context, k venue.Key) (string, error) {
	if _, err := v.route(ctx, k); err != nil {
		return "", err
	}
	t, err := v.coin(k.Token)
	if err != nil {
		return "", err
	}
	switch {
	case k.ChainID == v.cfg.ArbitrumChainID:
		return v.cfg.Bridge2.Hex(), nil
	case t.Index == v.c.Meta().Quote.Index:
		if v.cfg.CoreDepositWallet == (common.Address{}) {
			return "", fmt.Errorf("%w: no CoreDepositWallet configured", venue.ErrUnsupported)
		}
		return v.cfg.CoreDepositWallet.Hex(), nil
	default:
		return t.SystemAddress().Hex(), nil
	}
}

// PayoutSender is the address whose ERC20 Transfer delivers a withdrawal on the route's chain:
// Bridge2 on Arbitrum (withdraw3), the token's system address on HyperEVM (spotSend). The venue
// reports no chain transaction for either, so the executor finds the landing by this sender.
func (v *Venue) PayoutSender(ctx context.Context, k venue.Key) (string, error) {
	if _, err := v.route(ctx, k); err != nil {
		return "", err
	}
	if k.ChainID == v.cfg.ArbitrumChainID {
		return v.cfg.Bridge2.Hex(), nil
	}
	if v.cfg.HyperEVMPayer != (common.Address{}) {
		return v.cfg.HyperEVMPayer.Hex(), nil
	}
	t, err := v.coin(k.Token)
	if err != nil {
		return "", err
	}
	return t.SystemAddress().Hex(), nil
}

// ArbitrumChainID is the chain of Bridge2 deposits and withdraw3 payouts; every other route is
// HyperEVM's (spot in, spotSend out).
func (v *Venue) ArbitrumChainID() uint64 { return v.cfg.ArbitrumChainID }

// CoreDepositWallet is where HyperEVM USDC enters HyperCore (approve, then DepositCalldata); zero
// when not configured.
func (v *Venue) CoreDepositWallet() common.Address { return v.cfg.CoreDepositWallet }

// ViaDepositWallet reports whether the route's deposits go through CoreDepositWallet (approve, then
// deposit) rather than a plain ERC20 transfer.
func (v *Venue) ViaDepositWallet(ctx context.Context, k venue.Key) (bool, error) {
	if _, err := v.route(ctx, k); err != nil {
		return false, err
	}
	if k.ChainID == v.cfg.ArbitrumChainID {
		return false, nil
	}
	t, err := v.coin(k.Token)
	if err != nil {
		return false, err
	}
	return t.Index == v.c.Meta().Quote.Index, nil
}

// FindDeposit finds the HyperCore credit of a deposit transaction.
func (v *Venue) FindDeposit(ctx context.Context, k venue.Key, txHash string) (venue.Deposit, error) {
	r, err := v.route(ctx, k)
	if err != nil {
		return venue.Deposit{}, err
	}
	since := v.c.cfg.Now().Add(-7 * 24 * time.Hour).UnixMilli()
	d, found, err := v.c.FindDeposit(ctx, common.HexToHash(txHash), since)
	if err != nil {
		return venue.Deposit{}, err
	}
	if !found {
		return venue.Deposit{}, fmt.Errorf("deposit %s: %w", txHash, venue.ErrNotFound)
	}
	t, _ := v.c.Token(d.Token)
	wallet := "spot"
	if d.Perp {
		wallet = "perp"
	}
	return venue.Deposit{Route: k, TxHash: txHash, Status: venue.DepositCredited, Wallet: wallet, Raw: d.Hash,
		Amount: venue.NewAmount(d.Amount, uint8(t.WeiDecimals)).Rescale(r.Decimals, venue.Down)}, nil
}

// MakeTradable moves perp USDC (where Bridge2 deposits land) to spot when spot holds less than
// amount. It re-reads balances each time and moves only the shortfall, so repeating it is safe.
func (v *Venue) MakeTradable(ctx context.Context, token string, amount venue.Amount) (venue.Wait, error) {
	t, err := v.coin(token)
	if err != nil {
		return venue.WaitNone, err
	}
	want := amount.Rescale(uint8(t.WeiDecimals), venue.Up).Units
	b, err := v.c.Balance(ctx, t.Name)
	if err != nil {
		return venue.WaitNone, err
	}
	if b.Available.Cmp(want) >= 0 {
		return venue.WaitNone, nil
	}
	if t.Index != v.c.Meta().Quote.Index {
		return venue.WaitInsufficient, nil
	}
	short := new(big.Int).Sub(want, b.Available)
	perp, err := v.c.PerpWithdrawable(ctx)
	if err != nil {
		return venue.WaitNone, err
	}
	if perp.Cmp(short) < 0 {
		return venue.WaitInsufficient, nil
	}
	p, err := v.c.PrepareClassTransfer(ctx, short, false)
	if err != nil {
		return venue.WaitNone, err
	}
	if _, err := v.c.SubmitTransfer(ctx, p); err != nil {
		return venue.WaitNone, mapErr(err)
	}
	return venue.WaitNone, nil
}

var intentIDRe = regexp.MustCompile(`^[0-9a-f]{64}$`)

func stepKey(intentID, step string) (string, error) {
	if !intentIDRe.MatchString(intentID) {
		return "", fmt.Errorf("%w: %q", venue.ErrBadIntentID, intentID)
	}
	return intentID + "/" + step, nil
}

// Swap converts In of From into To with an IOC order bounded so that at least MinOut is received. It
// looks the step's cloid up first, then resends the step's saved order if an earlier run signed one,
// and only otherwise signs, saves and sends a new one.
func (v *Venue) Swap(ctx context.Context, req venue.SwapRequest) (venue.Order, error) {
	key, err := stepKey(req.IntentID, req.Step)
	if err != nil {
		return venue.Order{}, err
	}
	from, err := v.coin(req.From)
	if err != nil {
		return venue.Order{}, err
	}
	to, err := v.coin(req.To)
	if err != nil {
		return venue.Order{}, err
	}
	if o, err := v.FindOrder(ctx, req.IntentID, req.Step); err == nil || !errors.Is(err, venue.ErrNotFound) {
		return o, err
	}
	// Bytes signed by an earlier run may still be in flight: resend exactly those, never new ones.
	if p, found, err := v.cfg.Store.Load(ctx, key); err != nil {
		return venue.Order{}, err
	} else if found {
		res, err := v.c.SubmitOrder(ctx, p)
		if err != nil {
			return venue.Order{}, mapErr(err)
		}
		return v.order(res), nil
	}
	m := v.c.Meta()
	book, err := v.c.Book(ctx)
	if err != nil {
		return venue.Order{}, err
	}
	fees, err := v.c.Fees(ctx)
	if err != nil {
		return venue.Order{}, err
	}
	in := req.In.Rescale(uint8(from.WeiDecimals), venue.Down).Units
	minOut := req.MinOut.Rescale(uint8(to.WeiDecimals), venue.Up)
	var plan Plan
	switch {
	case from.Index == m.Quote.Index && to.Index == m.Base.Index:
		var maxPx *big.Rat
		if minOut.Sign() > 0 {
			maxPx = new(big.Rat).Quo(new(big.Rat).SetInt(in), new(big.Rat).SetInt(minOut.Units))
		}
		plan, err = PlanBuy(m, book, in, fees.Taker, maxPx)
	case from.Index == m.Base.Index && to.Index == m.Quote.Index:
		var minPx *big.Rat
		if in.Sign() > 0 {
			minPx = new(big.Rat).Quo(new(big.Rat).SetInt(minOut.Units), new(big.Rat).SetInt(in))
		}
		plan, err = PlanSell(m, book, in, fees.Taker, minPx)
	default:
		return venue.Order{}, fmt.Errorf("%w: swap %s → %s", venue.ErrUnsupported, req.From, req.To)
	}
	if err != nil {
		return venue.Order{}, fmt.Errorf("swap %s: %w", key, err)
	}
	if plan.Expected.Cmp(minOut.Units) < 0 {
		return venue.Order{}, fmt.Errorf("swap %s: book yields %s < min out %s: %w", key, plan.Expected, minOut.Units, ErrNoLiquidity)
	}
	p, err := v.c.PrepareOrder(ctx, OrderRequest{IntentID: key, IsBuy: plan.IsBuy, Size: plan.Size, LimitPx: plan.LimitPx})
	if err != nil {
		return venue.Order{}, err
	}
	if err := v.cfg.Store.Save(ctx, key, p); err != nil {
		return venue.Order{}, err
	}
	res, err := v.c.SubmitOrder(ctx, p)
	if err != nil {
		return venue.Order{}, mapErr(err)
	}
	return v.order(res), nil
}

// FindOrder finds the step's order by its cloid.
func (v *Venue) FindOrder(ctx context.Context, intentID, step string) (venue.Order, error) {
	key, err := stepKey(intentID, step)
	if err != nil {
		return venue.Order{}, err
	}
	res, found, err := v.c.FindOrder(ctx, Cloid(key, 0))
	if err != nil {
		return venue.Order{}, mapErr(err)
	}
	if !found {
		return venue.Order{}, fmt.Errorf("order %s: %w", key, venue.ErrNotFound)
	}
	return v.order(res), nil
}

func (v *Venue) order(r OrderResult) venue.Order {
	m := v.c.Meta()
	bd, qd := uint8(m.Base.WeiDecimals), uint8(m.Quote.WeiDecimals)
	o := venue.Order{ClientID: r.Cloid, VenueID: fmt.Sprint(r.Oid), Raw: r.Reason, FeeToken: v.tokenOf(r.FeeToken)}
	switch r.Status {
	case OrderFilled:
		o.Status = venue.OrderFilled
	case OrderPartial:
		o.Status = venue.OrderPartial
	default:
		o.Status = venue.OrderRejected
		if strings.Contains(r.Reason, "could not immediately match") || r.Reason == "iocCancelRejected" {
			o.Status = venue.OrderCanceled
		}
	}
	if r.isBuy() {
		o.Side = venue.Buy
		o.Spent, o.Received, o.Fee = venue.NewAmount(r.Quote, qd), venue.NewAmount(r.Received(), bd), venue.NewAmount(r.Fee, bd)
	} else {
		o.Side = venue.Sell
		o.Spent, o.Received, o.Fee = venue.NewAmount(r.Base, bd), venue.NewAmount(r.Received(), qd), venue.NewAmount(r.Fee, qd)
	}
	return o
}

// Withdraw sends USDC to Arbitrum with withdraw3 (moving the shortfall from spot to perp first), or
// a token to the account's own HyperEVM address with spotSend to its system address. The signed
// action is saved under the step before it is sent; a repeated call resends those bytes.
func (v *Venue) Withdraw(ctx context.Context, req venue.WithdrawRequest) (venue.Withdrawal, error) {
	key, err := stepKey(req.IntentID, req.Step)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	r, err := v.route(ctx, req.Route)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	if !common.IsHexAddress(req.Address) {
		return venue.Withdrawal{}, fmt.Errorf("%w: address %q", venue.ErrRejected, req.Address)
	}
	p, found, err := v.cfg.Store.Load(ctx, key)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	if !found {
		if p, err = v.prepareWithdraw(ctx, r, req); err != nil {
			return venue.Withdrawal{}, err
		}
		if err := v.cfg.Store.Save(ctx, key, p); err != nil {
			return venue.Withdrawal{}, err
		}
	}
	res, err := v.c.SubmitTransfer(ctx, p)
	if err != nil {
		// Only a definitive refusal of these bytes; an unknown outcome keeps them for the next resend.
		if errors.Is(err, ErrRejected) && !errors.Is(err, ErrUnknownOutcome) {
			// Definitively refused: forget the bytes so the step can be signed anew.
			if derr := v.cfg.Store.Delete(ctx, key); derr != nil {
				return venue.Withdrawal{}, errors.Join(mapErr(err), derr)
			}
		}
		return venue.Withdrawal{}, mapErr(err)
	}
	return v.withdrawal(key, r, req.Address, p, res), nil
}

func (v *Venue) prepareWithdraw(ctx context.Context, r venue.Route, req venue.WithdrawRequest) (Prepared, error) {
	t, err := v.coin(req.Route.Token)
	if err != nil {
		return Prepared{}, err
	}
	amt, exact := venue.FromRat(req.Amount.Rat(), uint8(t.WeiDecimals), venue.Down)
	if !exact || amt.Sign() <= 0 {
		return Prepared{}, fmt.Errorf("%w: %s", venue.ErrInvalidAmount, req.Amount)
	}
	dest := common.HexToAddress(req.Address)
	if r.ChainID == v.cfg.ArbitrumChainID {
		perp, err := v.c.PerpWithdrawable(ctx)
		if err != nil {
			return Prepared{}, err
		}
		if perp.Cmp(amt.Units) < 0 {
			cp, err := v.c.PrepareClassTransfer(ctx, new(big.Int).Sub(amt.Units, perp), true)
			if err != nil {
				return Prepared{}, err
			}
			if _, err := v.c.SubmitTransfer(ctx, cp); err != nil {
				return Prepared{}, mapErr(err)
			}
		}
		return v.c.PrepareWithdraw(ctx, dest, amt.Units)
	}
	if dest != v.c.cfg.Key.Address() {
		return Prepared{}, fmt.Errorf("%w: HyperEVM transfers arrive at the account's own address %s", venue.ErrUnsupported, v.c.Address())
	}
	return v.c.PrepareSpotSendToEVM(ctx, t.Name, amt.Units)
}

// FindWithdrawal finds the step's saved transfer on the venue's ledger.
func (v *Venue) FindWithdrawal(ctx context.Context, intentID, step string) (venue.Withdrawal, error) {
	key, err := stepKey(intentID, step)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	p, found, err := v.cfg.Store.Load(ctx, key)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	if !found {
		return venue.Withdrawal{}, fmt.Errorf("withdrawal %s: %w", key, venue.ErrNotFound)
	}
	res, found, err := v.c.FindTransfer(ctx, p)
	if err != nil {
		return venue.Withdrawal{}, mapErr(err)
	}
	if !found {
		return venue.Withdrawal{}, fmt.Errorf("withdrawal %s: %w", key, venue.ErrNotFound)
	}
	routes, err := v.Routes(ctx)
	if err != nil {
		return venue.Withdrawal{}, err
	}
	var r venue.Route
	for _, x := range routes {
		if (p.Kind == KindWithdraw) == (x.ChainID == v.cfg.ArbitrumChainID) && v.cfg.Coins[x.Token] == p.Token {
			r = x
		}
	}
	return v.withdrawal(key, r, "", p, res), nil
}

func (v *Venue) withdrawal(key string, r venue.Route, addr string, p Prepared, res TransferResult) venue.Withdrawal {
	t, _ := v.c.Token(p.Token)
	dec := uint8(t.WeiDecimals)
	net := new(big.Int).Set(res.Amount)
	fee := venue.Zero(r.Decimals)
	if p.Kind == KindWithdraw {
		net.Sub(net, res.Fee)
		fee = venue.NewAmount(res.Fee, dec).Rescale(r.Decimals, venue.Up)
	}
	return venue.Withdrawal{ClientID: key, VenueID: fmt.Sprint(p.Nonce), Route: r.Key(), Address: addr,
		Amount: venue.NewAmount(net, dec).Rescale(r.Decimals, venue.Down), Fee: fee,
		// The venue does not report the chain transaction: the executor confirms landing on chain.
		Status: venue.WithdrawalPending, Raw: res.Hash}
}

// mapErr adds the common view's sentinels to the adapter's errors.
func mapErr(err error) error {
	switch {
	case errors.Is(err, ErrUnknownOutcome), errors.Is(err, ErrUnavailable):
		return fmt.Errorf("%w: %w", venue.ErrUnknownOutcome, err)
	case errors.Is(err, ErrRejected):
		return fmt.Errorf("%w: %w", venue.ErrRejected, err)
	}
	return err
}
