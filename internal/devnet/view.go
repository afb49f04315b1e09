package devnet

import (
	"context"
	"fmt"
	"io"
	"math/big"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// LedgerReader is the inventory client's view of the ledger.
type LedgerReader interface {
	Read(ctx context.Context, account string, blocks map[uint64]uint64) (pending.View, error)
}

// View renders the live terminal view: balances against targets, the ledger as the inventory
// client sees it, and the latest intents with their states.
type View struct {
	Tracker *Tracker
	Config  *config.Config
	Ledger  LedgerReader
	Account string
	Started time.Time
	// Clear redraws in place (a terminal); otherwise each frame is appended.
	Clear bool
}

// Render writes one frame.
func (v *View) Render(ctx context.Context, w io.Writer) error {
	var sb strings.Builder
	if v.Clear {
		sb.WriteString("\033[H\033[2J")
	}
	emitted, states := v.Tracker.Counts()
	fmt.Fprintf(&sb, "rebalancer devnet  %s  account %s\n", time.Since(v.Started).Round(time.Second), v.Account)
	fmt.Fprintf(&sb, "intents: %d emitted", emitted)
	for _, s := range sortedKeys(toStringKeys(states)) {
		fmt.Fprintf(&sb, ", %s %d", s, toStringKeys(states)[s])
	}
	sb.WriteString("\n\n")

	view, err := v.Ledger.Read(ctx, v.Account, nil)
	tw := tabwriter.NewWriter(&sb, 0, 4, 2, ' ', tabwriter.AlignRight)
	fmt.Fprintln(tw, "chain\ttoken\tbalance\ttarget\tthreshold\tpending\tstatus\t")
	targets := append([]config.Target(nil), v.Config.Targets...)
	sort.Slice(targets, func(i, j int) bool {
		if targets[i].Chain != targets[j].Chain {
			return targets[i].Chain < targets[j].Chain
		}
		return targets[i].Token < targets[j].Token
	})
	for _, tg := range targets {
		tc, ok := v.Config.TokenOn(tg.Token, tg.Chain)
		if !ok {
			continue
		}
		bal, ok := v.Tracker.balance(tg.Chain, tg.Token)
		balS, status := "-", "waiting"
		if ok {
			balS = human(bal, tc.Decimals)
			thr, _ := tg.Threshold.Units(tc.Decimals)
			mx, _ := tg.Max.Units(tc.Decimals)
			switch {
			case bal.Cmp(thr) < 0:
				status = "LOW"
			case bal.Cmp(mx) > 0:
				status = "HIGH"
			default:
				status = "ok"
			}
		}
		pend := human(new(big.Int), tc.Decimals)
		if err == nil {
			if t, ok := view.Total(tg.Chain, tg.Token); ok {
				pend = human(t.Amount, t.Decimals)
			}
		}
		fmt.Fprintf(tw, "%d\t%s\t%s\t%s\t%s\t%s\t%s\t\n", tg.Chain, tg.Token, balS, tg.Target.String(), tg.Threshold.String(), pend, status)
	}
	if err := tw.Flush(); err != nil {
		return err
	}
	if err != nil {
		fmt.Fprintf(&sb, "ledger: %v\n", err)
	}
	sb.WriteString("\nlatest intents\n")
	for _, iv := range v.Tracker.recentIntents(8) {
		r := iv.intent.Route
		dec := r.SrcDecimals
		fmt.Fprintf(&sb, "  %s  %-11s %d/%s → %d/%s  %s  %s", iv.intent.ID[:12], iv.intent.Venue, r.SrcChain, r.SrcToken, r.DstChain, r.DstToken,
			human(iv.intent.AmountIn.Big(), dec), iv.state)
		if iv.err != "" {
			fmt.Fprintf(&sb, "  (%s)", iv.err)
		}
		sb.WriteString("\n")
	}
	_, werr := io.WriteString(w, sb.String())
	return werr
}

func toStringKeys[K ~string](m map[K]int) map[string]int {
	out := make(map[string]int, len(m))
	for k, v := range m {
		out[string(k)] = v
	}
	return out
}

// human renders base units as a decimal with at most two fractional digits, rounded toward zero:
// for display only.
func human(x *big.Int, decimals uint8) string {
	if x == nil {
		return "-"
	}
	neg := x.Sign() < 0
	abs := new(big.Int).Abs(x)
	scale := new(big.Int).Exp(big.NewInt(10), big.NewInt(int64(decimals)), nil)
	q, r := new(big.Int).QuoRem(abs, scale, new(big.Int))
	cents := new(big.Int).Quo(new(big.Int).Mul(r, big.NewInt(100)), scale)
	s := fmt.Sprintf("%s.%02d", q, cents.Int64())
	if neg {
		s = "-" + s
	}
	return s
}
