package pending_test

import (
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"github.com/stretchr/testify/require"

	"github.com/rebalancer-dev/rebalancer/internal/testenv"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// fixture is the self-describing format of testdata/*.json, documented in docs/ledger.md for
// readers in other languages.
type fixture struct {
	Description string            `json:"description"`
	Account     string            `json:"account"`
	Key         string            `json:"key"`
	Hash        map[string]string `json:"hash"`
	Reads       []struct {
		Name   string            `json:"name"`
		Blocks map[string]uint64 `json:"blocks"`
		Error  string            `json:"error"`
		Expect *fixtureView      `json:"expect"`
	} `json:"reads"`
}

type fixtureView struct {
	Legs   int                     `json:"legs"`
	Chains map[string]fixtureChain `json:"chains"`
}

type fixtureChain struct {
	AsOf   uint64                  `json:"asOf"`
	Block  uint64                  `json:"block"`
	Ahead  bool                    `json:"ahead"`
	Tokens map[string]fixtureTotal `json:"tokens"`
}

type fixtureTotal struct {
	Amount   string `json:"amount"`
	Decimals uint8  `json:"decimals"`
	Withheld string `json:"withheld"`
}

func toFixtureView(v pending.View) *fixtureView {
	out := &fixtureView{Legs: len(v.Legs()), Chains: map[string]fixtureChain{}}
	for id, c := range v.Chains {
		fc := fixtureChain{AsOf: c.AsOf, Block: c.Block, Ahead: c.Ahead, Tokens: map[string]fixtureTotal{}}
		for tok, tot := range c.Tokens {
			fc.Tokens[tok] = fixtureTotal{Amount: tot.Amount.String(), Decimals: tot.Decimals, Withheld: tot.Withheld.String()}
		}
		out.Chains[strconv.FormatUint(id, 10)] = fc
	}
	return out
}

// TestFixtures loads every fixture's hash into Redis (under a fresh account, so tests may share a
// server) and checks the reader's answer for each of its reads; it also checks the key the
// fixture names and that canonical values are exactly what the writer would store.
func TestFixtures(t *testing.T) {
	t.Parallel()
	paths, err := filepath.Glob(filepath.Join("testdata", "*.json"))
	require.NoError(t, err)
	require.GreaterOrEqual(t, len(paths), 10)
	r := testenv.StartRedis(t)
	for _, p := range paths {
		t.Run(filepath.Base(p), func(t *testing.T) {
			t.Parallel()
			raw, err := os.ReadFile(p)
			require.NoError(t, err)
			var f fixture
			dec := json.NewDecoder(strings.NewReader(string(raw)))
			dec.DisallowUnknownFields()
			require.NoError(t, dec.Decode(&f))
			require.NotEmpty(t, f.Description)
			require.NotEmpty(t, f.Reads)

			key, err := pending.LedgerKey(f.Account)
			require.NoError(t, err)
			require.Equal(t, f.Key, key)
			for field, value := range f.Hash {
				if !strings.HasPrefix(value, `{"chainId":`) {
					continue
				}
				if l, err := pending.DecodeLeg(field, value); err == nil {
					again, err := pending.EncodeLeg(l)
					require.NoError(t, err)
					require.Equal(t, value, again, "a canonical value must be what the writer stores")
				}
			}

			e := newEnvOn(t, r)
			ctx := context.Background()
			if len(f.Hash) > 0 {
				require.NoError(t, e.rdb.HSet(ctx, mustKey(t, e.account), f.Hash).Err())
			}
			for _, rd := range f.Reads {
				t.Run(rd.Name, func(t *testing.T) {
					var blocks map[uint64]uint64
					if rd.Blocks != nil {
						blocks = map[uint64]uint64{}
						for k, b := range rd.Blocks {
							c, err := strconv.ParseUint(k, 10, 64)
							require.NoError(t, err)
							blocks[c] = b
						}
					}
					view, err := e.r.Read(ctx, e.account, blocks)
					parsed, perr := pending.Parse(f.Account, f.Hash, blocks)
					if rd.Error != "" {
						require.Equal(t, "malformed", rd.Error)
						require.ErrorIs(t, err, pending.ErrMalformed)
						require.ErrorIs(t, perr, pending.ErrMalformed)
						return
					}
					require.NoError(t, err)
					require.NoError(t, perr)
					require.NotNil(t, rd.Expect)
					require.Equal(t, rd.Expect, toFixtureView(view))
					require.Equal(t, rd.Expect, toFixtureView(parsed))
				})
			}
		})
	}
}
