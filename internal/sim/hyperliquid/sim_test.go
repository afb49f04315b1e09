package hlsim

import (
	"bytes"
	"crypto/ecdsa"
	"encoding/json"
	"math/big"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

func TestNonceRules(t *testing.T) {
	now := time.UnixMilli(1_700_000_000_000)
	ms := func(d time.Duration) uint64 { return uint64(now.Add(d).UnixMilli()) }
	var n nonceSet
	require.Empty(t, n.accept(ms(0), now))
	require.Contains(t, n.accept(ms(0), now), "duplicate")
	require.Contains(t, n.accept(ms(-49*time.Hour), now), "time window")
	require.Contains(t, n.accept(ms(25*time.Hour), now), "time window")
	// Older than the newest but unused: accepted while fewer than 100 are kept.
	require.Empty(t, n.accept(ms(-time.Second), now))
	for i := 1; i <= keptNonces; i++ {
		require.Empty(t, n.accept(ms(time.Duration(i)*time.Millisecond), now))
	}
	require.Len(t, n.kept, keptNonces)
	// Now the smallest kept is the bar.
	require.Contains(t, n.accept(ms(-2*time.Second), now), "lower than the smallest")
	require.Contains(t, n.accept(ms(50*time.Millisecond), now), "duplicate")
}

func TestCanonicalDecimal(t *testing.T) {
	for in, want := range map[string]string{"1.50": "1.5", "1.0": "1", "0100": "100", "0.010": "0.01", "00.5": "0.5", "7": "7", "x": "x"} {
		require.Equal(t, want, canonicalDecimal(in), in)
	}
}

type rawEnv struct {
	sim  *Sim
	url  string
	key  *ecdsa.PrivateKey
	user common.Address
	now  time.Time
}

func newRaw(t *testing.T, weight int) *rawEnv {
	t.Helper()
	e := &rawEnv{now: time.UnixMilli(1_700_000_000_000)}
	tokens, pairs := MainnetLikeTokens(common.Address{1}, common.Address{2},
		[]Level{{Px: "0.9995", Sz: "1000"}}, []Level{{Px: "1.0001", Sz: "1000"}})
	var err error
	e.sim, err = New(Config{Network: wire.Mainnet, Tokens: tokens, Pairs: pairs, WeightPerMinute: weight,
		Now: func() time.Time { return e.now }}, zerolog.Nop())
	require.NoError(t, err)
	srv := httptest.NewServer(e.sim.Handler())
	t.Cleanup(srv.Close)
	e.url = srv.URL
	e.key, _ = crypto.GenerateKey()
	e.user = crypto.PubkeyToAddress(e.key.PublicKey)
	require.NoError(t, e.sim.Credit(e.user, "USDC", big.NewInt(100_000_000_000)))
	return e
}

func (e *rawEnv) post(t *testing.T, path string, body any) (int, map[string]any) {
	t.Helper()
	b, err := json.Marshal(body)
	require.NoError(t, err)
	resp, err := http.Post(e.url+path, "application/json", bytes.NewReader(b))
	require.NoError(t, err)
	defer resp.Body.Close()
	var out map[string]any
	_ = json.NewDecoder(resp.Body).Decode(&out)
	return resp.StatusCode, out
}

func (e *rawEnv) order(px, sz string, nonce uint64) wire.ExchangeRequest {
	a := wire.NewOrderAction(wire.OrderWire{Asset: 10166, IsBuy: true, Price: px, Size: sz,
		Type: wire.OrderType{Limit: &wire.Limit{Tif: wire.TifIoc}}})
	req, err := wire.SignL1(e.key, wire.Mainnet, a, nonce)
	if err != nil {
		panic(err)
	}
	return req
}

func TestExchangeVerification(t *testing.T) {
	e := newRaw(t, 1200)
	nonce := uint64(e.now.UnixMilli())

	t.Run("trailing zeros are signed as a different action", func(t *testing.T) {
		code, out := e.post(t, "/exchange", e.order("1.00010", "20", nonce))
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "err", out["status"])
		require.Contains(t, out["response"], "does not exist")
	})
	t.Run("a valid order fills once per nonce", func(t *testing.T) {
		req := e.order("1.0001", "20", nonce+1)
		code, out := e.post(t, "/exchange", req)
		require.Equal(t, http.StatusOK, code)
		require.Equal(t, "ok", out["status"], out)
		_, out = e.post(t, "/exchange", req)
		require.Equal(t, "err", out["status"])
		require.Contains(t, out["response"], "duplicate")
		require.Equal(t, 1, e.sim.Count(EvOrder, e.user, ""))
	})
	t.Run("a changed payload recovers another signer", func(t *testing.T) {
		req := e.order("1.0001", "20", nonce+2)
		var m map[string]any
		require.NoError(t, json.Unmarshal(req.Action, &m))
		m["orders"].([]any)[0].(map[string]any)["s"] = "900"
		req.Action, _ = json.Marshal(m)
		_, out := e.post(t, "/exchange", req)
		require.Equal(t, "err", out["status"])
		require.Equal(t, 1, e.sim.Count(EvOrder, e.user, ""))
	})
	t.Run("unknown fields are refused like the venue's strict decoder", func(t *testing.T) {
		req := e.order("1.0001", "20", nonce+3)
		var m map[string]any
		require.NoError(t, json.Unmarshal(req.Action, &m))
		m["extra"] = 1
		req.Action, _ = json.Marshal(m)
		code, _ := e.post(t, "/exchange", req)
		require.Equal(t, http.StatusUnprocessableEntity, code)
	})
	t.Run("tick and size rules", func(t *testing.T) {
		_, out := e.post(t, "/exchange", e.order("1.00011", "20", nonce+4)) // 6 significant figures
		require.Contains(t, mustJSON(out), "invalid price")
		_, out = e.post(t, "/exchange", e.order("1.0001", "20.001", nonce+5)) // finer than szDecimals
		require.Contains(t, mustJSON(out), "invalid size")
		_, out = e.post(t, "/exchange", e.order("1.0001", "9.99", nonce+6)) // below 10 USDC
		require.Contains(t, mustJSON(out), "minimum value")
	})
}

func mustJSON(v any) string {
	b, _ := json.Marshal(v)
	return string(b)
}

func TestRateLimitByWeight(t *testing.T) {
	e := newRaw(t, 30)
	// spotMeta weighs 20, l2Book 2: 20 + 2×5 = 30 fits, the next is 429 until a minute passes.
	code, _ := e.post(t, "/info", map[string]any{"type": "spotMeta"})
	require.Equal(t, http.StatusOK, code)
	for i := 0; i < 5; i++ {
		code, _ = e.post(t, "/info", map[string]any{"type": "l2Book", "coin": "@166"})
		require.Equal(t, http.StatusOK, code)
	}
	code, _ = e.post(t, "/info", map[string]any{"type": "l2Book", "coin": "@166"})
	require.Equal(t, http.StatusTooManyRequests, code)
	e.sim.mu.Lock()
	e.now = e.now.Add(time.Minute)
	e.sim.mu.Unlock()
	code, _ = e.post(t, "/info", map[string]any{"type": "l2Book", "coin": "@166"})
	require.Equal(t, http.StatusOK, code)
}

func TestSystemAddress(t *testing.T) {
	require.Equal(t, common.HexToAddress("0x200000000000000000000000000000000000010c"), Token{Index: 268}.SystemAddress())
	require.Equal(t, common.HexToAddress("0x2000000000000000000000000000000000000000"), Token{Index: 0}.SystemAddress())
}
