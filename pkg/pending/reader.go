package pending

import (
	"context"
	"fmt"

	"github.com/redis/go-redis/v9"
)

// HashGetter is what the reader needs from Redis: one HGETALL. *redis.Client, *redis.ClusterClient
// and redis.UniversalClient satisfy it.
type HashGetter interface {
	HGetAll(ctx context.Context, key string) *redis.MapStringStringCmd
}

// Reader reads account ledgers with one plain HGETALL each, so it runs under a read-only Redis
// user (see docs/ledger.md for the ACL line).
//
// A Reader remembers the legs it decoded at each account's previous read (see legCache): polling
// a ledger that changed little decodes only what changed. It is safe for concurrent use.
type Reader struct {
	c     HashGetter
	cache readerCache
}

// NewReader returns a Reader over c.
func NewReader(c HashGetter) *Reader { return &Reader{c: c} }

// Read returns the account's ledger evaluated at the reader's balance blocks (chain id → block;
// nil or a missing chain means "at the chain's asOf"). It makes one round trip. A chain whose block
// is past its asOf comes back Ahead, with the conservative totals described on Total.
func (r *Reader) Read(ctx context.Context, account string, blocks map[uint64]uint64) (View, error) {
	acct, err := NormalizeAccount(account)
	if err != nil {
		return View{}, err
	}
	key := keyPrefix + acct + ledgerSuffix
	fields, err := r.c.HGetAll(ctx, key).Result()
	if err != nil {
		return View{}, fmt.Errorf("read ledger %s: %w", key, err)
	}
	c := r.cache.account(acct)
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.begin() == 1 {
		// A first read decodes without filling the cache: a one-shot reader (a CLI, a health
		// check) would pay for entries it never uses. Pollers fill it on their second read.
		return parse(acct, fields, blocks, nil)
	}
	return parse(acct, fields, blocks, c)
}
