package pending

import (
	"fmt"
	"math/big"
	"slices"
	"strconv"
	"strings"
)

// View is an account's ledger as a reader sees it at its own balance blocks.
type View struct {
	// Account is the normalized account (lowercase hex).
	Account string
	// Chains holds every chain that has a leg, an asOf, or a block the reader asked about.
	Chains map[uint64]ChainView

	// fields is the hash the view was built from; Legs decodes it on demand, so that readers who
	// want totals only (the inventory client) pay for no leg structs.
	fields map[string]string
}

// ChainView is one chain of a View.
type ChainView struct {
	// AsOf is the block through which the executor has reconciled the chain's legs; 0 when it
	// never has.
	AsOf uint64
	// Block is the block the rule was applied at: the reader's block, or AsOf when it gave none.
	Block uint64
	// Ahead is set when Block > AsOf: the ledger cannot say whether a leg without UntilBlock has
	// reached the chain by Block, nor trust a block it recorded past AsOf (a reorg may have moved
	// it), so the totals are conservative (see Total).
	Ahead bool
	// Tokens maps a token to its total. A token appears when the chain has at least one leg of it,
	// in effect or not.
	Tokens map[string]Total
}

// Total is the signed sum of a (chain, token)'s legs in effect at the chain's Block.
//
// When the chain is not Ahead the sum is exact: Amount = Σ amount over legs with UntilBlock == 0 or
// Block < UntilBlock. When it is Ahead, a leg with UntilBlock != 0 at or below AsOf still follows
// that rule (its block is confirmed); any other leg (UntilBlock == 0, or a block past AsOf, which a
// reorg may have moved or undone) is unconfirmed: a debit (amount < 0) counts, and a credit
// (amount > 0) does not: it goes to Withheld instead. Amount then never exceeds the exact total at
// Block, whatever happened on the chain after AsOf, reorgs included.
type Total struct {
	// Amount is signed, in base units.
	Amount *big.Int
	// Decimals of the token on the chain.
	Decimals uint8
	// Withheld is the sum of credits left out because the chain is Ahead; zero otherwise.
	Withheld *big.Int
}

// Total returns the total for a chain and token, and whether the ledger has any leg of it.
func (v View) Total(chainID uint64, token string) (Total, bool) {
	t, ok := v.Chains[chainID].Tokens[token]
	return t, ok
}

// Legs returns the raw legs, for tools, sorted by intent id then leg name. Parse has already
// checked every one of them.
func (v View) Legs() []Leg {
	legs := make([]Leg, 0, len(v.fields))
	amts := newAmounts(len(v.fields))
	for f, val := range v.fields {
		if strings.HasPrefix(f, asOfPrefix) {
			continue
		}
		if l, err := decodeLeg(f, val, amts); err == nil {
			legs = append(legs, l)
		}
	}
	slices.SortFunc(legs, func(a, b Leg) int {
		if c := strings.Compare(a.IntentID, b.IntentID); c != 0 {
			return c
		}
		return strings.Compare(a.Name, b.Name)
	})
	return legs
}

// Parse builds a View from the fields of an account's ledger hash as HGETALL returns them. blocks
// maps a chain id to the block the reader's balance was read at; a chain missing from blocks (or a
// nil map) is evaluated at its asOf. Parse is what Reader.Read does after its one round trip; it
// is exported for programs that fetch the hash themselves, e.g. many accounts in one pipeline.
// The View keeps fields (for Legs): do not modify the map afterwards.
func Parse(account string, fields map[string]string, blocks map[uint64]uint64) (View, error) {
	acct, err := NormalizeAccount(account)
	if err != nil {
		return View{}, err
	}
	return parse(acct, fields, blocks, nil)
}

// parse is Parse for a normalized account, with an optional cache of decoded values.
func parse(acct string, fields map[string]string, blocks map[uint64]uint64, cache *legCache) (View, error) {
	v := View{Account: acct, Chains: make(map[uint64]ChainView, 8), fields: fields}

	// First the asOf fields, so that each chain knows where it stands before any leg is added.
	for f, val := range fields {
		if !strings.HasPrefix(f, asOfPrefix) {
			continue
		}
		chain, err1 := parseSafeUint(f[len(asOfPrefix):])
		block, err2 := parseSafeUint(val)
		if err1 != nil || err2 != nil || chain == 0 {
			return View{}, fmt.Errorf("%w: account %s: field %q = %q is not asof:<chain id> = <block>", ErrMalformed, acct, f, val)
		}
		v.Chains[chain] = newChainView(block, blocks, chain)
	}
	for id := range blocks {
		if _, ok := v.Chains[id]; !ok {
			v.Chains[id] = newChainView(0, blocks, id)
		}
	}

	// Then every leg, decoded into a local Leg and one scratch amount: nothing is kept but the sums.
	var (
		amt     = newScratchAmount()
		sums    sumAlloc
		t       Total
		cv      ChainView
		have    bool
		lastKey struct {
			chain uint64
			token string
		}
	)
	for f, val := range fields {
		if strings.HasPrefix(f, asOfPrefix) {
			continue
		}
		var l Leg
		var err error
		if cache != nil {
			l, err = cache.decode(f, val)
		} else {
			l, err = decodeLeg(f, val, amt)
		}
		if err != nil {
			return View{}, fmt.Errorf("account %s: %w", acct, err)
		}
		// Legs of one (chain, token) often come in runs; keep the last accumulator at hand.
		if !have || lastKey.chain != l.ChainID || lastKey.token != l.Token {
			var ok bool
			if cv, ok = v.Chains[l.ChainID]; !ok {
				cv = newChainView(0, blocks, l.ChainID)
				v.Chains[l.ChainID] = cv
			}
			if t, ok = cv.Tokens[l.Token]; !ok {
				t = Total{Amount: sums.next(), Decimals: l.Decimals, Withheld: sums.next()}
				cv.Tokens[l.Token] = t
			}
			have = true
			lastKey.chain, lastKey.token = l.ChainID, l.Token
		}
		if t.Decimals != l.Decimals {
			return View{}, fmt.Errorf("%w: account %s: chain %d token %s has legs with %d and %d decimals",
				ErrMalformed, acct, l.ChainID, l.Token, t.Decimals, l.Decimals)
		}
		switch {
		case l.UntilBlock != 0 && (!cv.Ahead || l.UntilBlock <= cv.AsOf):
			if cv.Block < l.UntilBlock {
				t.Amount.Add(t.Amount, l.Amount)
			}
		case cv.Ahead && l.Amount.Sign() > 0:
			t.Withheld.Add(t.Withheld, l.Amount)
		default:
			t.Amount.Add(t.Amount, l.Amount)
		}
	}
	cache.sweep()
	return v, nil
}

// sumAlloc hands out zero big.Ints for totals from slabs, each with room for 256 bits so that the
// sums rarely grow: a read allocates a few slabs instead of two Ints and their words per token.
type sumAlloc struct {
	ints  []big.Int
	words []big.Word
}

func (a *sumAlloc) next() *big.Int {
	const chunk, room = 16, 4
	if len(a.ints) == 0 {
		a.ints = make([]big.Int, chunk)
		a.words = make([]big.Word, chunk*room)
	}
	x := &a.ints[0]
	x.SetBits(a.words[:0:room])
	a.ints, a.words = a.ints[1:], a.words[room:]
	return x
}

func newChainView(asOf uint64, blocks map[uint64]uint64, chain uint64) ChainView {
	cv := ChainView{AsOf: asOf, Block: asOf, Tokens: make(map[string]Total, 2)}
	if b, given := blocks[chain]; given {
		cv.Block = b
	}
	cv.Ahead = cv.Block > cv.AsOf
	return cv
}

// parseSafeUint parses a canonical decimal integer no larger than MaxSafeInteger.
func parseSafeUint(s string) (uint64, error) {
	if s == "" || (s[0] == '0' && len(s) > 1) || s[0] == '+' {
		return 0, fmt.Errorf("%q is not a canonical decimal", s)
	}
	n, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, err
	}
	if n > MaxSafeInteger {
		return 0, fmt.Errorf("%d is past 2^53-1", n)
	}
	return n, nil
}
