package wire

import (
	"bytes"
	"encoding/json"
	"fmt"
)

// L1Action is an action signed through the phantom agent: its msgpack encoding is hashed with the
// nonce into the agent's connection id.
type L1Action interface {
	ActionType() string
	pack(p *packer)
}

// Tif values for limit orders.
const (
	TifIoc = "Ioc"
	TifGtc = "Gtc"
	TifAlo = "Alo"
)

// Limit is the limit order type.
type Limit struct {
	Tif string `json:"tif"`
}

// OrderType is an order's type; only limit orders are modelled (Hyperliquid has no market orders: a
// market order is an IOC limit with a price bound).
type OrderType struct {
	Limit *Limit `json:"limit,omitempty"`
}

// OrderWire is one order as sent: asset id, is buy, price, size, reduce only, type, client order id.
// Price and size are decimal strings without trailing zeros.
type OrderWire struct {
	Asset      uint32    `json:"a"`
	IsBuy      bool      `json:"b"`
	Price      string    `json:"p"`
	Size       string    `json:"s"`
	ReduceOnly bool      `json:"r"`
	Type       OrderType `json:"t"`
	Cloid      string    `json:"c,omitempty"`
}

func (o OrderWire) pack(p *packer) {
	n := 6
	if o.Cloid != "" {
		n = 7
	}
	p.mapHeader(n)
	p.key("a")
	p.uint(uint64(o.Asset))
	p.key("b")
	p.bool(o.IsBuy)
	p.key("p")
	p.str(o.Price)
	p.key("s")
	p.str(o.Size)
	p.key("r")
	p.bool(o.ReduceOnly)
	p.key("t")
	if o.Type.Limit != nil {
		p.mapHeader(1)
		p.key("limit")
		p.mapHeader(1)
		p.key("tif")
		p.str(o.Type.Limit.Tif)
	} else {
		p.mapHeader(0)
	}
	if o.Cloid != "" {
		p.key("c")
		p.str(o.Cloid)
	}
}

// OrderAction places orders. Grouping is "na" for plain orders.
type OrderAction struct {
	Type     string      `json:"type"`
	Orders   []OrderWire `json:"orders"`
	Grouping string      `json:"grouping"`
}

// NewOrderAction builds an ungrouped order action.
func NewOrderAction(orders ...OrderWire) OrderAction {
	return OrderAction{Type: "order", Orders: orders, Grouping: "na"}
}

// ActionType is "order".
func (OrderAction) ActionType() string { return "order" }

func (a OrderAction) pack(p *packer) {
	p.mapHeader(3)
	p.key("type")
	p.str(a.Type)
	p.key("orders")
	p.arrayHeader(len(a.Orders))
	for _, o := range a.Orders {
		o.pack(p)
	}
	p.key("grouping")
	p.str(a.Grouping)
}

// CancelByCloid cancels one order by its client order id.
type CancelByCloid struct {
	Asset uint32 `json:"asset"`
	Cloid string `json:"cloid"`
}

// CancelByCloidAction cancels orders by client order id.
type CancelByCloidAction struct {
	Type    string          `json:"type"`
	Cancels []CancelByCloid `json:"cancels"`
}

// ActionType is "cancelByCloid".
func (CancelByCloidAction) ActionType() string { return "cancelByCloid" }

func (a CancelByCloidAction) pack(p *packer) {
	p.mapHeader(2)
	p.key("type")
	p.str(a.Type)
	p.key("cancels")
	p.arrayHeader(len(a.Cancels))
	for _, c := range a.Cancels {
		p.mapHeader(2)
		p.key("asset")
		p.uint(uint64(c.Asset))
		p.key("cloid")
		p.str(c.Cloid)
	}
}

// UserSignedAction is an action signed directly with EIP-712 under the HyperliquidSignTransaction
// domain. Its hyperliquidChain field names the network; its signatureChainId is the domain's chain id.
type UserSignedAction interface {
	ActionType() string
	// PrimaryType is the EIP-712 primary type, e.g. "HyperliquidTransaction:Withdraw".
	PrimaryType() string
	// ChainID is the signatureChainId, hex.
	ChainID() string
	// Chain is the hyperliquidChain field.
	Chain() string
	// ActionNonce is the nonce the action carries (time or nonce field); it must equal the request's.
	ActionNonce() uint64
	fields() []typedField
}

// SpotSend sends a spot token to another address; to a token's system address it moves the token to
// HyperEVM. Token is "NAME:0x<tokenId>".
type SpotSend struct {
	Type             string `json:"type"`
	SignatureChainID string `json:"signatureChainId"`
	HyperliquidChain string `json:"hyperliquidChain"`
	Destination      string `json:"destination"`
	Token            string `json:"token"`
	Amount           string `json:"amount"`
	Time             uint64 `json:"time"`
}

// NewSpotSend builds a spotSend for network n with nonce time.
func NewSpotSend(n Network, destination, token, amount string, time uint64) SpotSend {
	return SpotSend{Type: "spotSend", SignatureChainID: SignatureChainID, HyperliquidChain: n.ChainName(),
		Destination: destination, Token: token, Amount: amount, Time: time}
}

// ActionType is "spotSend".
func (SpotSend) ActionType() string { return "spotSend" }

// PrimaryType is HyperliquidTransaction:SpotSend.
func (SpotSend) PrimaryType() string { return "HyperliquidTransaction:SpotSend" }

// ChainID is the signatureChainId.
func (a SpotSend) ChainID() string { return a.SignatureChainID }

// Chain is hyperliquidChain.
func (a SpotSend) Chain() string { return a.HyperliquidChain }

// ActionNonce is time.
func (a SpotSend) ActionNonce() uint64 { return a.Time }

func (a SpotSend) fields() []typedField {
	return []typedField{
		{"hyperliquidChain", "string", a.HyperliquidChain},
		{"destination", "string", a.Destination},
		{"token", "string", a.Token},
		{"amount", "string", a.Amount},
		{"time", "uint64", a.Time},
	}
}

// Withdraw3 withdraws USDC to Arbitrum through Bridge2.
type Withdraw3 struct {
	Type             string `json:"type"`
	SignatureChainID string `json:"signatureChainId"`
	HyperliquidChain string `json:"hyperliquidChain"`
	Destination      string `json:"destination"`
	Amount           string `json:"amount"`
	Time             uint64 `json:"time"`
}

// NewWithdraw3 builds a withdraw3 for network n with nonce time.
func NewWithdraw3(n Network, destination, amount string, time uint64) Withdraw3 {
	return Withdraw3{Type: "withdraw3", SignatureChainID: SignatureChainID, HyperliquidChain: n.ChainName(),
		Destination: destination, Amount: amount, Time: time}
}

// ActionType is "withdraw3".
func (Withdraw3) ActionType() string { return "withdraw3" }

// PrimaryType is HyperliquidTransaction:Withdraw.
func (Withdraw3) PrimaryType() string { return "HyperliquidTransaction:Withdraw" }

// ChainID is the signatureChainId.
func (a Withdraw3) ChainID() string { return a.SignatureChainID }

// Chain is hyperliquidChain.
func (a Withdraw3) Chain() string { return a.HyperliquidChain }

// ActionNonce is time.
func (a Withdraw3) ActionNonce() uint64 { return a.Time }

func (a Withdraw3) fields() []typedField {
	return []typedField{
		{"hyperliquidChain", "string", a.HyperliquidChain},
		{"destination", "string", a.Destination},
		{"amount", "string", a.Amount},
		{"time", "uint64", a.Time},
	}
}

// UsdSend sends perp USDC to another address (modelled for the SDK's test vector).
type UsdSend struct {
	Type             string `json:"type"`
	SignatureChainID string `json:"signatureChainId"`
	HyperliquidChain string `json:"hyperliquidChain"`
	Destination      string `json:"destination"`
	Amount           string `json:"amount"`
	Time             uint64 `json:"time"`
}

// ActionType is "usdSend".
func (UsdSend) ActionType() string { return "usdSend" }

// PrimaryType is HyperliquidTransaction:UsdSend.
func (UsdSend) PrimaryType() string { return "HyperliquidTransaction:UsdSend" }

// ChainID is the signatureChainId.
func (a UsdSend) ChainID() string { return a.SignatureChainID }

// Chain is hyperliquidChain.
func (a UsdSend) Chain() string { return a.HyperliquidChain }

// ActionNonce is time.
func (a UsdSend) ActionNonce() uint64 { return a.Time }

func (a UsdSend) fields() []typedField {
	return []typedField{
		{"hyperliquidChain", "string", a.HyperliquidChain},
		{"destination", "string", a.Destination},
		{"amount", "string", a.Amount},
		{"time", "uint64", a.Time},
	}
}

// UsdClassTransfer moves USDC between the perp and spot balances.
type UsdClassTransfer struct {
	Type             string `json:"type"`
	SignatureChainID string `json:"signatureChainId"`
	HyperliquidChain string `json:"hyperliquidChain"`
	Amount           string `json:"amount"`
	ToPerp           bool   `json:"toPerp"`
	Nonce            uint64 `json:"nonce"`
}

// NewUsdClassTransfer builds a usdClassTransfer for network n.
func NewUsdClassTransfer(n Network, amount string, toPerp bool, nonce uint64) UsdClassTransfer {
	return UsdClassTransfer{Type: "usdClassTransfer", SignatureChainID: SignatureChainID,
		HyperliquidChain: n.ChainName(), Amount: amount, ToPerp: toPerp, Nonce: nonce}
}

// ActionType is "usdClassTransfer".
func (UsdClassTransfer) ActionType() string { return "usdClassTransfer" }

// PrimaryType is HyperliquidTransaction:UsdClassTransfer.
func (UsdClassTransfer) PrimaryType() string { return "HyperliquidTransaction:UsdClassTransfer" }

// ChainID is the signatureChainId.
func (a UsdClassTransfer) ChainID() string { return a.SignatureChainID }

// Chain is hyperliquidChain.
func (a UsdClassTransfer) Chain() string { return a.HyperliquidChain }

// ActionNonce is nonce.
func (a UsdClassTransfer) ActionNonce() uint64 { return a.Nonce }

func (a UsdClassTransfer) fields() []typedField {
	return []typedField{
		{"hyperliquidChain", "string", a.HyperliquidChain},
		{"amount", "string", a.Amount},
		{"toPerp", "bool", a.ToPerp},
		{"nonce", "uint64", a.Nonce},
	}
}

// DecodeAction decodes an /exchange action into one of this package's action types, rejecting unknown
// fields as the venue's strict deserializer does. It returns an L1Action or a UserSignedAction.
func DecodeAction(raw json.RawMessage) (any, error) {
	var head struct {
		Type string `json:"type"`
	}
	if err := json.Unmarshal(raw, &head); err != nil {
		return nil, fmt.Errorf("decode action: %w", err)
	}
	var (
		out any
		err error
	)
	switch head.Type {
	case "order":
		var a OrderAction
		err, out = strict(raw, &a), &a
	case "cancelByCloid":
		var a CancelByCloidAction
		err, out = strict(raw, &a), &a
	case "spotSend":
		var a SpotSend
		err, out = strict(raw, &a), &a
	case "withdraw3":
		var a Withdraw3
		err, out = strict(raw, &a), &a
	case "usdClassTransfer":
		var a UsdClassTransfer
		err, out = strict(raw, &a), &a
	case "usdSend":
		var a UsdSend
		err, out = strict(raw, &a), &a
	default:
		return nil, fmt.Errorf("%w: %q", ErrUnknownAction, head.Type)
	}
	if err != nil {
		return nil, fmt.Errorf("decode %s action: %w", head.Type, err)
	}
	// Return values, not pointers, so callers switch on the value types.
	switch a := out.(type) {
	case *OrderAction:
		return *a, nil
	case *CancelByCloidAction:
		return *a, nil
	case *SpotSend:
		return *a, nil
	case *Withdraw3:
		return *a, nil
	case *UsdClassTransfer:
		return *a, nil
	case *UsdSend:
		return *a, nil
	}
	return nil, fmt.Errorf("%w: %q", ErrUnknownAction, head.Type)
}

func strict(raw []byte, v any) error {
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.DisallowUnknownFields()
	return dec.Decode(v)
}
