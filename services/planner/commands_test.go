package planner

import (
	"bytes"
	"context"
	"encoding/json"
	"math/big"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

func writeFile(t *testing.T, name, content string) string {
	t.Helper()
	p := filepath.Join(t.TempDir(), name)
	require.NoError(t, os.WriteFile(p, []byte(content), 0o600))
	return p
}

// snapshotFile writes the events a world emits as JSON lines.
func snapshotFile(t *testing.T, script func(w *world)) string {
	t.Helper()
	w := newWorld(t, testYAML)
	var buf bytes.Buffer
	w.out = func(ev events.Event) {
		b, err := json.Marshal(ev)
		require.NoError(t, err)
		buf.Write(b)
		buf.WriteByte('\n')
	}
	script(w)
	return writeFile(t, "events.jsonl", buf.String())
}

func TestPlanCommand(t *testing.T) {
	cfg := writeFile(t, "config.yaml", testYAML)
	snaps := snapshotFile(t, func(w *world) {
		w.balanced()
		w.chainSnap(1, "2000", "1000")
		w.chainSnap(10, "400", "1000")
	})
	var out bytes.Buffer
	require.NoError(t, PlanCommand(context.Background(), []string{"--snapshot", snaps, "--config", cfg}, &out))
	s := out.String()
	require.Contains(t, s, "account "+testAccount+": 1 intent(s)")
	require.Contains(t, s, "excess    1/USDC 1000 USDC")
	require.Contains(t, s, "deficit   10/USDC 600 USDC (tier 2)")
	require.Contains(t, s, "intent    binance 1/USDC→10/USDC: in 600 USDC, min out 585 USDC, max fee 15 USDC, cost ≈ 0.1 USDC")

	out.Reset()
	require.NoError(t, PlanCommand(context.Background(), []string{"--snapshot", snaps, "--config", cfg, "--json"}, &out))
	var got struct {
		Record  Record                    `json:"record"`
		Intents []*events.RebalanceIntent `json:"intents"`
	}
	require.NoError(t, json.Unmarshal(out.Bytes(), &got))
	require.Len(t, got.Intents, 1)
	require.Equal(t, "600000000", got.Intents[0].AmountIn.String())

	// No venue snapshot yet: the planner warms up, and says what it waits for.
	cold := snapshotFile(t, func(w *world) {
		w.chainSnap(1, "2000", "1000")
		w.chainSnap(10, "400", "1000")
	})
	out.Reset()
	require.NoError(t, PlanCommand(context.Background(), []string{"--snapshot", cold, "--config", cfg}, &out))
	require.Contains(t, out.String(), "warming up: no snapshot yet of binance, hyperliquid, chain 42161; deciding without them from 2026-11-24T09:01:01Z")

	// Still none once the warm-up is over: the venues' state is unknown and the reason is printed.
	stale := snapshotFile(t, func(w *world) {
		w.chainSnap(1, "2000", "1000")
		w.at = w.at.Add(time.Minute)
		w.chainSnap(1, "2000", "1000")
		w.chainSnap(10, "400", "1000")
	})
	out.Reset()
	require.NoError(t, PlanCommand(context.Background(), []string{"--snapshot", stale, "--config", cfg}, &out))
	require.Contains(t, out.String(), "excluded  binance: state unknown")
	require.Contains(t, out.String(), "no venue can take an intent")

	require.ErrorIs(t, PlanCommand(context.Background(), nil, &out), ErrUsage)
	require.Error(t, PlanCommand(context.Background(), []string{"--snapshot", writeFile(t, "bad.jsonl", "{}\n")}, &out))
}

func TestReplayCommand(t *testing.T) {
	srv := testenv.NATS(t)
	pub := connect(t, srv, "test")
	a := startService(t, srv, testYAML, "a")
	last := publishScript(t, pub)
	waitCaughtUp(t, last, a)

	cfg := writeFile(t, "config.yaml", testYAML)
	dir := t.TempDir()
	run := func(args ...string) string {
		t.Helper()
		var out bytes.Buffer
		require.NoError(t, ReplayCommand(context.Background(), append([]string{"--nats", srv.URL()}, args...), &out))
		return out.String()
	}
	f1, f2 := filepath.Join(dir, "1.jsonl"), filepath.Join(dir, "2.jsonl")
	run("--config", cfg, "--out", f1)
	out := run("--config", cfg, "--out", f2, "--diff")
	require.Contains(t, out, "no difference")
	b1, err := os.ReadFile(f1)
	require.NoError(t, err)
	b2, err := os.ReadFile(f2)
	require.NoError(t, err)
	require.NotEmpty(t, b1)
	require.Equal(t, b1, b2, "replaying the same range twice writes identical files")

	// A range: only decisions based inside it.
	mid := last / 2
	f3 := filepath.Join(dir, "3.jsonl")
	run("--config", cfg, "--from-seq", "1", "--to-seq", itoa(mid), "--out", f3)
	b3, err := os.ReadFile(f3)
	require.NoError(t, err)
	for _, line := range strings.Split(strings.TrimSpace(string(b3)), "\n") {
		if line == "" {
			continue
		}
		ev, err := events.DecodeBody([]byte(line))
		require.NoError(t, err)
		require.LessOrEqual(t, ev.(*events.RebalanceIntent).Basis.Seq, mid)
	}
	require.True(t, bytes.HasPrefix(b1, b3), "a prefix of the stream replays to a prefix of the decisions")

	whatIf := writeFile(t, "whatif.yaml", edit(t, `maxTransfer: "2000"`, `maxTransfer: "300"`))
	out = run("--config", whatIf, "--out", filepath.Join(dir, "w.jsonl"), "--diff")
	require.Contains(t, out, "- seq")
	require.Contains(t, out, "+ seq")

	var sink bytes.Buffer
	require.ErrorIs(t, ReplayCommand(context.Background(), []string{"--nats", srv.URL()}, &sink), ErrUsage)
	require.ErrorIs(t, ReplayCommand(context.Background(), []string{"--nats", srv.URL(), "--out", f1, "--from-seq", "5", "--to-seq", "2"}, &sink), ErrUsage)
}

func itoa(n uint64) string { return new(big.Int).SetUint64(n).String() }

func TestFormatUnits(t *testing.T) {
	for _, tc := range []struct {
		in   string
		dec  uint8
		want string
	}{{"600000000", 6, "600"}, {"100000", 6, "0.1"}, {"1", 18, "0.000000000000000001"}, {"-1500000", 6, "-1.5"}, {"0", 6, "0"}} {
		x, _ := new(big.Int).SetString(tc.in, 10)
		require.Equal(t, tc.want, formatUnits(x, tc.dec))
	}
}
