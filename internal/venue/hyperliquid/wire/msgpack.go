package wire

import (
	"encoding/binary"
	"math"
)

// packer writes the msgpack subset Python's msgpack.packb produces for Hyperliquid actions: maps with
// string keys in insertion order, strings, non-negative integers in their most compact form, booleans,
// arrays and nil.
type packer struct{ b []byte }

func (p *packer) mapHeader(n int) {
	switch {
	case n < 16:
		p.b = append(p.b, 0x80|byte(n))
	case n <= math.MaxUint16:
		p.b = append(p.b, 0xde)
		p.b = binary.BigEndian.AppendUint16(p.b, uint16(n))
	default:
		p.b = append(p.b, 0xdf)
		p.b = binary.BigEndian.AppendUint32(p.b, uint32(n))
	}
}

func (p *packer) arrayHeader(n int) {
	switch {
	case n < 16:
		p.b = append(p.b, 0x90|byte(n))
	case n <= math.MaxUint16:
		p.b = append(p.b, 0xdc)
		p.b = binary.BigEndian.AppendUint16(p.b, uint16(n))
	default:
		p.b = append(p.b, 0xdd)
		p.b = binary.BigEndian.AppendUint32(p.b, uint32(n))
	}
}

func (p *packer) str(s string) {
	n := len(s)
	switch {
	case n < 32:
		p.b = append(p.b, 0xa0|byte(n))
	case n < 256:
		p.b = append(p.b, 0xd9, byte(n))
	case n <= math.MaxUint16:
		p.b = append(p.b, 0xda)
		p.b = binary.BigEndian.AppendUint16(p.b, uint16(n))
	default:
		p.b = append(p.b, 0xdb)
		p.b = binary.BigEndian.AppendUint32(p.b, uint32(n))
	}
	p.b = append(p.b, s...)
}

func (p *packer) uint(u uint64) {
	switch {
	case u < 128:
		p.b = append(p.b, byte(u))
	case u <= math.MaxUint8:
		p.b = append(p.b, 0xcc, byte(u))
	case u <= math.MaxUint16:
		p.b = append(p.b, 0xcd)
		p.b = binary.BigEndian.AppendUint16(p.b, uint16(u))
	case u <= math.MaxUint32:
		p.b = append(p.b, 0xce)
		p.b = binary.BigEndian.AppendUint32(p.b, uint32(u))
	default:
		p.b = append(p.b, 0xcf)
		p.b = binary.BigEndian.AppendUint64(p.b, u)
	}
}

func (p *packer) bool(v bool) {
	if v {
		p.b = append(p.b, 0xc3)
		return
	}
	p.b = append(p.b, 0xc2)
}

// kv writes one string key; the caller writes its value next.
func (p *packer) key(k string) { p.str(k) }
