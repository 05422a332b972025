package custom_test

import (
	"errors"
	"testing"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/custom"
)

// FuzzMap: whatever the body, Map returns events or an error wrapping
// ErrMalformedJSON or ErrInvalidPayload (a 400 or 422), never panics, and
// its result always makes a delivery. Seeds: testdata/fuzz/FuzzMap.
func FuzzMap(f *testing.F) {
	for _, s := range []string{`{"events":[{"s":"a","k":"view","t":1741945440}]}`, `[{"s":1}]`, `{"events":[[[]]]}`, `{"a":`, `"x"`} {
		f.Add([]byte(s))
	}
	m := mustCompile(f, &custom.Spec{Events: "events", Fields: allFields(), DedupeKey: "id",
		Filters: []custom.Filter{{Path: "k", Equals: []string{"noise"}, Action: "skip", Reason: "noise"}}})
	batch := mustCompile(f, &custom.Spec{Fields: allFields(), DedupeKey: "^id"})
	f.Fuzz(func(t *testing.T, body []byte) {
		for _, mapper := range []*custom.Mapper{m, batch} {
			r, err := mapper.Map(body)
			if err != nil {
				if !errors.Is(err, providers.ErrMalformedJSON) && !errors.Is(err, providers.ErrInvalidPayload) {
					t.Fatalf("unexpected error kind: %v", err)
				}
				continue
			}
			if len(r.Events) > custom.MaxEvents {
				t.Fatalf("%d events", len(r.Events))
			}
			d := mapper.Delivery(r, now)
			if len(d.Events)+len(d.Payloads) == 0 && d.Ignored == "" {
				t.Fatal("nothing stored and not ignored")
			}
		}
	})
}
