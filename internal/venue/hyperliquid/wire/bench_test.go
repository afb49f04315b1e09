package wire

import (
	"testing"

	"github.com/ethereum/go-ethereum/crypto"
)

func BenchmarkSignOrder(b *testing.B) {
	key, _ := crypto.HexToECDSA(vectorKey)
	a := vectorOrder("0x00000000000000000000000000000001")
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		if _, err := SignL1(key, Mainnet, a, uint64(i)); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkRecoverWithdraw(b *testing.B) {
	key, _ := crypto.HexToECDSA(vectorKey)
	req, _ := SignUser(key, NewWithdraw3(Mainnet, "0x5e9ee1089755c3435139848e47e6635505d5a13a", "10", 1))
	a := NewWithdraw3(Mainnet, "0x5e9ee1089755c3435139848e47e6635505d5a13a", "10", 1)
	b.ReportAllocs()
	for i := 0; i < b.N; i++ {
		d, _ := UserSignedDigest(a)
		if _, err := Recover(d, req.Signature); err != nil {
			b.Fatal(err)
		}
	}
}
