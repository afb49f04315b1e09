package bus

import (
	"testing"
	"time"

	"github.com/nats-io/nats.go/jetstream"

	"github.com/rebalancer-dev/rebalancer/pkg/events"
)

// BenchmarkDecode is the per-message CPU cost replay pays on top of delivery: pkg/events decoding
// and validation of one watermark.
func BenchmarkDecode(b *testing.B) {
	m, err := encode(watermark(1))
	if err != nil {
		b.Fatal(err)
	}
	msg := fromStreamMsg(m.Subject, 1, time.Now(), Header(m.Header), m.Data, 1)
	b.ReportAllocs()
	for b.Loop() {
		mm := msg
		mm.decode()
		if mm.DecodeErr != nil {
			b.Fatal(mm.DecodeErr)
		}
	}
	_ = jetstream.MsgIDHeader
	_ = events.SubjectAll
}
