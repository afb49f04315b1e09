package executor

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/redis/go-redis/v9"

	"github.com/rebalancer-dev/rebalancer/internal/chain"
	"github.com/rebalancer-dev/rebalancer/pkg/pending"
)

// Redis keys the executor owns beside pkg/pending's. Per-account keys carry the account's hash tag
// so that they live in its cluster slot:
//
//	rebal:v1:{<account>}:exec:open             set: ids of intents not yet terminal and published
//	rebal:v1:{<account>}:exec:done             set: terminal intents whose legs await GC
//	rebal:v1:{<account>}:exec:outbox           hash: intent id → highest version published
//	rebal:v1:{<account>}:exec:tx:<step key>    string: a write-ahead TxRecord (JSON)
//	rebal:v1:{<account>}:exec:nonce            hash: <chain>:<from> → highest recorded nonce
//	rebal:v1:{<account>}:exec:landings         hash: <chain>:<tx hash>:<log index> → the intent id
//	                                           that claimed that Transfer as its withdrawal's landing
//	rebal:v1:{<account>}:exec:lease:<venue>    string: <fence>:<replica>, with a TTL
//	rebal:v1:{<account>}:exec:fence:<venue>    counter: the last fencing token issued
//	rebal:v1:exec:control                      hash: scope → kill/pause state (see control.go)
//	rebal:v1:exec:notional:<venue>             sorted set: <intent id>:<notional> by accept time (ms)
func accountKey(account, suffix string) string {
	a, err := pending.NormalizeAccount(account)
	if err != nil {
		a = strings.ToLower(account)
	}
	return "rebal:v1:{" + a + "}:exec:" + suffix
}

func openKey(account string) string         { return accountKey(account, "open") }
func doneKey(account string) string         { return accountKey(account, "done") }
func outboxKey(account string) string       { return accountKey(account, "outbox") }
func txKey(account, step string) string     { return accountKey(account, "tx:"+step) }
func nonceKey(account string) string        { return accountKey(account, "nonce") }
func landingsKey(account string) string     { return accountKey(account, "landings") }
func leaseKey(account, venue string) string { return accountKey(account, "lease:"+venue) }
func fenceKey(account, venue string) string { return accountKey(account, "fence:"+venue) }
func notionalKey(venue string) string       { return "rebal:v1:exec:notional:" + venue }

const controlKey = "rebal:v1:exec:control"

// txStore keeps the chain package's write-ahead records of one account in Redis. SaveTx is one
// script: a step that has a record keeps it; otherwise the record is stored only if its nonce is
// above the account's recorded nonce on the chain, which it then becomes (chain.ErrNonceTaken
// otherwise). That reservation is what keeps two replicas, each holding another venue's lease and
// signing for the same (chain, account) at once, from recording two transactions with one nonce.
//
// Durability: SaveTx returns once Redis has the record in memory and in its append-only file
// buffer; with appendfsync everysec a power loss may drop the last second. Run Redis with
// appendfsync always (or replicas) where that matters.
type txStore struct {
	rdb     redis.UniversalClient
	account string
}

var _ chain.TxStore = (*txStore)(nil)

// saveTxScript returns {1, stored record} or {0, recorded nonce} (the nonce is taken).
var saveTxScript = redis.NewScript(`
local old = redis.call('GET', KEYS[1])
if old then return {1, old} end
local cur = redis.call('HGET', KEYS[2], ARGV[2])
if cur and tonumber(ARGV[3]) <= tonumber(cur) then return {0, cur} end
redis.call('SET', KEYS[1], ARGV[1])
redis.call('HSET', KEYS[2], ARGV[2], ARGV[3])
return {1, ARGV[1]}
`)

func (s *txStore) LoadTx(ctx context.Context, stepKey string) (chain.TxRecord, bool, error) {
	b, err := s.rdb.Get(ctx, txKey(s.account, stepKey)).Bytes()
	if errors.Is(err, redis.Nil) {
		return chain.TxRecord{}, false, nil
	}
	if err != nil {
		return chain.TxRecord{}, false, fmt.Errorf("load tx %s: %w", stepKey, err)
	}
	var rec chain.TxRecord
	if err := json.Unmarshal(b, &rec); err != nil {
		return chain.TxRecord{}, false, fmt.Errorf("load tx %s: %w", stepKey, err)
	}
	return rec, true, nil
}

func (s *txStore) SaveTx(ctx context.Context, rec chain.TxRecord) (chain.TxRecord, error) {
	b, err := json.Marshal(rec)
	if err != nil {
		return chain.TxRecord{}, fmt.Errorf("save tx %s: %w", rec.StepKey, err)
	}
	field := strconv.FormatUint(rec.ChainID, 10) + ":" + strings.ToLower(rec.From.Hex())
	res, err := saveTxScript.Run(ctx, s.rdb, []string{txKey(s.account, rec.StepKey), nonceKey(s.account)},
		string(b), field, strconv.FormatUint(rec.Nonce, 10)).Slice()
	if err != nil {
		return chain.TxRecord{}, fmt.Errorf("save tx %s: %w", rec.StepKey, err)
	}
	if len(res) != 2 {
		return chain.TxRecord{}, fmt.Errorf("save tx %s: unexpected reply %v", rec.StepKey, res)
	}
	ok, _ := res[0].(int64)
	got, _ := res[1].(string)
	if ok != 1 {
		return chain.TxRecord{}, fmt.Errorf("save tx %s: nonce %d, recorded up to %s on %s: %w", rec.StepKey, rec.Nonce, got, field, chain.ErrNonceTaken)
	}
	var stored chain.TxRecord
	if err := json.Unmarshal([]byte(got), &stored); err != nil {
		return chain.TxRecord{}, fmt.Errorf("save tx %s: stored record: %w", rec.StepKey, err)
	}
	return stored, nil
}

func (s *txStore) MaxNonce(ctx context.Context, chainID uint64, from common.Address) (uint64, bool, error) {
	field := strconv.FormatUint(chainID, 10) + ":" + strings.ToLower(from.Hex())
	v, err := s.rdb.HGet(ctx, nonceKey(s.account), field).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, false, nil
	}
	if err != nil {
		return 0, false, fmt.Errorf("max nonce %s: %w", field, err)
	}
	return v, true, nil
}

// outbox: the highest version of each intent published on the stream.
var markPublishedScript = redis.NewScript(`
local cur = tonumber(redis.call('HGET', KEYS[1], ARGV[1]) or '0')
if tonumber(ARGV[2]) > cur then redis.call('HSET', KEYS[1], ARGV[1], ARGV[2]) end
return 1
`)

func published(ctx context.Context, rdb redis.UniversalClient, account, id string) (uint64, error) {
	v, err := rdb.HGet(ctx, outboxKey(account), id).Uint64()
	if errors.Is(err, redis.Nil) {
		return 0, nil
	}
	return v, err
}

func markPublished(ctx context.Context, rdb redis.UniversalClient, account, id string, v uint64) error {
	return markPublishedScript.Run(ctx, rdb, []string{outboxKey(account)}, id, strconv.FormatUint(v, 10)).Err()
}
