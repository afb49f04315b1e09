package simbinance

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/hex"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzVerify: any query and body is either accepted or refused with a Binance error, never a
// panic; the same payload signed with the secret is accepted.
func FuzzVerify(f *testing.F) {
	f.Add("symbol=USDCUSDT&side=SELL", "quantity=10")
	f.Add("", "")
	f.Add("signature=zz&signature=00", "a=%zz")
	f.Add("recvWindow=999999", "")
	now := time.UnixMilli(1_700_000_000_000)
	f.Fuzz(func(t *testing.T, query, body string) {
		if e := verify(query, body, "secret", now); e != nil {
			require.NotZero(t, e.Code)
		}
		q := "timestamp=" + strconv.FormatInt(now.UnixMilli(), 10)
		mac := hmac.New(sha256.New, []byte("secret"))
		mac.Write([]byte(q + body))
		signed := q + "&signature=" + hex.EncodeToString(mac.Sum(nil))
		if e := verify(signed, body, "secret", now); e != nil {
			// Only a body that itself carries a bad timestamp or recvWindow may fail.
			require.Contains(t, []int{codeInvalidTimestamp, codeBadRecvWindow, codeMandatoryParam}, e.Code, "%s", e.Msg)
		}
	})
}
