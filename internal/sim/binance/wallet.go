package simbinance

import (
	"math/big"
	"net/http"
	"sort"
	"strconv"
	"strings"
	"time"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/core/types"
)

type deposit struct {
	acct          *account
	id            int64
	coin, network string
	amount        *big.Rat
	address       common.Address
	txHash        string
	logIndex      uint
	block         uint64
	confirmations uint64
	status        int // 0 pending, 6 credited but locked, 1 success
	wallet        string
	insertTime    int64
}

type withdrawal struct {
	acct          *account
	id            string
	clientID      string
	coin, network string
	address       common.Address
	amount, fee   *big.Rat // amount is what the recipient gets
	status        int      // 4 processing, 6 completed, 5 failure
	txHash        string
	info          string
	applyTime     time.Time
	completeTime  time.Time
	confirmations int
	walletType    int
	signed        *types.Transaction
}

func sortBalances(b []map[string]string) {
	sort.Slice(b, func(i, j int) bool { return b[i]["asset"] < b[j]["asset"] })
}

func (s *Sim) netNames() []string {
	names := make([]string, 0, len(s.nets))
	for n := range s.nets {
		names = append(names, n)
	}
	sort.Strings(names)
	return names
}

func (s *Sim) handleCoins(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	type netJSON struct {
		AddressRegex            string `json:"addressRegex"`
		Coin                    string `json:"coin"`
		DepositDesc             string `json:"depositDesc"`
		DepositEnable           bool   `json:"depositEnable"`
		IsDefault               bool   `json:"isDefault"`
		MemoRegex               string `json:"memoRegex"`
		MinConfirm              uint64 `json:"minConfirm"`
		Name                    string `json:"name"`
		Network                 string `json:"network"`
		SpecialTips             string `json:"specialTips"`
		UnLockConfirm           uint64 `json:"unLockConfirm"`
		WithdrawDesc            string `json:"withdrawDesc"`
		WithdrawEnable          bool   `json:"withdrawEnable"`
		WithdrawFee             string `json:"withdrawFee"`
		WithdrawIntegerMultiple string `json:"withdrawIntegerMultiple"`
		WithdrawMax             string `json:"withdrawMax"`
		WithdrawMin             string `json:"withdrawMin"`
		WithdrawInternalMin     string `json:"withdrawInternalMin"`
		SameAddress             bool   `json:"sameAddress"`
		EstimatedArrivalTime    int    `json:"estimatedArrivalTime"`
		Busy                    bool   `json:"busy"`
		ContractAddressURL      string `json:"contractAddressUrl"`
		ContractAddress         string `json:"contractAddress"`
		Denomination            int    `json:"denomination"`
	}
	byCoin := map[string][]netJSON{}
	for _, name := range s.netNames() {
		n := s.nets[name]
		for coin, c := range n.coins {
			dep := c.DepositEnable && !s.suspendedD[coin+"/"+name]
			wd := c.WithdrawEnable && !s.suspendedW[coin+"/"+name]
			j := netJSON{AddressRegex: "^(0x)[0-9A-Fa-f]{40}$", Coin: coin, DepositEnable: dep, MinConfirm: n.MinConfirm,
				Name: name, Network: name, UnLockConfirm: n.UnlockConfirm, WithdrawEnable: wd,
				WithdrawFee: c.fee.FloatString(8), WithdrawIntegerMultiple: c.multiple.FloatString(8),
				WithdrawMax: c.max.FloatString(8), WithdrawMin: c.min.FloatString(8), WithdrawInternalMin: "0.00000001",
				EstimatedArrivalTime: 1, ContractAddress: strings.ToLower(c.Token.Hex()), Denomination: 1}
			if !dep {
				j.DepositDesc = "Wallet Maintenance, Deposit Suspended"
			}
			if !wd {
				j.WithdrawDesc = "Wallet Maintenance, Withdrawal Suspended"
			}
			byCoin[coin] = append(byCoin[coin], j)
		}
	}
	coins := make([]string, 0, len(byCoin))
	for c := range byCoin {
		coins = append(coins, c)
	}
	sort.Strings(coins)
	out := []map[string]any{}
	for _, c := range coins {
		nets := byCoin[c]
		sort.Slice(nets, func(i, j int) bool { return nets[i].Network < nets[j].Network })
		if len(nets) > 0 {
			nets[0].IsDefault = true
		}
		depAll, wdAll := false, false
		for _, n := range nets {
			depAll = depAll || n.DepositEnable
			wdAll = wdAll || n.WithdrawEnable
		}
		out = append(out, map[string]any{"coin": c, "name": c, "depositAllEnable": depAll, "withdrawAllEnable": wdAll,
			"free": fmtDec(bal(r.acct.wallets[walletSpot], c), 8), "locked": fmtDec(bal(r.acct.orderLocked, c), 8),
			"freeze": "0", "withdrawing": "0", "ipoing": "0", "ipoable": "0", "storage": "0", "isLegalMoney": false,
			"trading": true, "networkList": nets})
	}
	return out, nil
}

func (s *Sim) coinNet(coin, network string) (*network, coinNet, *apiError) {
	n := s.nets[network]
	if n == nil {
		return nil, coinNet{}, newErr(http.StatusBadRequest, codeAssetUnsupported, "We don't support this asset on this network.")
	}
	c, ok := n.coins[coin]
	if !ok {
		return nil, coinNet{}, newErr(http.StatusBadRequest, codeAssetUnsupported, "We don't support this asset on this network.")
	}
	return n, c, nil
}

func (s *Sim) handleDepositAddress(r *request) (any, *apiError) {
	coin, e := param(r, "coin")
	if e != nil {
		return nil, e
	}
	network := r.p.Get("network")
	if network == "" {
		network = "ETH"
	}
	if _, _, e := s.coinNet(coin, network); e != nil {
		return nil, e
	}
	return map[string]string{"address": strings.ToLower(r.acct.depositAddr.Hex()), "coin": coin, "tag": "",
		"url": "https://etherscan.io/address/" + strings.ToLower(r.acct.depositAddr.Hex())}, nil
}

func (s *Sim) handleDeposits(r *request) (any, *apiError) {
	s.mu.Lock()
	defer s.mu.Unlock()
	coin, tx := r.p.Get("coin"), strings.ToLower(r.p.Get("txId"))
	status := -1
	if v := r.p.Get("status"); v != "" {
		status, _ = strconv.Atoi(v)
	}
	out := []map[string]any{}
	for i := len(s.deposits) - 1; i >= 0; i-- {
		d := s.deposits[i]
		if d.acct != r.acct || (coin != "" && d.coin != coin) || (tx != "" && strings.ToLower(d.txHash) != tx) || (status >= 0 && d.status != status) {
			continue
		}
		n := s.nets[d.network]
		walletType := 0
		if d.wallet == walletFunding {
			walletType = 1
		}
		out = append(out, map[string]any{"id": strconv.FormatInt(d.id, 10), "amount": fmtDec(d.amount, 8), "coin": d.coin,
			"network": d.network, "status": d.status, "address": strings.ToLower(d.address.Hex()), "addressTag": "",
			"txId": d.txHash, "insertTime": d.insertTime, "completeTime": d.insertTime, "transferType": 0,
			"confirmTimes":  strconv.FormatUint(d.confirmations, 10) + "/" + strconv.FormatUint(n.UnlockConfirm, 10),
			"unlockConfirm": n.UnlockConfirm, "walletType": walletType})
	}
	return out, nil
}

func (s *Sim) handleTransfer(r *request) (any, *apiError) {
	typ, e := param(r, "type")
	if e != nil {
		return nil, e
	}
	asset, e := param(r, "asset")
	if e != nil {
		return nil, e
	}
	amt, e := decParam(r, "amount")
	if e != nil {
		return nil, e
	}
	var from, to string
	switch typ {
	case "FUNDING_MAIN":
		from, to = walletFunding, walletSpot
	case "MAIN_FUNDING":
		from, to = walletSpot, walletFunding
	default:
		return nil, newErr(http.StatusBadRequest, codeMandatoryParam, "Illegal characters found in parameter 'type'.")
	}
	if amt.Sign() <= 0 || truncDec(amt, 8).Cmp(amt) != 0 {
		return nil, newErr(http.StatusBadRequest, codeBadPrecision, "Precision is over the maximum defined for this asset.")
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	w := r.acct.wallets[from]
	if bal(w, asset).Cmp(amt) < 0 {
		return nil, newErr(http.StatusBadRequest, codeTransferBalance, "Balance is not enough")
	}
	add(w, asset, new(big.Rat).Neg(amt))
	add(r.acct.wallets[to], asset, amt)
	// A deposit's withdrawal lock follows the funds.
	s.transfers++
	id := s.id()
	s.recordLocked(Action{Kind: ActionTransfer, APIKey: r.acct.key, ID: strconv.FormatInt(id, 10), Coin: asset, Amount: fmtDec(amt, 8)})
	return map[string]int64{"tranId": id}, nil
}

func (s *Sim) handleWithdraw(r *request) (any, *apiError) {
	coin, e := param(r, "coin")
	if e != nil {
		return nil, e
	}
	addr, e := param(r, "address")
	if e != nil {
		return nil, e
	}
	amt, e := decParam(r, "amount")
	if e != nil {
		return nil, e
	}
	network := r.p.Get("network")
	if network == "" {
		network = "ETH"
	}
	if !common.IsHexAddress(addr) {
		return nil, newErr(http.StatusBadRequest, -4007, "Withdrawal address validation is not passed.")
	}
	wallet := walletSpot
	if r.p.Get("walletType") == "1" {
		wallet = walletFunding
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	if !r.acct.canWithdraw {
		return nil, newErr(http.StatusUnauthorized, codeUnauthorized, "You are not authorized to execute this request.")
	}
	n, c, e := s.coinNet(coin, network)
	if e != nil {
		return nil, e
	}
	if !c.WithdrawEnable || s.suspendedW[coin+"/"+network] {
		return nil, newErr(http.StatusBadRequest, codeWithdrawDisabled, "The current currency is not open for withdrawal")
	}
	if amt.Cmp(c.min) < 0 {
		return nil, newErr(http.StatusBadRequest, codeWithdrawMin, "The withdrawal amount is less than the minimum: "+c.min.FloatString(8))
	}
	if c.max.Sign() > 0 && amt.Cmp(c.max) > 0 {
		return nil, newErr(http.StatusBadRequest, codeWithdrawMax, "The withdrawal amount is more than the maximum: "+c.max.FloatString(8))
	}
	if !isMultiple(amt, c.multiple) {
		return nil, newErr(http.StatusBadRequest, codeWithdrawMultiple, "The withdrawal amount must be a multiple of "+c.multiple.FloatString(8))
	}
	// Funds credited by deposits that are not yet unlocked can trade but not leave.
	avail := bal(r.acct.wallets[wallet], coin)
	avail.Sub(avail, bal(r.acct.withdrawLocked, coin))
	if avail.Cmp(amt) < 0 {
		return nil, newErr(http.StatusBadRequest, codeInsufficientWallet, "Insufficient balance.")
	}
	_ = n
	add(r.acct.wallets[wallet], coin, new(big.Rat).Neg(amt))
	wd := &withdrawal{acct: r.acct, id: strconv.FormatInt(s.id(), 16) + "b1e2c3d4", clientID: r.p.Get("withdrawOrderId"),
		coin: coin, network: network, address: common.HexToAddress(addr), fee: new(big.Rat).Set(c.fee),
		amount: new(big.Rat).Sub(amt, c.fee), status: 4, applyTime: r.now}
	if wallet == walletFunding {
		wd.walletType = 1
	}
	s.withdrawals = append(s.withdrawals, wd)
	s.recordLocked(Action{Kind: ActionWithdraw, APIKey: r.acct.key, ID: wd.id, ClientID: wd.clientID, Coin: coin, Network: network, Amount: fmtDec(amt, 8)})
	return map[string]string{"id": wd.id}, nil
}

func (s *Sim) handleWithdrawHistory(r *request) (any, *apiError) {
	coin, cid := r.p.Get("coin"), r.p.Get("withdrawOrderId")
	status := -1
	if v := r.p.Get("status"); v != "" {
		status, _ = strconv.Atoi(v)
	}
	end := r.now
	if v := r.p.Get("endTime"); v != "" {
		ms, _ := strconv.ParseInt(v, 10, 64)
		end = time.UnixMilli(ms)
	}
	window := 90 * 24 * time.Hour
	if cid != "" {
		window = 7 * 24 * time.Hour
	}
	start := end.Add(-window)
	if v := r.p.Get("startTime"); v != "" {
		ms, _ := strconv.ParseInt(v, 10, 64)
		start = time.UnixMilli(ms)
		if end.Sub(start) > window {
			return nil, newErr(http.StatusBadRequest, codeMandatoryParam, "Time interval must be within 0-90 days")
		}
	}
	ids := map[string]bool{}
	if v := r.p.Get("idList"); v != "" {
		for _, id := range strings.Split(v, ",") {
			ids[id] = true
		}
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := []map[string]any{}
	for i := len(s.withdrawals) - 1; i >= 0; i-- {
		w := s.withdrawals[i]
		if w.acct != r.acct || (coin != "" && w.coin != coin) || (cid != "" && w.clientID != cid) ||
			(status >= 0 && w.status != status) || (len(ids) > 0 && !ids[w.id]) ||
			w.applyTime.Before(start) || w.applyTime.After(end) {
			continue
		}
		j := map[string]any{"id": w.id, "amount": fmtDec(w.amount, 8), "transactionFee": fmtDec(w.fee, 8), "coin": w.coin,
			"status": w.status, "address": strings.ToLower(w.address.Hex()), "txId": w.txHash,
			"applyTime": w.applyTime.UTC().Format("2006-01-02 15:04:05"), "network": w.network, "transferType": 0,
			"info": w.info, "confirmNo": w.confirmations, "walletType": w.walletType, "txKey": ""}
		if w.clientID != "" {
			j["withdrawOrderId"] = w.clientID
		}
		if w.status == 6 {
			j["completeTime"] = w.completeTime.UTC().Format("2006-01-02 15:04:05")
		}
		out = append(out, j)
	}
	return out, nil
}
