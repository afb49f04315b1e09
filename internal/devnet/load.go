package devnet

import (
	"context"
	"crypto/ecdsa"
	"fmt"
	"math/big"
	"math/rand/v2"
	"sort"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"

	"github.com/rebalancer-dev/rebalancer/internal/config"
	simchain "github.com/rebalancer-dev/rebalancer/internal/sim/chain"
)

// Load drives balances the way a relayer's traffic does: fills pay users out of the relayer's
// inventory on destination chains, and refunds (and repaid fills) arrive on origin chains. Flows
// are skewed: each token drains from some chains and piles up on others, which is the drift the
// rebalancer exists to undo.
type Load struct {
	Chains  simchain.Set
	Config  *config.Config
	Relayer *ecdsa.PrivateKey
	// Interval between two fills (default 500ms).
	Interval time.Duration
	// User pays the refills: a funded account standing for the relayer's users.
	User *ecdsa.PrivateKey
	// Seed makes the sequence of fills repeatable.
	Seed uint64
	Log  zerolog.Logger

	mu    sync.Mutex
	fills int
	flows []Flow
}

// Flow is one external change of the relayer's inventory, mined at Block.
type Flow struct {
	Chain uint64
	Token string
	Block uint64
	// Delta is signed, in base units: negative for a fill paid out.
	Delta *big.Int
}

// flow is one chain and token the load drains or refills, with its unit size.
type flow struct {
	chain  *simchain.Chain
	token  string
	target *big.Int
}

// Start runs the load until ctx ends.
func (l *Load) Start(ctx context.Context) error {
	if l.Interval <= 0 {
		l.Interval = 500 * time.Millisecond
	}
	var flows []flow
	for _, t := range l.Config.Targets {
		c := l.Chains.ByID(t.Chain)
		tc, ok := l.Config.TokenOn(t.Token, t.Chain)
		if c == nil || !ok {
			continue
		}
		target, err := t.Target.Units(tc.Decimals)
		if err != nil {
			return fmt.Errorf("load: target %s on %d: %w", t.Token, t.Chain, err)
		}
		flows = append(flows, flow{chain: c, token: t.Token, target: target})
	}
	if len(flows) < 2 {
		return fmt.Errorf("load: need at least two chain/token targets on the simulated chains, have %d", len(flows))
	}
	sort.Slice(flows, func(i, j int) bool {
		if flows[i].chain.ChainID() != flows[j].chain.ChainID() {
			return flows[i].chain.ChainID() < flows[j].chain.ChainID()
		}
		return flows[i].token < flows[j].token
	})
	rng := rand.New(rand.NewPCG(l.Seed, l.Seed^0x9e3779b97f4a7c15)) //nolint:gosec // a seeded sequence is the point: the load must be repeatable
	// The skew: the first half of the flows (in a seeded order) drains, the rest fills.
	rng.Shuffle(len(flows), func(i, j int) { flows[i], flows[j] = flows[j], flows[i] })
	half := len(flows) / 2
	drains, fills := flows[:half], flows[half:]
	user := addressOf(l.User)
	relayer := addressOf(l.Relayer)

	t := time.NewTicker(l.Interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
		}
		if err := l.step(ctx, rng, drains, fills, relayer, user); err != nil {
			return err
		}
	}
}

// step makes one fill and one refill. Stopping never interrupts a transfer half way: the record
// must match the chains exactly, so each action runs to its end under its own timeout.
func (l *Load) step(parent context.Context, rng *rand.Rand, drains, fills []flow, relayer, user common.Address) error {
	ctx, cancel := context.WithTimeout(context.WithoutCancel(parent), 30*time.Second)
	defer cancel()
	// A fill pays out between 1% and 6% of the target on a draining chain ...
	d := drains[rng.IntN(len(drains))]
	amt := pct(d.target, 1+rng.IntN(6))
	if bal, err := d.chain.BalanceOf(ctx, d.token, relayer); err == nil && bal.Cmp(amt) >= 0 {
		if rc, err := d.chain.Transfer(ctx, l.Relayer, d.token, user, amt); err != nil {
			l.Log.Warn().Err(err).Uint64("chain", d.chain.ChainID()).Str("token", d.token).Msg("load: fill failed")
		} else {
			l.record(Flow{Chain: d.chain.ChainID(), Token: d.token, Block: rc.BlockNumber.Uint64(), Delta: new(big.Int).Neg(amt)})
		}
	}
	// ... and the user's payment for it arrives on a filling chain.
	f := fills[rng.IntN(len(fills))]
	amt = pct(f.target, 1+rng.IntN(6))
	if rc, err := f.chain.Transfer(ctx, l.User, f.token, relayer, amt); err != nil {
		l.Log.Warn().Err(err).Uint64("chain", f.chain.ChainID()).Str("token", f.token).Msg("load: refill failed")
	} else {
		l.record(Flow{Chain: f.chain.ChainID(), Token: f.token, Block: rc.BlockNumber.Uint64(), Delta: amt})
	}
	return nil
}

func (l *Load) record(f Flow) {
	l.mu.Lock()
	defer l.mu.Unlock()
	l.fills++
	l.flows = append(l.flows, f)
}

// Flows returns every external change the load made so far: the inventory changes that are not
// the rebalancer's doing, which the conservation check adds back.
func (l *Load) Flows() []Flow {
	l.mu.Lock()
	defer l.mu.Unlock()
	return append([]Flow(nil), l.flows...)
}

func pct(x *big.Int, p int) *big.Int {
	v := new(big.Int).Mul(x, big.NewInt(int64(p)))
	return v.Quo(v, big.NewInt(100))
}

func addressOf(k *ecdsa.PrivateKey) common.Address {
	return crypto.PubkeyToAddress(k.PublicKey)
}
