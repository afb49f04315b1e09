package hlsim

import (
	"bytes"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/rs/zerolog"
	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/venue/hyperliquid/wire"
)

func FuzzHandler(f *testing.F) {
	tokens, pairs := MainnetLikeTokens(common.Address{1}, common.Address{2},
		[]Level{{Px: "0.9995", Sz: "1000"}}, []Level{{Px: "1.0001", Sz: "1000"}})
	now := time.UnixMilli(1_700_000_000_000)
	sim, err := New(Config{Network: wire.Mainnet, Tokens: tokens, Pairs: pairs, WeightPerMinute: 1 << 30,
		Now: func() time.Time { return now }}, zerolog.Nop())
	require.NoError(f, err)
	h := sim.Handler()
	f.Add("/exchange", []byte(`{"action":{"type":"order","orders":[{"a":10166,"b":true,"p":"1","s":"10","r":false,"t":{"limit":{"tif":"Ioc"}}}],"grouping":"na"},"nonce":1700000000000,"signature":{"r":"0x1","s":"0x1","v":27}}`))
	f.Add("/exchange", []byte(`{"action":{"type":"withdraw3","signatureChainId":"0x66eee","hyperliquidChain":"Mainnet","destination":"0x01","amount":"1","time":1},"nonce":1,"signature":{"r":"0x1","s":"0x2","v":28}}`))
	f.Add("/info", []byte(`{"type":"orderStatus","user":"0x0000000000000000000000000000000000000001","oid":"0x00000000000000000000000000000001"}`))
	f.Add("/info", []byte(`{"type":"l2Book","coin":"@166"}`))
	f.Add("/info", []byte(`{"type":"userNonFundingLedgerUpdates","user":"0x0000000000000000000000000000000000000001","startTime":0}`))
	f.Fuzz(func(t *testing.T, path string, body []byte) {
		if path != "/info" && path != "/exchange" {
			return
		}
		rec := httptest.NewRecorder()
		h.ServeHTTP(rec, httptest.NewRequest(http.MethodPost, path, bytes.NewReader(body)))
		require.Contains(t, []int{http.StatusOK, http.StatusUnprocessableEntity}, rec.Code)
	})
}
