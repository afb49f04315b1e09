package binance

import (
	"context"
	"fmt"
	"math/big"
	"strconv"
	"strings"

	bn "github.com/adshao/go-binance/v2"

	"github.com/rebalancer-dev/rebalancer/internal/venue"
)

// DepositAddress implements venue.Depositor (GET /sapi/v1/capital/deposit/address, always with
// the network). Addresses are stable per coin and network, so they are cached.
func (c *Client) DepositAddress(ctx context.Context, k venue.Key) (string, error) {
	c.mu.Lock()
	a, ok := c.addrs[k]
	c.mu.Unlock()
	if ok {
		return a, nil
	}
	n, t, err := c.networkOf(k)
	if err != nil {
		return "", err
	}
	var res *bn.GetDepositAddressResponse
	if err := c.read(ctx, "deposit address", func(l *bn.Client) (err error) {
		res, err = l.NewGetDepositAddressService().Coin(t.Coin).Network(n.Name).Do(ctx, c.recvWindow())
		return err
	}); err != nil {
		return "", err
	}
	if res.Address == "" || res.Tag != "" {
		return "", fmt.Errorf("deposit address %s/%s: %w: address %q tag %q", t.Coin, n.Name, venue.ErrUnsupported, res.Address, res.Tag)
	}
	c.mu.Lock()
	c.addrs[k] = res.Address
	c.mu.Unlock()
	return res.Address, nil
}

// Binance deposit statuses.
const (
	depositPending      = 0
	depositSuccess      = 1
	depositRejected     = 2
	depositLocked       = 6 // credited, not withdrawable until unLockConfirm
	depositWrong        = 7
	depositNeedsConfirm = 8
)

// FindDeposit implements venue.Depositor (GET /sapi/v1/capital/deposit/hisrec by coin and txId).
// Status 6 is credited with WaitDepositLocked; 8 is pending with WaitDepositConfirm; 2 and 7 are
// rejected. The amount is in the chain's decimals, rounded down.
func (c *Client) FindDeposit(ctx context.Context, k venue.Key, txHash string) (venue.Deposit, error) {
	n, t, err := c.networkOf(k)
	if err != nil {
		return venue.Deposit{}, err
	}
	var list []*bn.Deposit
	if err := c.read(ctx, "deposit history", func(l *bn.Client) (err error) {
		list, err = l.NewListDepositsService().Coin(t.Coin).TxID(txHash).Do(ctx, c.recvWindow())
		return err
	}); err != nil {
		return venue.Deposit{}, err
	}
	for _, d := range list {
		if !strings.EqualFold(d.TxID, txHash) || d.Network != n.Name {
			continue
		}
		amt, err := venue.ParseAmountRounded(d.Amount, t.Decimals, venue.Down)
		if err != nil {
			return venue.Deposit{}, fmt.Errorf("deposit %s amount: %w", txHash, err)
		}
		out := venue.Deposit{Route: k, TxHash: txHash, Amount: amt, Raw: strconv.Itoa(d.Status)}
		if conf, _, ok := strings.Cut(d.ConfirmTimes, "/"); ok {
			out.Confirmations, _ = strconv.ParseUint(conf, 10, 64)
		}
		switch d.Status {
		case depositSuccess:
			out.Status = venue.DepositCredited
		case depositLocked:
			out.Status, out.Wait = venue.DepositCredited, venue.WaitDepositLocked
		case depositNeedsConfirm:
			out.Status, out.Wait = venue.DepositPending, venue.WaitDepositConfirm
		case depositRejected, depositWrong:
			out.Status = venue.DepositRejected
		default:
			out.Status = venue.DepositPending
		}
		return out, nil
	}
	return venue.Deposit{}, fmt.Errorf("deposit %s on %s: %w", txHash, n.Name, venue.ErrNotFound)
}

// MakeTradable implements venue.Depositor: when the spot wallet holds less than amount of the
// token's coin, it moves the shortfall from the funding wallet (POST /sapi/v1/asset/transfer,
// FUNDING_MAIN). The universal transfer has no client id, so the check comes first and a repeat
// only moves what is still missing. When the funding wallet cannot cover it: WaitInsufficient.
func (c *Client) MakeTradable(ctx context.Context, token string, amount venue.Amount) (venue.Wait, error) {
	coin, err := c.coinOf(token)
	if err != nil {
		return venue.WaitNone, err
	}
	free, err := c.spotFree(ctx, coin)
	if err != nil {
		return venue.WaitNone, err
	}
	short := new(big.Rat).Sub(amount.Rat(), free)
	if short.Sign() <= 0 {
		return venue.WaitNone, nil
	}
	short = ceilTo(short, eightPlaces)
	err = c.write(ctx, "transfer funding→spot", func(l *bn.Client) error {
		_, err := l.NewUserUniversalTransferService().Type(bn.UserUniversalTransferTypeFundingToMain).
			Asset(coin).Amount(dec(short)).Do(ctx)
		return err
	})
	switch {
	case err == nil:
		c.cfg.Log.Info().Str("coin", coin).Str("amount", dec(short)).Msg("binance moved funding to spot")
		return venue.WaitNone, nil
	case apiCode(err) == -5002 || apiCode(err) == -2010 || apiCode(err) == -4026:
		return venue.WaitInsufficient, nil
	}
	return venue.WaitNone, err
}

func (c *Client) spotFree(ctx context.Context, coin string) (*big.Rat, error) {
	var acct *bn.Account
	if err := c.read(ctx, "account", func(l *bn.Client) (err error) {
		acct, err = l.NewGetAccountService().Do(ctx, c.recvWindow())
		return err
	}); err != nil {
		return nil, err
	}
	for _, b := range acct.Balances {
		if b.Asset == coin {
			v, ok := parseRat(b.Free)
			if !ok {
				return nil, fmt.Errorf("account balance %s %q: %w", coin, b.Free, venue.ErrInvalidAmount)
			}
			return v, nil
		}
	}
	return new(big.Rat), nil
}
