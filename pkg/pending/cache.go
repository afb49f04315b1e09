package pending

import "sync"

// legCache remembers, for one account, the legs decoded at its previous reads, by field. An
// inventory client polls a ledger whose legs mostly stay as they were; when a field holds the
// same value as before (the same bytes, so the same leg), the leg is taken from the cache instead
// of decoded. Decoding is a pure function of field and value, so a hit returns exactly what
// decoding would. Fields the latest read did not see are dropped once they outnumber the live
// ones, so the cache holds about one ledger's worth.
type legCache struct {
	mu   sync.Mutex
	gen  uint64
	live int
	legs map[string]*cachedLeg
}

type cachedLeg struct {
	value string
	leg   Leg // Amount owned by the cache and never modified
	gen   uint64
}

// begin starts a read and returns how many reads of the account this is; the caller holds mu.
func (c *legCache) begin() uint64 {
	c.gen++
	c.live = 0
	if c.legs == nil {
		c.legs = make(map[string]*cachedLeg)
	}
	return c.gen
}

// decode returns the leg of a field and its value, from the cache when the field held the same
// value before. The returned Amount is shared: callers only read it.
func (c *legCache) decode(field, value string) (Leg, error) {
	c.live++
	e, ok := c.legs[field]
	if !ok || e.value != value {
		l, err := decodeLeg(field, value, nil)
		if err != nil {
			return Leg{}, err
		}
		if !ok {
			e = &cachedLeg{}
			c.legs[field] = e
		}
		e.value, e.leg = value, l
	}
	e.gen = c.gen
	return e.leg, nil
}

// sweep drops the entries the latest read did not see, once they outnumber the live ones.
func (c *legCache) sweep() {
	if c == nil || len(c.legs) <= 2*c.live+32 {
		return
	}
	for k, e := range c.legs {
		if e.gen != c.gen {
			delete(c.legs, k)
		}
	}
}

// readerCache holds the legCaches of the accounts a Reader reads, at most maxAccounts of them.
type readerCache struct {
	mu       sync.Mutex
	accounts map[string]*legCache
}

const maxCachedAccounts = 256

func (r *readerCache) account(acct string) *legCache {
	r.mu.Lock()
	defer r.mu.Unlock()
	if c, ok := r.accounts[acct]; ok {
		return c
	}
	if r.accounts == nil {
		r.accounts = make(map[string]*legCache)
	}
	if len(r.accounts) >= maxCachedAccounts {
		for k := range r.accounts { // evict one at random
			delete(r.accounts, k)
			break
		}
	}
	c := &legCache{}
	r.accounts[acct] = c
	return c
}
