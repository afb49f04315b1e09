package wire

import (
	"crypto/ecdsa"
	"encoding/binary"
	"encoding/json"
	"fmt"
	"math/big"
	"strings"

	"github.com/ethereum/go-ethereum/common"
	"github.com/ethereum/go-ethereum/common/hexutil"
	"github.com/ethereum/go-ethereum/crypto"
)

// Signature is the {r, s, v} object the exchange endpoint takes: r and s as 0x-hex without zero
// padding, v 27 or 28.
type Signature struct {
	R string `json:"r"`
	S string `json:"s"`
	V int    `json:"v"`
}

// ExchangeRequest is the body of POST /exchange.
type ExchangeRequest struct {
	Action       json.RawMessage `json:"action"`
	Nonce        uint64          `json:"nonce"`
	Signature    Signature       `json:"signature"`
	VaultAddress *string         `json:"vaultAddress"`
	ExpiresAfter *uint64         `json:"expiresAfter,omitempty"`
}

type typedField struct {
	name, typ string
	value     any
}

var (
	domainType = crypto.Keccak256([]byte(
		"EIP712Domain(string name,string version,uint256 chainId,address verifyingContract)"))
	agentType = crypto.Keccak256([]byte("Agent(string source,bytes32 connectionId)"))
)

// ActionHash is the connection id of an L1 action: keccak256 of its msgpack, the nonce (8 bytes big
// endian), the vault marker (0x00, or 0x01 and the vault address) and, when set, 0x00 and expiresAfter.
func ActionHash(action L1Action, nonce uint64, vault *common.Address, expiresAfter *uint64) common.Hash {
	var p packer
	action.pack(&p)
	b := binary.BigEndian.AppendUint64(p.b, nonce)
	if vault == nil {
		b = append(b, 0x00)
	} else {
		b = append(b, 0x01)
		b = append(b, vault.Bytes()...)
	}
	if expiresAfter != nil {
		b = append(b, 0x00)
		b = binary.BigEndian.AppendUint64(b, *expiresAfter)
	}
	return crypto.Keccak256Hash(b)
}

// L1Digest is the EIP-712 digest an L1 action's signer signs: the phantom agent {source, connectionId}
// under the "Exchange" domain with chain id 1337.
func L1Digest(n Network, action L1Action, nonce uint64, vault *common.Address, expiresAfter *uint64) (common.Hash, error) {
	if !n.Valid() {
		return common.Hash{}, ErrBadNetwork
	}
	conn := ActionHash(action, nonce, vault, expiresAfter)
	dom := domainSeparator("Exchange", big.NewInt(1337))
	st := crypto.Keccak256(agentType, crypto.Keccak256([]byte(n.source())), conn.Bytes())
	return typedDigest(dom, st), nil
}

// UserSignedDigest is the EIP-712 digest of a user-signed action under the HyperliquidSignTransaction
// domain whose chain id is the action's signatureChainId.
func UserSignedDigest(a UserSignedAction) (common.Hash, error) {
	chainID, ok := new(big.Int).SetString(strings.TrimPrefix(strings.ToLower(a.ChainID()), "0x"), 16)
	if !ok {
		return common.Hash{}, fmt.Errorf("%w: signatureChainId %q", ErrBadSignature, a.ChainID())
	}
	fs := a.fields()
	var sig strings.Builder
	sig.WriteString(a.PrimaryType())
	sig.WriteByte('(')
	for i, f := range fs {
		if i > 0 {
			sig.WriteByte(',')
		}
		sig.WriteString(f.typ + " " + f.name)
	}
	sig.WriteByte(')')
	enc := [][]byte{crypto.Keccak256([]byte(sig.String()))}
	for _, f := range fs {
		w, err := encodeField(f)
		if err != nil {
			return common.Hash{}, err
		}
		enc = append(enc, w)
	}
	dom := domainSeparator("HyperliquidSignTransaction", chainID)
	return typedDigest(dom, crypto.Keccak256(enc...)), nil
}

func encodeField(f typedField) ([]byte, error) {
	switch f.typ {
	case "string":
		return crypto.Keccak256([]byte(f.value.(string))), nil
	case "uint64":
		return common.LeftPadBytes(new(big.Int).SetUint64(f.value.(uint64)).Bytes(), 32), nil
	case "bool":
		w := make([]byte, 32)
		if f.value.(bool) {
			w[31] = 1
		}
		return w, nil
	}
	return nil, fmt.Errorf("eip712 field %s: unsupported type %s", f.name, f.typ)
}

func domainSeparator(name string, chainID *big.Int) []byte {
	return crypto.Keccak256(domainType,
		crypto.Keccak256([]byte(name)),
		crypto.Keccak256([]byte("1")),
		common.LeftPadBytes(chainID.Bytes(), 32),
		make([]byte, 32), // verifyingContract: the zero address
	)
}

func typedDigest(domain, structHash []byte) common.Hash {
	return crypto.Keccak256Hash([]byte{0x19, 0x01}, domain, structHash)
}

// Sign signs a digest with key.
func Sign(key *ecdsa.PrivateKey, digest common.Hash) (Signature, error) {
	sig, err := crypto.Sign(digest.Bytes(), key)
	if err != nil {
		return Signature{}, fmt.Errorf("sign: %w", err)
	}
	return Signature{
		R: hexutil.EncodeBig(new(big.Int).SetBytes(sig[:32])),
		S: hexutil.EncodeBig(new(big.Int).SetBytes(sig[32:64])),
		V: int(sig[64]) + 27,
	}, nil
}

// Recover returns the address that signed digest.
func Recover(digest common.Hash, s Signature) (common.Address, error) {
	r, okR := new(big.Int).SetString(strings.TrimPrefix(s.R, "0x"), 16)
	ss, okS := new(big.Int).SetString(strings.TrimPrefix(s.S, "0x"), 16)
	if !okR || !okS || r.BitLen() > 256 || ss.BitLen() > 256 || (s.V != 27 && s.V != 28) {
		return common.Address{}, ErrBadSignature
	}
	raw := make([]byte, 65)
	r.FillBytes(raw[:32])
	ss.FillBytes(raw[32:64])
	raw[64] = byte(s.V - 27)
	if !crypto.ValidateSignatureValues(raw[64], r, ss, true) {
		return common.Address{}, ErrBadSignature
	}
	pub, err := crypto.SigToPub(digest.Bytes(), raw)
	if err != nil {
		return common.Address{}, fmt.Errorf("%w: %w", ErrBadSignature, err)
	}
	return crypto.PubkeyToAddress(*pub), nil
}

// SignL1 signs an L1 action and returns the exchange request body for it (no vault, no expiry).
func SignL1(key *ecdsa.PrivateKey, n Network, action L1Action, nonce uint64) (ExchangeRequest, error) {
	d, err := L1Digest(n, action, nonce, nil, nil)
	if err != nil {
		return ExchangeRequest{}, err
	}
	return request(key, d, action, nonce)
}

// SignUser signs a user-signed action and returns the exchange request body for it.
func SignUser(key *ecdsa.PrivateKey, action UserSignedAction) (ExchangeRequest, error) {
	d, err := UserSignedDigest(action)
	if err != nil {
		return ExchangeRequest{}, err
	}
	return request(key, d, action, action.ActionNonce())
}

func request(key *ecdsa.PrivateKey, d common.Hash, action any, nonce uint64) (ExchangeRequest, error) {
	sig, err := Sign(key, d)
	if err != nil {
		return ExchangeRequest{}, err
	}
	raw, err := json.Marshal(action)
	if err != nil {
		return ExchangeRequest{}, fmt.Errorf("encode action: %w", err)
	}
	return ExchangeRequest{Action: raw, Nonce: nonce, Signature: sig}, nil
}
