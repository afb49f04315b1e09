package pending_test

import (
	"context"
	"fmt"
	"math/big"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// BenchmarkLedgerRead100 reads an account ledger of 100 legs (and 7 asOf fields) through the
// Reader and, in the same run, with a bare go-redis HGETALL of the same hash. ns/op is the
// Reader's; hgetall-ns/op the bare read's; x-hgetall the median ratio of the two over blocks of 16
// reads (budget: under 1.5), which is comparable across machines; parse-ns/op is Parse alone on
// the same hash. The Reader is reused, as an inventory client polling the ledger reuses it, so
// unchanged legs come from its cache; BenchmarkLedgerRead100Cold decodes every leg every time.
func BenchmarkLedgerRead100(b *testing.B) { benchmarkLedgerRead(b, false) }

// BenchmarkLedgerRead100Cold is BenchmarkLedgerRead100 with a new Reader (an empty cache) for
// every read.
func BenchmarkLedgerRead100Cold(b *testing.B) { benchmarkLedgerRead(b, true) }

func benchmarkLedgerRead(b *testing.B, cold bool) {
	e := newEnv(b)
	ctx := context.Background()
	for id, legs := range benchLedger() {
		_, err := e.w.Accept(ctx, e.account, id, nil, legs)
		require.NoError(b, err)
	}
	for _, c := range benchChains {
		_, err := e.w.AdvanceAsOf(ctx, e.account, c, 1_000_020)
		require.NoError(b, err)
	}
	key := mustKeyB(b, e.account)
	blocks := map[uint64]uint64{56: 1_000_010, 1: 1_000_030}

	view, err := e.r.Read(ctx, e.account, blocks)
	require.NoError(b, err)
	require.Len(b, view.Legs(), 100)

	// Alternate short blocks of bare reads and Reader reads so that both see the same machine, and
	// report the median of the blocks' ratios: on a shared machine a burst of load lands in a few
	// blocks and would skew a ratio of sums.
	const block = 16
	var bare, reader time.Duration
	var ratios []float64
	b.ReportAllocs()
	b.ResetTimer()
	for done := 0; done < b.N; done += block {
		n := min(block, b.N-done)
		t0 := time.Now()
		for range n {
			m, err := e.rdb.HGetAll(ctx, key).Result()
			if err != nil || len(m) != 107 {
				b.Fatalf("hgetall: %d fields, %v", len(m), err)
			}
		}
		t1 := time.Now()
		for range n {
			r := e.r
			if cold {
				r = pending.NewReader(e.rdb)
			}
			if _, err := r.Read(ctx, e.account, blocks); err != nil {
				b.Fatal(err)
			}
		}
		t2 := time.Now()
		bare += t1.Sub(t0)
		reader += t2.Sub(t1)
		ratios = append(ratios, float64(t2.Sub(t1))/float64(t1.Sub(t0)))
	}
	b.StopTimer()
	// The decoding share alone, on the same hash, without Redis.
	fields, err := e.rdb.HGetAll(ctx, key).Result()
	require.NoError(b, err)
	t0 := time.Now()
	for range b.N {
		if _, err := pending.Parse(e.account, fields, blocks); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(t0).Nanoseconds())/float64(b.N), "parse-ns/op")

	slices.Sort(ratios)
	b.ReportMetric(float64(reader.Nanoseconds())/float64(b.N), "ns/op")
	b.ReportMetric(float64(bare.Nanoseconds())/float64(b.N), "hgetall-ns/op")
	b.ReportMetric(ratios[len(ratios)/2], "x-hgetall")
}

// BenchmarkParse100 is the decoding share of BenchmarkLedgerRead100, without Redis.
func BenchmarkParse100(b *testing.B) {
	fields := map[string]string{}
	for _, c := range benchChains {
		fields[pending.AsOfField(c)] = "1000020"
	}
	for id, legs := range benchLedger() {
		for _, l := range legs {
			l.IntentID, l.UpdatedAt = id, time.UnixMilli(1764000000000)
			v, err := pending.EncodeLeg(l)
			require.NoError(b, err)
			fields[l.Field()] = v
		}
	}
	acct := newAccount()
	blocks := map[uint64]uint64{56: 1_000_010, 1: 1_000_030}
	b.ReportAllocs()
	for b.Loop() {
		if _, err := pending.Parse(acct, fields, blocks); err != nil {
			b.Fatal(err)
		}
	}
}

var benchChains = []uint64{1, 10, 56, 137, 8453, 42161, 999}

// benchLedger returns 50 intents of two legs each over seven chains, a third of them settled, with
// 18-decimal amounts on BSC: a busy account.
func benchLedger() map[string][]pending.Leg {
	e18 := new(big.Int).Exp(big.NewInt(10), big.NewInt(18), nil)
	out := map[string][]pending.Leg{}
	for i := range 50 {
		c := benchChains[i%len(benchChains)]
		dec := uint8(6)
		unit := big.NewInt(1_000_000)
		if c == 56 {
			dec, unit = 18, e18
		}
		amt := new(big.Int).Mul(big.NewInt(int64(100+i)), unit)
		src := pending.Leg{Name: "src", ChainID: c, Token: "USDT", Amount: new(big.Int).Neg(amt), Decimals: dec, State: pending.StateRealized}
		dst := pending.Leg{Name: "dst", ChainID: benchChains[(i+1)%len(benchChains)], Token: "USDC", Amount: amt, Decimals: 6, State: pending.StateExpected}
		if dst.ChainID == 56 {
			dst.Decimals = 18
		}
		if i%3 == 0 {
			src.UntilBlock, src.State = 1_000_000+uint64(i), pending.StateSettled
		}
		out[fmt.Sprintf("%016x", uint64(i)*0x9e3779b97f4a7c15)] = []pending.Leg{src, dst}
	}
	return out
}

func mustKeyB(b *testing.B, account string) string {
	b.Helper()
	k, err := pending.LedgerKey(account)
	require.NoError(b, err)
	return k
}
