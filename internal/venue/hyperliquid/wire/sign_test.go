package wire

import (
	"testing"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/crypto"
	"github.com/stretchr/testify/require"
)

// The vectors below are the official Python SDK's published signing tests:
// github.com/hyperliquid-dex/hyperliquid-python-sdk, tests/signing_test.py at commit
// 7ee976d123b1e04295e4a1e37a424ca6a13bef88 (Version 0.23.0). Key, actions, nonces and expected
// r/s/v are copied verbatim from there.
const vectorKey = "0123456789012345678901234567890123456789012345678901234567890123"

// Test-only action shapes that appear in the SDK's vectors.
type dummyAction struct{ num uint64 }

func (dummyAction) ActionType() string { return "dummy" }
func (a dummyAction) pack(p *packer) {
	p.mapHeader(2)
	p.key("type")
	p.str("dummy")
	p.key("num")
	p.uint(a.num)
}

type createSubAccount struct{ name string }

func (createSubAccount) ActionType() string { return "createSubAccount" }
func (a createSubAccount) pack(p *packer) {
	p.mapHeader(2)
	p.key("type")
	p.str("createSubAccount")
	p.key("name")
	p.str(a.name)
}

type scheduleCancel struct{ time *uint64 }

func (scheduleCancel) ActionType() string { return "scheduleCancel" }
func (a scheduleCancel) pack(p *packer) {
	if a.time == nil {
		p.mapHeader(1)
	} else {
		p.mapHeader(2)
	}
	p.key("type")
	p.str("scheduleCancel")
	if a.time != nil {
		p.key("time")
		p.uint(*a.time)
	}
}

func vectorOrder(cloid string) OrderAction {
	return NewOrderAction(OrderWire{Asset: 1, IsBuy: true, Price: "100", Size: "100",
		Type: OrderType{Limit: &Limit{Tif: TifGtc}}, Cloid: cloid})
}

func TestL1ActionVectors(t *testing.T) {
	key, err := crypto.HexToECDSA(vectorKey)
	require.NoError(t, err)
	vault := common.HexToAddress("0x1719884eb866cb12b2287399b15f7db5e7d775ea")
	sched := uint64(123456789)

	tests := []struct {
		name   string
		action L1Action
		vault  *common.Address
		net    Network
		want   Signature
	}{
		{"dummy mainnet", dummyAction{100000000000}, nil, Mainnet, Signature{
			"0x53749d5b30552aeb2fca34b530185976545bb22d0b3ce6f62e31be961a59298",
			"0x755c40ba9bf05223521753995abb2f73ab3229be8ec921f350cb447e384d8ed8", 27}},
		{"dummy testnet", dummyAction{100000000000}, nil, Testnet, Signature{
			"0x542af61ef1f429707e3c76c5293c80d01f74ef853e34b76efffcb57e574f9510",
			"0x17b8b32f086e8cdede991f1e2c529f5dd5297cbe8128500e00cbaf766204a613", 28}},
		{"order mainnet", vectorOrder(""), nil, Mainnet, Signature{
			"0xd65369825a9df5d80099e513cce430311d7d26ddf477f5b3a33d2806b100d78e",
			"0x2b54116ff64054968aa237c20ca9ff68000f977c93289157748a3162b6ea940e", 28}},
		{"order testnet", vectorOrder(""), nil, Testnet, Signature{
			"0x82b2ba28e76b3d761093aaded1b1cdad4960b3af30212b343fb2e6cdfa4e3d54",
			"0x6b53878fc99d26047f4d7e8c90eb98955a109f44209163f52d8dc4278cbbd9f5", 27}},
		{"order with cloid mainnet", vectorOrder("0x00000000000000000000000000000001"), nil, Mainnet, Signature{
			"0x41ae18e8239a56cacbc5dad94d45d0b747e5da11ad564077fcac71277a946e3",
			"0x3c61f667e747404fe7eea8f90ab0e76cc12ce60270438b2058324681a00116da", 27}},
		{"order with cloid testnet", vectorOrder("0x00000000000000000000000000000001"), nil, Testnet, Signature{
			"0xeba0664bed2676fc4e5a743bf89e5c7501aa6d870bdb9446e122c9466c5cd16d",
			"0x7f3e74825c9114bc59086f1eebea2928c190fdfbfde144827cb02b85bbe90988", 28}},
		{"dummy with vault mainnet", dummyAction{100000000000}, &vault, Mainnet, Signature{
			"0x3c548db75e479f8012acf3000ca3a6b05606bc2ec0c29c50c515066a326239",
			"0x4d402be7396ce74fbba3795769cda45aec00dc3125a984f2a9f23177b190da2c", 28}},
		{"dummy with vault testnet", dummyAction{100000000000}, &vault, Testnet, Signature{
			"0xe281d2fb5c6e25ca01601f878e4d69c965bb598b88fac58e475dd1f5e56c362b",
			"0x7ddad27e9a238d045c035bc606349d075d5c5cd00a6cd1da23ab5c39d4ef0f60", 27}},
		{"createSubAccount mainnet", createSubAccount{"example"}, nil, Mainnet, Signature{
			"0x51096fe3239421d16b671e192f574ae24ae14329099b6db28e479b86cdd6caa7",
			"0xb71f7d293af92d3772572afb8b102d167a7cef7473388286bc01f52a5c5b423", 27}},
		{"createSubAccount testnet", createSubAccount{"example"}, nil, Testnet, Signature{
			"0xa699e3ed5c2b89628c746d3298b5dc1cca604694c2c855da8bb8250ec8014a5b",
			"0x53f1b8153a301c72ecc655b1c315d64e1dcea3ee58921fd7507e35818fcc1584", 28}},
		{"scheduleCancel mainnet", scheduleCancel{}, nil, Mainnet, Signature{
			"0x6cdfb286702f5917e76cd9b3b8bf678fcc49aec194c02a73e6d4f16891195df9",
			"0x6557ac307fa05d25b8d61f21fb8a938e703b3d9bf575f6717ba21ec61261b2a0", 27}},
		{"scheduleCancel testnet", scheduleCancel{}, nil, Testnet, Signature{
			"0xc75bb195c3f6a4e06b7d395acc20bbb224f6d23ccff7c6a26d327304e6efaeed",
			"0x342f8ede109a29f2c0723bd5efb9e9100e3bbb493f8fb5164ee3d385908233df", 28}},
		{"scheduleCancel with time mainnet", scheduleCancel{&sched}, nil, Mainnet, Signature{
			"0x609cb20c737945d070716dcc696ba030e9976fcf5edad87afa7d877493109d55",
			"0x16c685d63b5c7a04512d73f183b3d7a00da5406ff1f8aad33f8ae2163bab758b", 28}},
		{"scheduleCancel with time testnet", scheduleCancel{&sched}, nil, Testnet, Signature{
			"0x4e4f2dbd4107c69783e251b7e1057d9f2b9d11cee213441ccfa2be63516dc5bc",
			"0x706c656b23428c8ba356d68db207e11139ede1670481a9e01ae2dfcdb0e1a678", 27}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			d, err := L1Digest(tc.net, tc.action, 0, tc.vault, nil)
			require.NoError(t, err)
			got, err := Sign(key, d)
			require.NoError(t, err)
			require.Equal(t, tc.want, got)

			signer, err := Recover(d, got)
			require.NoError(t, err)
			require.Equal(t, crypto.PubkeyToAddress(key.PublicKey), signer)
		})
	}
}

func TestPhantomAgentConnectionIDVector(t *testing.T) {
	// test_phantom_agent_creation_matches_production: ETH (asset 4), buy 0.0147 at 1670.1, IOC.
	a := NewOrderAction(OrderWire{Asset: 4, IsBuy: true, Price: "1670.1", Size: "0.0147",
		Type: OrderType{Limit: &Limit{Tif: TifIoc}}})
	got := ActionHash(a, 1677777606040, nil, nil)
	require.Equal(t, "0x0fcbeda5ae3c4950a548021552a4fea2226858c4453571bf3f24ba017eac2908", got.Hex())
}

func TestUserSignedVectors(t *testing.T) {
	key, err := crypto.HexToECDSA(vectorKey)
	require.NoError(t, err)
	dest := "0x5e9ee1089755c3435139848e47e6635505d5a13a"
	tests := []struct {
		name   string
		action UserSignedAction
		want   Signature
	}{
		{"usdSend testnet (test_sign_usd_transfer_action)",
			UsdSend{Type: "usdSend", SignatureChainID: SignatureChainID, HyperliquidChain: "Testnet",
				Destination: dest, Amount: "1", Time: 1687816341423},
			Signature{"0x637b37dd731507cdd24f46532ca8ba6eec616952c56218baeff04144e4a77073",
				"0x11a6a24900e6e314136d2592e2f8d502cd89b7c15b198e1bee043c9589f9fad7", 27}},
		{"withdraw3 testnet (test_sign_withdraw_from_bridge_action)",
			NewWithdraw3(Testnet, dest, "1", 1687816341423),
			Signature{"0x8363524c799e90ce9bc41022f7c39b4e9bdba786e5f9c72b20e43e1462c37cf9",
				"0x58b1411a775938b83e29182e8ef74975f9054c8e97ebf5ec2dc8d51bfc893881", 28}},
	}
	for _, tc := range tests {
		t.Run(tc.name, func(t *testing.T) {
			req, err := SignUser(key, tc.action)
			require.NoError(t, err)
			require.Equal(t, tc.want, req.Signature)

			// The decoded wire form hashes to the same digest and recovers the signer.
			decoded, err := DecodeAction(req.Action)
			require.NoError(t, err)
			d, err := UserSignedDigest(decoded.(UserSignedAction))
			require.NoError(t, err)
			signer, err := Recover(d, req.Signature)
			require.NoError(t, err)
			require.Equal(t, crypto.PubkeyToAddress(key.PublicKey), signer)
		})
	}
}

func TestTamperedPayloadRecoversAnotherSigner(t *testing.T) {
	key, err := crypto.HexToECDSA(vectorKey)
	require.NoError(t, err)
	me := crypto.PubkeyToAddress(key.PublicKey)
	w := NewWithdraw3(Mainnet, "0x5e9ee1089755c3435139848e47e6635505d5a13a", "10", 1700000000000)
	req, err := SignUser(key, w)
	require.NoError(t, err)

	cases := map[string]func(*Withdraw3){
		"amount":  func(a *Withdraw3) { a.Amount = "100" },
		"network": func(a *Withdraw3) { a.HyperliquidChain = "Testnet" },
		"time":    func(a *Withdraw3) { a.Time++ },
		"dest":    func(a *Withdraw3) { a.Destination = "0x0000000000000000000000000000000000000001" },
	}
	for name, mutate := range cases {
		t.Run(name, func(t *testing.T) {
			a := w
			mutate(&a)
			d, err := UserSignedDigest(a)
			require.NoError(t, err)
			got, err := Recover(d, req.Signature)
			if err == nil {
				require.NotEqual(t, me, got)
			}
		})
	}
}

func TestRecoverRejectsMalformed(t *testing.T) {
	for name, s := range map[string]Signature{
		"bad v":   {R: "0x1", S: "0x1", V: 29},
		"bad hex": {R: "0xzz", S: "0x1", V: 27},
		"zero r":  {R: "0x0", S: "0x1", V: 27},
	} {
		t.Run(name, func(t *testing.T) {
			_, err := Recover(common.Hash{1}, s)
			require.ErrorIs(t, err, ErrBadSignature)
		})
	}
}

func TestMsgpackStringWidths(t *testing.T) {
	for _, tc := range []struct {
		n    int
		head []byte
	}{{31, []byte{0xbf}}, {32, []byte{0xd9, 32}}, {255, []byte{0xd9, 255}}, {256, []byte{0xda, 1, 0}}} {
		var p packer
		s := make([]byte, tc.n)
		p.str(string(s))
		require.Equal(t, tc.head, p.b[:len(tc.head)], "len %d", tc.n)
	}
	for _, tc := range []struct {
		u    uint64
		want []byte
	}{{127, []byte{0x7f}}, {128, []byte{0xcc, 0x80}}, {256, []byte{0xcd, 1, 0}},
		{1 << 16, []byte{0xce, 0, 1, 0, 0}}, {1 << 32, []byte{0xcf, 0, 0, 0, 1, 0, 0, 0, 0}}} {
		var p packer
		p.uint(tc.u)
		require.Equal(t, tc.want, p.b)
	}
}
