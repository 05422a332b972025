package normalize

import (
	"os"
	"testing"
)

// BenchmarkDecode is the one-pass reader on the reference delivery
// (an autoplay actions payload of ~1.5 KB with 5 actions).
func BenchmarkDecode(b *testing.B) {
	body, err := os.ReadFile("testdata/reference_delivery.json")
	if err != nil {
		b.Fatal(err)
	}
	b.SetBytes(int64(len(body)))
	b.ReportAllocs()
	for b.Loop() {
		if _, err := Decode(body); err != nil {
			b.Fatal(err)
		}
	}
}
