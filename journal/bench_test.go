package journal

import (
	"context"
	"fmt"
	"testing"

	"github.com/replayhook/replayhook/normalize"
)

// benchEntry is a delivery like the load tool's: one payload of 5 actions.
func benchEntry() *Entry {
	e := entry(1)
	p := &e.Payloads[0]
	p.Actions = nil
	for i := range 5 {
		p.Actions = append(p.Actions, normalize.SlimAction{Index: i, Type: "click", Title: "Place order",
			Description: fmt.Sprintf("User clicked Place order on the checkout page (%d)", i),
			RawURL:      "https://shop.example.com/checkout?step=2", CanonicalURL: "https://shop.example.com/checkout",
			TimestampStart: 1.7e9, TimestampEnd: 1.7e9, SessionID: p.SessionID})
	}
	return e
}

func BenchmarkEncode(b *testing.B) {
	e := benchEntry()
	b.ReportAllocs()
	for b.Loop() {
		if _, err := encode(e); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkAppend is the journal's cost per delivery with 16 appending
// at once (group commit in fsync mode).
func BenchmarkAppend(b *testing.B) {
	for _, batch := range []bool{false, true} {
		b.Run(fmt.Sprintf("batch=%v", batch), func(b *testing.B) {
			l, _, err := Open(Options{Dir: b.TempDir(), Batch: batch, SegmentBytes: 8 << 20})
			if err != nil {
				b.Fatal(err)
			}
			defer l.Close()
			e := benchEntry()
			b.SetParallelism(8)
			b.ReportAllocs()
			b.RunParallel(func(pb *testing.PB) {
				for pb.Next() {
					applied, err := l.Append(context.Background(), e)
					if err != nil {
						b.Error(err)
						return
					}
					applied()
				}
			})
		})
	}
}
