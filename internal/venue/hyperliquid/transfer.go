package hyperliquid

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"math/big"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

// Transfer kinds of Prepared.
const (
	KindSpotSend      = "spotSend"
	KindWithdraw      = "withdraw3"
	KindClassTransfer = "usdClassTransfer"
)

// TransferResult is a transfer found on the venue's ledger.
type TransferResult struct {
	Nonce  uint64
	Hash   string
	Amount *big.Int // wei of the token moved
	Fee    *big.Int // wei of USDC (withdraw3) or of the token
}

// PrepareSpotSendToEVM signs a spotSend of amount (token wei) to the token's system address, which
// moves it to the same account on HyperEVM. The amount is rounded down to what HyperEVM can
// represent (its ERC20 may have fewer decimals); Prepared.Amount is what is sent.
func (c *Client) PrepareSpotSendToEVM(ctx context.Context, token string, amount *big.Int) (Prepared, error) {
	t, err := c.Token(token)
	if err != nil {
		return Prepared{}, err
	}
	if t.EVMContract == (common.Address{}) {
		return Prepared{}, fmt.Errorf("spotSend %s: %w: token not linked to HyperEVM", token, ErrNotFound)
	}
	amt := new(big.Int).Set(amount)
	if d := t.WeiDecimals - t.EVMDecimals; d > 0 {
		amt.Sub(amt, new(big.Int).Rem(amt, pow10(d)))
	}
	if amt.Sign() <= 0 {
		return Prepared{}, fmt.Errorf("spotSend %s %s: %w", amount, token, ErrBelowMinimum)
	}
	nonce, err := c.cfg.Nonces.Next(ctx)
	if err != nil {
		return Prepared{}, fmt.Errorf("spotSend: %w", err)
	}
	a := wire.NewSpotSend(c.cfg.Network, lower(t.SystemAddress().Hex()), t.Wire(), wire.FormatDecimal(amt, t.WeiDecimals), nonce)
	return c.prepareUser(KindSpotSend, a, amt, t.Name)
}

// PrepareWithdraw signs a withdraw3 of amount (USDC wei) to dest on Arbitrum. The recipient gets
// amount minus the venue's fee; it is drawn from the perp (withdrawable) balance.
func (c *Client) PrepareWithdraw(ctx context.Context, dest common.Address, amount *big.Int) (Prepared, error) {
	m := c.Meta()
	fee, err := wire.ParseDecimal(c.cfg.WithdrawFee, m.Quote.WeiDecimals)
	if err != nil {
		return Prepared{}, fmt.Errorf("%w: withdraw fee: %w", ErrConfig, err)
	}
	if amount.Cmp(fee) <= 0 {
		return Prepared{}, fmt.Errorf("withdraw %s: %w: not above the %s fee", amount, ErrBelowMinimum, c.cfg.WithdrawFee)
	}
	nonce, err := c.cfg.Nonces.Next(ctx)
	if err != nil {
		return Prepared{}, fmt.Errorf("withdraw: %w", err)
	}
	a := wire.NewWithdraw3(c.cfg.Network, lower(dest.Hex()), wire.FormatDecimal(amount, m.Quote.WeiDecimals), nonce)
	return c.prepareUser(KindWithdraw, a, amount, m.Quote.Name)
}

// PrepareClassTransfer signs a usdClassTransfer of amount (USDC wei) between perp and spot.
func (c *Client) PrepareClassTransfer(ctx context.Context, amount *big.Int, toPerp bool) (Prepared, error) {
	m := c.Meta()
	nonce, err := c.cfg.Nonces.Next(ctx)
	if err != nil {
		return Prepared{}, fmt.Errorf("usdClassTransfer: %w", err)
	}
	a := wire.NewUsdClassTransfer(c.cfg.Network, wire.FormatDecimal(amount, m.Quote.WeiDecimals), toPerp, nonce)
	return c.prepareUser(KindClassTransfer, a, amount, m.Quote.Name)
}

func (c *Client) prepareUser(kind string, a wire.UserSignedAction, amount *big.Int, token string) (Prepared, error) {
	req, err := wire.SignUser(c.cfg.Key.k, a)
	if err != nil {
		return Prepared{}, fmt.Errorf("%s: %w", kind, err)
	}
	body, err := json.Marshal(req)
	if err != nil {
		return Prepared{}, err
	}
	return Prepared{Kind: kind, Nonce: req.Nonce, Body: body, Amount: new(big.Int).Set(amount), Token: token, weight: 1}, nil
}

// SubmitTransfer sends a prepared transfer. After an ambiguous answer it looks the nonce up in the
// ledger updates for up to LookupLag and only resends the same bytes if it is absent; "duplicate
// nonce" means these bytes landed before, so it looks up again. It never signs anew.
func (c *Client) SubmitTransfer(ctx context.Context, p Prepared) (TransferResult, error) {
	for attempt := 0; ; attempt++ {
		_, err := c.send(ctx, p.Body, 1)
		var ve *VenueError
		dup := errors.As(err, &ve) && ve.duplicateNonce()
		if err != nil && !dup && !ambiguous(err) {
			return TransferResult{}, fmt.Errorf("%s %d: %w", p.Kind, p.Nonce, err)
		}
		if err != nil {
			c.cfg.Log.Warn().Err(err).Str("kind", p.Kind).Uint64("nonce", p.Nonce).Int("attempt", attempt).
				Msg("hyperliquid transfer outcome unknown, looking it up")
		}
		res, found, lerr := c.awaitTransfer(ctx, p)
		if found {
			return res, nil
		}
		if err == nil {
			return TransferResult{}, fmt.Errorf("%s %d accepted but not on the ledger: %w", p.Kind, p.Nonce, ErrUnknownOutcome)
		}
		if (lerr != nil && ctx.Err() != nil) || dup || attempt >= c.cfg.Resends {
			return TransferResult{}, fmt.Errorf("%s %d: %w (last error: %s)", p.Kind, p.Nonce, ErrUnknownOutcome, err.Error())
		}
	}
}

func (c *Client) awaitTransfer(ctx context.Context, p Prepared) (TransferResult, bool, error) {
	deadline := c.cfg.Now().Add(c.cfg.LookupLag)
	for {
		res, found, err := c.FindTransfer(ctx, p)
		if found || (err != nil && !ambiguous(err)) {
			return res, found, err
		}
		if !c.cfg.Now().Before(deadline) {
			return res, false, err
		}
		if serr := c.cfg.Sleep(ctx, c.cfg.LookupLag/10); serr != nil {
			return res, false, serr
		}
	}
}

// FindTransfer looks a prepared transfer up in the ledger updates by its nonce.
func (c *Client) FindTransfer(ctx context.Context, p Prepared) (TransferResult, bool, error) {
	// Nonces are milliseconds; look from a day before it (the venue accepts nonces up to 2 days old).
	start := int64(p.Nonce) - int64(24*time.Hour/time.Millisecond)
	ups, err := c.LedgerUpdates(ctx, max(start, 0))
	if err != nil {
		return TransferResult{}, false, err
	}
	m := c.Meta()
	want := map[string]string{KindSpotSend: "spotTransfer", KindWithdraw: "withdraw", KindClassTransfer: "accountClassTransfer"}[p.Kind]
	for _, u := range ups {
		var d ledgerDelta
		if json.Unmarshal(u.Delta, &d) != nil || d.Type != want || d.Nonce == nil || *d.Nonce != p.Nonce {
			continue
		}
		if p.Kind == KindSpotSend && !strings.EqualFold(d.User, c.Address()) {
			continue
		}
		res := TransferResult{Nonce: p.Nonce, Hash: u.Hash, Fee: new(big.Int)}
		dec := m.Quote.WeiDecimals
		amount := d.Usdc
		if p.Kind == KindSpotSend {
			t, err := c.Token(d.Token)
			if err != nil {
				return TransferResult{}, false, err
			}
			dec, amount = t.WeiDecimals, d.Amount
		}
		if res.Amount, err = wire.ParseDecimal(amount, dec); err != nil {
			return TransferResult{}, false, fmt.Errorf("%s %d amount: %w", p.Kind, p.Nonce, err)
		}
		if d.Fee != "" {
			if fee, err := wire.ParseDecimal(d.Fee, m.Quote.WeiDecimals); err == nil {
				res.Fee = fee
			}
		}
		return res, true, nil
	}
	return TransferResult{}, false, nil
}

// Deposit is a credit found on the venue's ledger for a chain transaction.
type Deposit struct {
	Hash   string
	Token  string
	Amount *big.Int // HyperCore wei
	// Perp is true for USDC credited to the perp balance (Bridge2 deposits).
	Perp bool
}

// FindDeposit looks for the HyperCore credit of a chain transaction (Bridge2 deposit on Arbitrum,
// transfer to a system address or CoreDepositWallet deposit on HyperEVM) since startMs. CoreWriter and
// bridge actions are asynchronous: an EVM receipt proves nothing, this credit does.
func (c *Client) FindDeposit(ctx context.Context, tx common.Hash, startMs int64) (Deposit, bool, error) {
	ups, err := c.LedgerUpdates(ctx, startMs)
	if err != nil {
		return Deposit{}, false, err
	}
	m := c.Meta()
	for _, u := range ups {
		if !strings.EqualFold(u.Hash, tx.Hex()) {
			continue
		}
		var d ledgerDelta
		if err := json.Unmarshal(u.Delta, &d); err != nil {
			continue
		}
		switch d.Type {
		case "deposit":
			amt, err := wire.ParseDecimal(d.Usdc, m.Quote.WeiDecimals)
			if err != nil {
				return Deposit{}, false, err
			}
			return Deposit{Hash: u.Hash, Token: m.Quote.Name, Amount: amt, Perp: true}, true, nil
		case "spotTransfer":
			t, err := c.Token(d.Token)
			if err != nil {
				return Deposit{}, false, err
			}
			amt, err := wire.ParseDecimal(d.Amount, t.WeiDecimals)
			if err != nil {
				return Deposit{}, false, err
			}
			return Deposit{Hash: u.Hash, Token: t.Name, Amount: amt}, true, nil
		}
	}
	return Deposit{}, false, nil
}

// Bridge2 contract addresses on Arbitrum, per network.
var (
	Bridge2Mainnet = common.HexToAddress("0x2df1c51e09aecf9cacb7bc98cb1742757f163df7")
	Bridge2Testnet = common.HexToAddress("0x279c9462FDba349550b49a23DE27dd19d5891baA")
)

// SpotDex is CoreDepositWallet's destinationDex for the spot balance (type(uint32).max).
const SpotDex = math.MaxUint32

// ApproveCalldata is ERC20 approve(spender, amount): the first of USDC's two HyperEVM → HyperCore
// calls.
func ApproveCalldata(spender common.Address, amount *big.Int) []byte {
	return call("approve(address,uint256)", common.LeftPadBytes(spender.Bytes(), 32), common.LeftPadBytes(amount.Bytes(), 32))
}

// DepositCalldata is CoreDepositWallet.deposit(amount, destinationDex): the second call. Never send
// USDC to the wallet with a plain transfer: it is not credited.
func DepositCalldata(amount *big.Int, destinationDex uint32) []byte {
	return call("deposit(uint256,uint32)", common.LeftPadBytes(amount.Bytes(), 32),
		common.LeftPadBytes(big.NewInt(int64(destinationDex)).Bytes(), 32))
}

// TransferCalldata is ERC20 transfer(to, amount): a Bridge2 deposit on Arbitrum, or a HyperEVM →
// HyperCore move of a token (not USDC) to its system address.
func TransferCalldata(to common.Address, amount *big.Int) []byte {
	return call("transfer(address,uint256)", common.LeftPadBytes(to.Bytes(), 32), common.LeftPadBytes(amount.Bytes(), 32))
}

func call(sig string, args ...[]byte) []byte {
	out := append([]byte(nil), crypto.Keccak256([]byte(sig))[:4]...)
	for _, a := range args {
		out = append(out, a...)
	}
	return out
}
