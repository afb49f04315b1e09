package simbinance

import (
	"context"
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"io"
	"math/big"
	"net"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/ethereum/go-ethereum/ethclient"
)

const (
	walletSpot    = "spot"
	walletFunding = "funding"
)

// Sim is a simulated Binance. Serve it with Listen (or use it as an http.Handler) and drive its
// chain work with Start or Tick. All methods are safe for concurrent use.
type Sim struct {
	cfg  Config
	sym  market
	nets map[string]*network

	mu          sync.Mutex
	accounts    map[string]*account // by API key
	byAddr      map[common.Address]*account
	orders      []*order
	trades      []*trade
	deposits    []*deposit
	withdrawals []*withdrawal
	transfers   int64
	nextID      int64
	actions     []Action
	suspendedW  map[string]bool // "COIN/NETWORK"
	suspendedD  map[string]bool
	weights     map[string]int // window key → used
	window      time.Time
	backoff     time.Time
	strikes     int
	bannedUntil time.Time
	faults      []*Fault
	holds       []*Hold

	tickMu sync.Mutex // one Tick at a time: withdrawals' nonces must not interleave

	srvMu sync.Mutex
	srv   *http.Server
	url   string
}

type account struct {
	key, secret    string
	uid            int64
	wallets        map[string]map[string]*big.Rat // wallet → coin → free
	orderLocked    map[string]*big.Rat            // coin → held by open orders (spot)
	withdrawLocked map[string]*big.Rat            // coin → credited but not yet unlocked
	depositAddr    common.Address
	canWithdraw    bool
}

type network struct {
	Network
	client *ethclient.Client
	coins  map[string]coinNet
	// scanned is the last block scanned for deposits and scannedHash its hash: when the chain no
	// longer has that hash there, a reorg happened and the last reorgRescan blocks are scanned again.
	scanned     uint64
	scannedHash common.Hash
}

type coinNet struct {
	CoinNetwork
	fee, min, max, multiple *big.Rat
}

// New builds a simulator. Networks with an RPC URL are dialled now (lazily by ethclient).
func New(cfg Config) (*Sim, error) {
	if err := cfg.setDefaults(); err != nil {
		return nil, err
	}
	s := &Sim{
		cfg:        cfg,
		sym:        parseMarket(cfg.Symbol),
		nets:       map[string]*network{},
		accounts:   map[string]*account{},
		byAddr:     map[common.Address]*account{},
		suspendedW: map[string]bool{},
		suspendedD: map[string]bool{},
		weights:    map[string]int{},
		nextID:     1000,
	}
	for i, a := range cfg.Accounts {
		acct := &account{
			key: a.APIKey, secret: a.Secret, uid: int64(100000 + i),
			wallets:        map[string]map[string]*big.Rat{walletSpot: {}, walletFunding: {}},
			orderLocked:    map[string]*big.Rat{},
			withdrawLocked: map[string]*big.Rat{},
			depositAddr:    depositAddress(a.APIKey),
			canWithdraw:    a.CanWithdraw == nil || *a.CanWithdraw,
		}
		for c, v := range a.Spot {
			acct.wallets[walletSpot][c] = mustDec(v)
		}
		for c, v := range a.Funding {
			acct.wallets[walletFunding][c] = mustDec(v)
		}
		s.accounts[a.APIKey] = acct
		s.byAddr[acct.depositAddr] = acct
	}
	for _, n := range cfg.Networks {
		nw := &network{Network: n, coins: map[string]coinNet{}}
		for _, c := range n.Coins {
			mult := c.Multiple
			if mult == "" {
				mult = "0.00000001"
			}
			nw.coins[c.Coin] = coinNet{CoinNetwork: c, fee: mustDec(c.WithdrawFee), min: mustDec(c.WithdrawMin),
				max: mustDec(c.WithdrawMax), multiple: mustDec(mult)}
		}
		if n.RPCURL != "" {
			cl, err := ethclient.Dial(n.RPCURL)
			if err != nil {
				return nil, fmt.Errorf("dial %s: %w", n.Name, err)
			}
			nw.client = cl
		}
		s.nets[n.Name] = nw
	}
	return s, nil
}

// depositAddress derives an account's deposit address (the same on every EVM network, as
// Binance's are). Nobody holds its key: deposited funds stay there, like in an exchange's sweep
// backlog.
func depositAddress(apiKey string) common.Address {
	return common.BytesToAddress(crypto.Keccak256([]byte("simbinance/deposit/" + apiKey))[12:])
}

// DepositAddress returns the deposit address of the account with apiKey.
func (s *Sim) DepositAddress(apiKey string) common.Address { return depositAddress(apiKey) }

// Listen serves the API on addr ("127.0.0.1:0" for a free port) and returns its base URL.
func (s *Sim) Listen(addr string) (string, error) {
	ln, err := net.Listen("tcp", addr)
	if err != nil {
		return "", fmt.Errorf("listen: %w", err)
	}
	srv := &http.Server{Handler: s, ReadHeaderTimeout: 10 * time.Second}
	s.srvMu.Lock()
	s.srv = srv
	s.url = "http://" + ln.Addr().String()
	s.srvMu.Unlock()
	go func() { _ = srv.Serve(ln) }()
	return s.url, nil
}

// URL is the base URL Listen serves.
func (s *Sim) URL() string {
	s.srvMu.Lock()
	defer s.srvMu.Unlock()
	return s.url
}

// Close stops the HTTP server and the chain clients.
func (s *Sim) Close() error {
	s.srvMu.Lock()
	srv := s.srv
	s.srvMu.Unlock()
	var err error
	if srv != nil {
		err = srv.Close()
	}
	for _, n := range s.nets {
		if n.client != nil {
			n.client.Close()
		}
	}
	return err
}

// Start scans chains and advances withdrawals every PollInterval until ctx ends.
func (s *Sim) Start(ctx context.Context) error {
	t := time.NewTicker(s.cfg.PollInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case <-t.C:
			_ = s.Tick(ctx) // chain hiccups are retried on the next tick
		}
	}
}

type weightKind int

const (
	weightAPI weightKind = iota
	weightSAPIIP
	weightSAPIUID
)

type endpoint struct {
	weight int
	kind   weightKind
	signed bool
	apiKey bool
	h      func(*request) (any, *apiError)
}

type request struct {
	acct *account
	p    url.Values
	now  time.Time
}

func (s *Sim) endpoints() map[string]endpoint {
	return map[string]endpoint{
		"GET /api/v3/time":                     {weight: 1, h: s.handleTime},
		"GET /api/v3/exchangeInfo":             {weight: 20, h: s.handleExchangeInfo},
		"GET /api/v3/depth":                    {weight: 5, h: s.handleDepth},
		"GET /api/v3/account":                  {weight: 20, signed: true, h: s.handleAccount},
		"POST /api/v3/order":                   {weight: 1, signed: true, h: s.handleNewOrder},
		"GET /api/v3/order":                    {weight: 4, signed: true, h: s.handleGetOrder},
		"DELETE /api/v3/order":                 {weight: 1, signed: true, h: s.handleCancelOrder},
		"GET /api/v3/myTrades":                 {weight: 20, signed: true, h: s.handleMyTrades},
		"GET /sapi/v1/asset/tradeFee":          {weight: 1, kind: weightSAPIIP, signed: true, h: s.handleTradeFee},
		"GET /sapi/v1/capital/config/getall":   {weight: 10, kind: weightSAPIIP, signed: true, h: s.handleCoins},
		"GET /sapi/v1/capital/deposit/address": {weight: 10, kind: weightSAPIIP, signed: true, h: s.handleDepositAddress},
		"GET /sapi/v1/capital/deposit/hisrec":  {weight: 1, kind: weightSAPIIP, signed: true, h: s.handleDeposits},
		"POST /sapi/v1/asset/transfer":         {weight: 900, kind: weightSAPIUID, signed: true, h: s.handleTransfer},
		"POST /sapi/v1/capital/withdraw/apply": {weight: 600, kind: weightSAPIUID, signed: true, h: s.handleWithdraw},
		"GET /sapi/v1/capital/withdraw/history": {weight: 10, kind: weightSAPIIP, signed: true,
			h: s.handleWithdrawHistory},
	}
}

// ServeHTTP implements http.Handler.
func (s *Sim) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	ep, ok := s.endpoints()[r.Method+" "+r.URL.Path]
	if !ok {
		writeJSON(w, http.StatusNotFound, nil, newErr(http.StatusNotFound, codeUnknown, "Not found."))
		return
	}
	body, err := io.ReadAll(io.LimitReader(r.Body, 1<<20))
	if err != nil {
		writeJSON(w, http.StatusBadRequest, nil, newErr(http.StatusBadRequest, codeUnknown, "bad body"))
		return
	}
	f := s.takeFault(r.Method, r.URL.Path, false)
	if f != nil && f.Latency > 0 {
		select {
		case <-time.After(f.Latency):
		case <-r.Context().Done():
			return
		}
	}
	if f != nil && f.Kind == FaultStatusBefore {
		writeJSON(w, f.status(), nil, newErr(f.status(), codeUnknown, "An unknown error occurred while processing the request."))
		return
	}
	if f != nil && f.Kind == FaultRateLimit {
		h := http.Header{}
		h.Set("Retry-After", strconv.Itoa(f.retryAfter()))
		writeJSON(w, http.StatusTooManyRequests, h, newErr(http.StatusTooManyRequests, codeTooManyRequests,
			"Too much request weight used; current limit is 6000 request weight per 1 MINUTE."))
		return
	}

	now := s.cfg.Now()
	acct, hdr, aerr := s.admit(r, body, ep, now)
	if aerr != nil {
		writeJSON(w, aerr.status, hdr, aerr)
		return
	}
	params, _ := url.ParseQuery(r.URL.RawQuery)
	if form, err := url.ParseQuery(string(body)); err == nil {
		for k, v := range form {
			params[k] = append(params[k], v...)
		}
	}
	var held *Hold
	if hf := s.takeFault(r.Method, r.URL.Path, true); hf != nil {
		held = s.hold(r.Method, r.URL.Path, params, hf.Latency)
		now = s.cfg.Now() // it acts at the end of the hold
	}
	res, herr := ep.h(&request{acct: acct, p: params, now: now})
	if held != nil {
		s.released(held, herr)
	}

	if f != nil && f.Kind == FaultDropAfter {
		dropConnection(w)
		return
	}
	if f != nil && f.Kind == FaultStatusAfter {
		writeJSON(w, f.status(), hdr, newErr(f.status(), codeTimeout,
			"Timeout waiting for response from backend server. Send status unknown; execution status unknown."))
		return
	}
	if herr != nil {
		writeJSON(w, herr.status, hdr, herr)
		return
	}
	writeJSON(w, http.StatusOK, hdr, res)
}

// admit applies bans, weights and authentication; it returns the account for signed endpoints
// and the weight headers to send.
func (s *Sim) admit(r *http.Request, body []byte, ep endpoint, now time.Time) (*account, http.Header, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	hdr := http.Header{}
	if now.Before(s.bannedUntil) {
		hdr.Set("Retry-After", strconv.Itoa(int(s.bannedUntil.Sub(now)/time.Second)+1))
		return nil, hdr, newErr(http.StatusTeapot, codeTooManyRequests,
			fmt.Sprintf("Way too much request weight used; IP banned until %d.", s.bannedUntil.UnixMilli()))
	}
	if now.Before(s.backoff) {
		s.strikes++
		if s.strikes >= s.cfg.BanAfter {
			s.bannedUntil = now.Add(s.cfg.BanFor)
			hdr.Set("Retry-After", strconv.Itoa(int(s.cfg.BanFor/time.Second)))
			return nil, hdr, newErr(http.StatusTeapot, codeTooManyRequests,
				fmt.Sprintf("Way too much request weight used; IP banned until %d.", s.bannedUntil.UnixMilli()))
		}
		hdr.Set("Retry-After", strconv.Itoa(int(s.backoff.Sub(now)/time.Second)+1))
		return nil, hdr, newErr(http.StatusTooManyRequests, codeTooManyRequests,
			"Too much request weight used; current limit is 6000 request weight per 1 MINUTE.")
	}

	var acct *account
	if ep.signed || ep.apiKey {
		key := r.Header.Get("X-MBX-APIKEY")
		if key == "" {
			return nil, hdr, newErr(http.StatusUnauthorized, codeBadAPIKeyFormat, "API-key format invalid.")
		}
		acct = s.accounts[key]
		if acct == nil {
			return nil, hdr, newErr(http.StatusUnauthorized, codeRejectedAPIKey, "Invalid API-key, IP, or permissions for action.")
		}
	}

	win := now.Truncate(time.Minute)
	if !win.Equal(s.window) {
		s.window, s.weights = win, map[string]int{}
	}
	wkey, limit, header := "api", s.cfg.APIWeightLimit, "X-MBX-USED-WEIGHT-1M"
	switch ep.kind {
	case weightSAPIIP:
		wkey, limit, header = "sapi-ip", s.cfg.SAPIIPWeightLimit, "X-SAPI-USED-IP-WEIGHT-1M"
	case weightSAPIUID:
		uid := int64(0)
		if acct != nil {
			uid = acct.uid
		}
		wkey, limit, header = "sapi-uid-"+strconv.FormatInt(uid, 10), s.cfg.SAPIUIDWeightLimit, "X-SAPI-USED-UID-WEIGHT-1M"
	}
	used := s.weights[wkey] + ep.weight
	s.weights[wkey] = used
	hdr.Set(header, strconv.Itoa(used))
	if ep.kind == weightAPI {
		hdr.Set("X-MBX-USED-WEIGHT", strconv.Itoa(used))
	}
	if used > limit {
		s.backoff = win.Add(time.Minute)
		s.strikes = 0
		hdr.Set("Retry-After", strconv.Itoa(int(s.backoff.Sub(now)/time.Second)+1))
		return nil, hdr, newErr(http.StatusTooManyRequests, codeTooManyRequests,
			fmt.Sprintf("Too much request weight used; current limit is %d request weight per 1 MINUTE.", limit))
	}

	if ep.signed {
		if err := verify(r.URL.RawQuery, string(body), acct.secret, now); err != nil {
			return nil, hdr, err
		}
	}
	return acct, hdr, nil
}

// verify checks Binance's HMAC-SHA256 signature over totalParams (the query string without the
// signature, then the body) and the timestamp against recvWindow.
func verify(rawQuery, body, secret string, now time.Time) *apiError {
	var sig string
	kept := make([]string, 0, 8)
	for _, part := range strings.Split(rawQuery, "&") {
		if v, ok := strings.CutPrefix(part, "signature="); ok {
			sig = v
			continue
		}
		if part != "" {
			kept = append(kept, part)
		}
	}
	if sig == "" {
		if form, err := url.ParseQuery(body); err == nil && form.Get("signature") != "" {
			// A signature in the body covers everything before it.
			i := strings.LastIndex(body, "&signature=")
			if i < 0 {
				return errMandatory("signature")
			}
			sig, body = form.Get("signature"), body[:i]
		} else {
			return errMandatory("signature")
		}
	}
	payload := strings.Join(kept, "&") + body
	mac := hmac.New(sha256.New, []byte(secret))
	mac.Write([]byte(payload))
	want := hex.EncodeToString(mac.Sum(nil))
	got, err := url.QueryUnescape(sig)
	if err != nil || !hmac.Equal([]byte(strings.ToLower(got)), []byte(want)) {
		return errInvalidSignature()
	}
	all, _ := url.ParseQuery(strings.Join(kept, "&") + "&" + body)
	ts, err := strconv.ParseInt(all.Get("timestamp"), 10, 64)
	if err != nil {
		return errMandatory("timestamp")
	}
	recv := int64(5000)
	if v := all.Get("recvWindow"); v != "" {
		recv, err = strconv.ParseInt(v, 10, 64)
		if err != nil || recv <= 0 || recv > 60000 {
			return newErr(http.StatusBadRequest, codeBadRecvWindow, "recvWindow must be less than 60000")
		}
	}
	server := now.UnixMilli()
	if ts >= server+1000 {
		return errTimestampAhead()
	}
	if server-ts > recv {
		return errTimestamp()
	}
	return nil
}

func writeJSON(w http.ResponseWriter, status int, hdr http.Header, v any) {
	for k, vs := range hdr {
		for _, x := range vs {
			w.Header().Add(k, x)
		}
	}
	w.Header().Set("Content-Type", "application/json;charset=UTF-8")
	w.WriteHeader(status)
	_ = json.NewEncoder(w).Encode(v)
}

// dropConnection closes the TCP connection without an answer: the action took effect, the client
// never hears of it.
func dropConnection(w http.ResponseWriter) {
	hj, ok := w.(http.Hijacker)
	if !ok {
		panic(http.ErrAbortHandler)
	}
	conn, _, err := hj.Hijack()
	if err != nil {
		panic(http.ErrAbortHandler)
	}
	_ = conn.Close()
}

func (s *Sim) id() int64 {
	s.nextID++
	return s.nextID
}

func param(r *request, name string) (string, *apiError) {
	v := r.p.Get(name)
	if v == "" {
		return "", errMandatory(name)
	}
	return v, nil
}

func decParam(r *request, name string) (*big.Rat, *apiError) {
	v, e := param(r, name)
	if e != nil {
		return nil, e
	}
	d, ok := parseDec(v)
	if !ok {
		return nil, newErr(http.StatusBadRequest, codeMandatoryParam, fmt.Sprintf("Illegal characters found in parameter '%s'.", name))
	}
	return d, nil
}
