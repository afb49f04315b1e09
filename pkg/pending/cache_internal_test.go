package pending

import (
	"fmt"
	"math/big"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// TestLegCacheMatchesDecodingAndStaysSmall reads a ledger that changes between reads through the
// cache and checks each view against an uncached Parse, and that the cache keeps about one
// ledger's worth of entries however many values it has seen.
func TestLegCacheMatchesDecodingAndStaysSmall(t *testing.T) {
	t.Parallel()
	const acct = "0x5aaeb6053f3e94c9b9a09f33669435e7ef1beaed"
	c := &legCache{}
	fields := map[string]string{"asof:56": "100"}
	for round := range 200 {
		// Every round rewrites a few legs and adds one; the ledger stays about 20 legs long.
		for k := range 3 {
			i := (round*3 + k) % 20
			l := Leg{IntentID: fmt.Sprintf("i%d", i), Name: "src", ChainID: 56, Token: "USDT",
				Amount: big.NewInt(int64(-round*100 - k)), Decimals: 18, UntilBlock: uint64(90 + round%20),
				State: StateSettled, UpdatedAt: time.UnixMilli(int64(round))}
			v, err := EncodeLeg(l)
			require.NoError(t, err)
			fields[l.Field()] = v
		}
		blocks := map[uint64]uint64{56: uint64(95 + round%10)}
		c.begin()
		got, err := parse(acct, fields, blocks, c)
		require.NoError(t, err)
		want, err := Parse(acct, fields, blocks)
		require.NoError(t, err)
		require.Equal(t, want.Chains, got.Chains, "round %d", round)
		require.LessOrEqual(t, len(c.legs), 2*20+32+3, "round %d", round)
	}
	// A malformed value is still refused when its field was fine before.
	fields["i1:src"] = `{"chainId":56}`
	c.begin()
	_, err := parse(acct, fields, nil, c)
	require.ErrorIs(t, err, ErrMalformed)
	// A cached value under a field of another intent is refused too.
	delete(fields, "i1:src")
	fields["i99:src"] = fields["i2:src"]
	c.begin()
	_, err = parse(acct, fields, nil, c)
	require.ErrorIs(t, err, ErrMalformed)
}

func TestReaderCacheIsBounded(t *testing.T) {
	t.Parallel()
	var r readerCache
	for i := range 3 * maxCachedAccounts {
		r.account(fmt.Sprintf("0x%040x", i))
	}
	require.Len(t, r.accounts, maxCachedAccounts)
	a := r.account("0x00000000000000000000000000000000000000aa")
	require.Same(t, a, r.account("0x00000000000000000000000000000000000000aa"))
}
