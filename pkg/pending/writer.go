package pending

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	"github.com/redis/go-redis/v9"
)

// Client is what the writer needs from Redis. *redis.Client, *redis.ClusterClient and
// redis.UniversalClient satisfy it.
type Client interface {
	redis.Scripter
	HGetAll(ctx context.Context, key string) *redis.MapStringStringCmd
	HMGet(ctx context.Context, key string, fields ...string) *redis.SliceCmd
	HGet(ctx context.Context, key, field string) *redis.StringCmd
}

// Writer is the executor's side of the ledger. Every method is one atomic Lua script on keys of one
// account, so a crash leaves either all of a write or none of it. One writer per account is the
// executor's job (its lease); the compare-and-set on the intent's version catches a stale one.
type Writer struct {
	c   Client
	now func() time.Time
	// beforeGC, for tests, runs between GC's read and its script.
	beforeGC func()
}

// WriterOption configures a Writer.
type WriterOption func(*Writer)

// WithClock sets the clock that stamps updatedAt and decides retention (default time.Now).
func WithClock(now func() time.Time) WriterOption { return func(w *Writer) { w.now = now } }

// NewWriter returns a Writer over c.
func NewWriter(c Client, opts ...WriterOption) *Writer {
	w := &Writer{c: c, now: time.Now}
	for _, o := range opts {
		o(w)
	}
	return w
}

// LegUpdate is one change Update makes to an intent's legs: write a leg in full, or drop one.
type LegUpdate struct {
	Leg  Leg
	Drop bool
}

// SetLeg writes l in full, adding it or replacing the leg of the same name.
func SetLeg(l Leg) LegUpdate { return LegUpdate{Leg: l} }

// DropLeg removes the named leg, e.g. the source debit of an intent that failed before its deposit
// left the chain. Never drop a leg the chain has seen: let GC remove it after retention.
func DropLeg(name string) LegUpdate { return LegUpdate{Leg: Leg{Name: name}, Drop: true} }

// Accept stores the intent's record with version 1 and writes its legs, in one atomic step. When the
// intent already exists it writes nothing and returns false: a replayed intent is a no-op.
func (w *Writer) Accept(ctx context.Context, account, intentID string, record []byte, legs []Leg) (bool, error) {
	ikey, lkey, err := keys(account, intentID)
	if err != nil {
		return false, err
	}
	if len(legs) == 0 {
		return false, fmt.Errorf("%w: accept %s: no legs", ErrInvalid, intentID)
	}
	args := make([]any, 0, 1+2*len(legs))
	args = append(args, record)
	if args, err = w.appendLegs(args, intentID, legs); err != nil {
		return false, fmt.Errorf("accept %s: %w", intentID, err)
	}
	n, err := acceptScript.Run(ctx, w.c, []string{ikey, lkey}, args...).Int()
	if err != nil {
		return false, fmt.Errorf("accept %s: %w", intentID, err)
	}
	return n == 1, nil
}

// Update replaces the intent's record (nil keeps it) and applies the leg updates, provided the
// intent's version is expectVersion; it returns the new version, expectVersion+1. On a mismatch it
// writes nothing and returns a *VersionConflictError (errors.Is ErrVersionConflict); on a missing
// intent, ErrNotFound.
func (w *Writer) Update(ctx context.Context, account, intentID string, expectVersion uint64, record []byte, legs []LegUpdate) (uint64, error) {
	ikey, lkey, err := keys(account, intentID)
	if err != nil {
		return 0, err
	}
	var set []Leg
	var drop []string
	seen := make(map[string]bool, len(legs))
	for _, u := range legs {
		if seen[u.Leg.Name] {
			return 0, fmt.Errorf("%w: update %s: leg %q twice", ErrInvalid, intentID, u.Leg.Name)
		}
		seen[u.Leg.Name] = true
		if u.Drop {
			if err := checkName("leg name", u.Leg.Name); err != nil {
				return 0, fmt.Errorf("update %s: %w", intentID, err)
			}
			drop = append(drop, LegField(intentID, u.Leg.Name))
			continue
		}
		set = append(set, u.Leg)
	}
	replace := "0"
	if record != nil {
		replace = "1"
	}
	next := expectVersion + 1
	args := make([]any, 0, 5+2*len(set)+len(drop))
	args = append(args, strconv.FormatUint(expectVersion, 10), strconv.FormatUint(next, 10), replace, record, 2*len(set))
	if args, err = w.appendLegs(args, intentID, set); err != nil {
		return 0, fmt.Errorf("update %s: %w", intentID, err)
	}
	for _, f := range drop {
		args = append(args, f)
	}
	res, err := updateScript.Run(ctx, w.c, []string{ikey, lkey}, args...).Slice()
	if err != nil {
		return 0, fmt.Errorf("update %s: %w", intentID, err)
	}
	code, _ := res[0].(int64)
	switch code {
	case 1:
		return next, nil
	case 0:
		return 0, fmt.Errorf("update %s: %w", intentID, ErrNotFound)
	default:
		s, _ := res[1].(string)
		cur, _ := strconv.ParseUint(s, 10, 64)
		return 0, &VersionConflictError{IntentID: intentID, Expected: expectVersion, Current: cur}
	}
}

// AdvanceAsOf raises the chain's asOf to block, the block through which every mining and landing of
// the account's legs on the chain is recorded. It never lowers it (RewindAsOf does, after a reorg);
// it returns the asOf in force. Call it only after recording every leg event at or below block:
// readers trust it. A writer that may race a rewind uses AdvanceAsOfSince.
func (w *Writer) AdvanceAsOf(ctx context.Context, account string, chainID, block uint64) (uint64, error) {
	lkey, err := LedgerKey(account)
	if err != nil {
		return 0, err
	}
	if chainID == 0 || chainID > MaxSafeInteger || block > MaxSafeInteger {
		return 0, fmt.Errorf("%w: asOf chain %d block %d out of range", ErrInvalid, chainID, block)
	}
	s, err := advanceScript.Run(ctx, w.c, []string{lkey}, AsOfField(chainID), strconv.FormatUint(block, 10)).Text()
	if err != nil {
		return 0, fmt.Errorf("advance asOf chain %d to %d: %w", chainID, block, err)
	}
	got, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("advance asOf chain %d: %w: %q", chainID, ErrMalformed, s)
	}
	return got, nil
}

// RewindAsOf lowers the chain's asOf to block when it is above it, because the chain reorganized
// above block: what the ledger recorded there (untilBlocks, and the absence of events) may no
// longer hold. Blocks at or below block are unchanged by the reorg, so the rule stays exact there;
// a reader past the rewound asOf is Ahead and trusts no untilBlock above it (see Total). It never
// raises asOf, and it counts the rewind so that a writer that checked the ledger before it cannot
// advance over it (AdvanceAsOfSince). It returns the asOf in force (0 when the chain has none) and
// the chain's rewind count.
func (w *Writer) RewindAsOf(ctx context.Context, account string, chainID, block uint64) (asOf, rewinds uint64, err error) {
	lkey, rkey, err := asOfKeys(account, chainID, block)
	if err != nil {
		return 0, 0, err
	}
	res, err := rewindScript.Run(ctx, w.c, []string{lkey, rkey}, AsOfField(chainID), strconv.FormatUint(block, 10),
		strconv.FormatUint(chainID, 10)).StringSlice()
	if err != nil {
		return 0, 0, fmt.Errorf("rewind asOf chain %d to %d: %w", chainID, block, err)
	}
	if len(res) != 2 {
		return 0, 0, fmt.Errorf("rewind asOf chain %d: %w: script returned %v", chainID, ErrMalformed, res)
	}
	if res[0] != "" {
		if asOf, err = strconv.ParseUint(res[0], 10, 64); err != nil {
			return 0, 0, fmt.Errorf("rewind asOf chain %d: %w: asOf %q", chainID, ErrMalformed, res[0])
		}
	}
	if rewinds, err = strconv.ParseUint(res[1], 10, 64); err != nil {
		return 0, 0, fmt.Errorf("rewind asOf chain %d: %w: count %q", chainID, ErrMalformed, res[1])
	}
	return asOf, rewinds, nil
}

// Rewinds returns how many times the chain's asOf has been rewound; pass it to AdvanceAsOfSince.
func (w *Writer) Rewinds(ctx context.Context, account string, chainID uint64) (uint64, error) {
	_, rkey, err := asOfKeys(account, chainID, 0)
	if err != nil {
		return 0, err
	}
	n, err := w.c.HGet(ctx, rkey, strconv.FormatUint(chainID, 10)).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	if err != nil {
		return 0, fmt.Errorf("read rewinds of chain %d: %w", chainID, err)
	}
	return n, nil
}

// AdvanceAsOfSince is AdvanceAsOf for a writer that read the chain's rewind count (Rewinds) before
// it checked that every leg event at or below block is recorded: when the chain was rewound since,
// it writes nothing and returns ErrRewound, since the check may have seen blocks a reorg replaced.
func (w *Writer) AdvanceAsOfSince(ctx context.Context, account string, chainID, rewinds, block uint64) (uint64, error) {
	lkey, rkey, err := asOfKeys(account, chainID, block)
	if err != nil {
		return 0, err
	}
	res, err := advanceSinceScript.Run(ctx, w.c, []string{lkey, rkey}, AsOfField(chainID), strconv.FormatUint(block, 10),
		strconv.FormatUint(chainID, 10), strconv.FormatUint(rewinds, 10)).Slice()
	if err != nil {
		return 0, fmt.Errorf("advance asOf chain %d to %d: %w", chainID, block, err)
	}
	if len(res) != 2 {
		return 0, fmt.Errorf("advance asOf chain %d: %w: script returned %v", chainID, ErrMalformed, res)
	}
	code, _ := res[0].(int64)
	s, _ := res[1].(string)
	if code != 1 {
		return 0, fmt.Errorf("advance asOf chain %d to %d: %w (count %d, now %s)", chainID, block, ErrRewound, rewinds, s)
	}
	got, err := strconv.ParseUint(s, 10, 64)
	if err != nil {
		return 0, fmt.Errorf("advance asOf chain %d: %w: %q", chainID, ErrMalformed, s)
	}
	return got, nil
}

func asOfKeys(account string, chainID, block uint64) (lkey, rkey string, err error) {
	if lkey, err = LedgerKey(account); err != nil {
		return "", "", err
	}
	if chainID == 0 || chainID > MaxSafeInteger || block > MaxSafeInteger {
		return "", "", fmt.Errorf("%w: asOf chain %d block %d out of range", ErrInvalid, chainID, block)
	}
	rkey, _ = RewindsKey(account)
	return lkey, rkey, nil
}

// GCPolicy says when settled legs leave the ledger.
type GCPolicy struct {
	// Retention is how long a leg stays after its last write (normally the write that set its
	// UntilBlock), for readers whose balances lag behind asOf.
	Retention time.Duration
	// RecordTTL, when positive, makes the intent record expire that long after its last leg is
	// removed. Keep it longer than the stream's retention: a record is what makes a replayed
	// intent a no-op.
	RecordTTL time.Duration
}

// GC removes the intent's legs that every reader has passed: UntilBlock set, UntilBlock at or below
// the chain's asOf, and last written at least p.Retention ago. Legs without UntilBlock are never
// removed (funds in flight are never forgotten; an intent stuck there needs attention). It returns
// how many legs it removed. A concurrent Update makes it return a *VersionConflictError.
func (w *Writer) GC(ctx context.Context, account, intentID string, p GCPolicy) (int, error) {
	ikey, lkey, err := keys(account, intentID)
	if err != nil {
		return 0, err
	}
	version, err := w.c.HGet(ctx, ikey, "v").Result()
	if errors.Is(err, redis.Nil) {
		version = ""
	} else if err != nil {
		return 0, fmt.Errorf("gc %s: read version: %w", intentID, err)
	}
	fields, err := w.c.HGetAll(ctx, lkey).Result()
	if err != nil {
		return 0, fmt.Errorf("gc %s: read ledger: %w", intentID, err)
	}
	cutoff := w.now().Add(-p.Retention)
	prefix := intentID + ":"
	var remove []any
	total := 0
	for f, val := range fields {
		if !strings.HasPrefix(f, prefix) {
			continue
		}
		total++
		l, err := DecodeLeg(f, val)
		if err != nil {
			return 0, fmt.Errorf("gc %s: %w", intentID, err)
		}
		asOf, err := parseSafeUint(fields[AsOfField(l.ChainID)])
		if err != nil {
			continue // no asOf on the chain: nobody has passed the leg
		}
		if l.UntilBlock != 0 && l.UntilBlock <= asOf && !l.UpdatedAt.After(cutoff) {
			// The script checks asOf again: a rewind after this read (a reorg) keeps the leg.
			remove = append(remove, f, AsOfField(l.ChainID), strconv.FormatUint(l.UntilBlock, 10))
		}
	}
	last := "0"
	if len(remove)/3 == total {
		last = "1"
	}
	if w.beforeGC != nil {
		w.beforeGC()
	}
	ttl := "0"
	if p.RecordTTL > 0 {
		ttl = strconv.FormatInt(max(p.RecordTTL.Milliseconds(), 1), 10)
	}
	args := append([]any{version, ttl, last}, remove...)
	n, err := gcScript.Run(ctx, w.c, []string{ikey, lkey}, args...).Int()
	if err != nil {
		return 0, fmt.Errorf("gc %s: %w", intentID, err)
	}
	if n < 0 {
		cur, _ := w.c.HGet(ctx, ikey, "v").Uint64()
		exp, _ := strconv.ParseUint(version, 10, 64)
		return 0, &VersionConflictError{IntentID: intentID, Expected: exp, Current: cur}
	}
	return n, nil
}

// Intent returns the intent's record and version, or ErrNotFound.
func (w *Writer) Intent(ctx context.Context, account, intentID string) ([]byte, uint64, error) {
	ikey, err := IntentKey(account, intentID)
	if err != nil {
		return nil, 0, err
	}
	res, err := w.c.HMGet(ctx, ikey, "v", "record").Result()
	if err != nil {
		return nil, 0, fmt.Errorf("read intent %s: %w", intentID, err)
	}
	vs, ok := res[0].(string)
	if !ok {
		return nil, 0, fmt.Errorf("read intent %s: %w", intentID, ErrNotFound)
	}
	v, err := strconv.ParseUint(vs, 10, 64)
	if err != nil {
		return nil, 0, fmt.Errorf("read intent %s: %w: version %q", intentID, ErrMalformed, vs)
	}
	rec, _ := res[1].(string)
	return []byte(rec), v, nil
}

// appendLegs validates the legs and appends their field, value pairs. A leg without IntentID gets
// intentID; every leg gets the writer's clock as UpdatedAt.
func (w *Writer) appendLegs(args []any, intentID string, legs []Leg) ([]any, error) {
	if len(legs) > maxLegsPerSet {
		return nil, fmt.Errorf("%w: %d legs, at most %d", ErrInvalid, len(legs), maxLegsPerSet)
	}
	now := w.now().Truncate(time.Millisecond)
	seen := make(map[string]bool, len(legs))
	buf := make([]byte, 0, 160*len(legs))
	for _, l := range legs {
		if l.IntentID == "" {
			l.IntentID = intentID
		}
		if l.IntentID != intentID {
			return nil, fmt.Errorf("%w: leg %q belongs to intent %q", ErrInvalid, l.Name, l.IntentID)
		}
		l.UpdatedAt = now // always: retention counts from the last write
		if err := l.Validate(); err != nil {
			return nil, err
		}
		if seen[l.Name] {
			return nil, fmt.Errorf("%w: leg %q twice", ErrInvalid, l.Name)
		}
		seen[l.Name] = true
		start := len(buf)
		buf = appendLegValue(buf, l)
		args = append(args, l.Field(), string(buf[start:]))
	}
	return args, nil
}

func keys(account, intentID string) (ikey, lkey string, err error) {
	if ikey, err = IntentKey(account, intentID); err != nil {
		return "", "", err
	}
	lkey, _ = LedgerKey(account)
	return ikey, lkey, nil
}
