package events

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
)

// fuzzDecoder checks, for arbitrary bytes, that Decode never panics and that whatever it accepts
// is valid and survives an Encode/Decode round trip unchanged. Seeds are the golden files of typ.
func fuzzDecoder(f *testing.F, typ string) {
	files, err := filepath.Glob("testdata/*.v1.json")
	if err != nil {
		f.Fatal(err)
	}
	for _, p := range files {
		if strings.HasPrefix(filepath.Base(p), typ) {
			b, err := os.ReadFile(p)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(b)
		}
	}
	f.Add([]byte(`{"type":"` + typ + `","version":1}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ev, err := Decode(typ, 1, data)
		if err != nil {
			return
		}
		if err := ev.Validate(); err != nil {
			t.Fatalf("Decode returned an invalid event: %v", err)
		}
		body, _, err := Encode(ev)
		if err != nil {
			t.Fatalf("a decoded event does not encode: %v", err)
		}
		again, err := Decode(typ, 1, body)
		if err != nil {
			t.Fatalf("re-decode: %v", err)
		}
		body2, _, err := Encode(again)
		if err != nil {
			t.Fatalf("re-encode: %v", err)
		}
		if string(body) != string(body2) {
			t.Fatalf("round trip not stable:\n%s\n%s", body, body2)
		}
		_ = ev.Subject()
		_ = ev.MsgID()
	})
}

func FuzzDecodeBalanceSnapshot(f *testing.F) { fuzzDecoder(f, TypeBalanceSnapshot) }
func FuzzDecodeRebalanceIntent(f *testing.F) { fuzzDecoder(f, TypeRebalanceIntent) }
func FuzzDecodeExecutionUpdate(f *testing.F) { fuzzDecoder(f, TypeExecutionUpdate) }
func FuzzDecodeLedgerWatermark(f *testing.F) { fuzzDecoder(f, TypeLedgerWatermark) }
func FuzzDecodeDeadLetter(f *testing.F)      { fuzzDecoder(f, TypeDeadLetter) }
func FuzzDecodeControlCommand(f *testing.F)  { fuzzDecoder(f, TypeControlCommand) }

// FuzzParseAmount checks that every accepted amount is canonical: printing it gives back the input.
func FuzzParseAmount(f *testing.F) {
	for _, s := range []string{"0", "-1", "123456789012345678901234567890", "01", "-0", "1e9"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		a, err := ParseAmount(s)
		if err != nil {
			return
		}
		if a.String() != s {
			t.Fatalf("accepted %q but prints %q", s, a.String())
		}
	})
}

// FuzzChecksumAddress checks that a checksummed address is a fixed point and case-insensitive.
func FuzzChecksumAddress(f *testing.F) {
	f.Add("0x5aAeb6053F3E94C9b9A09f33669435E7Ef1BeAed")
	f.Fuzz(func(t *testing.T, s string) {
		cs := ChecksumAddress(s)
		if cs == "" {
			return
		}
		if ChecksumAddress(cs) != cs || ChecksumAddress(strings.ToUpper(s[:2])+strings.ToLower(s[2:])) != cs {
			t.Fatalf("checksum of %q not stable: %q", s, cs)
		}
	})
}
