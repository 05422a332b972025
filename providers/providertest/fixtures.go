package providertest

import (
	"net/http"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
)

// Fixtures reads the package's testdata files matching glob ("*.json" when
// empty), keyed by base name. No match fails the test: a vendor package
// without fixtures tests nothing.
func Fixtures(t testing.TB, glob string) map[string][]byte {
	t.Helper()
	if glob == "" {
		glob = "*.json"
	}
	files, err := filepath.Glob(filepath.Join("testdata", glob))
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures match testdata/%s (%v)", glob, err)
	}
	out := make(map[string][]byte, len(files))
	for _, f := range files {
		b, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		out[filepath.Base(f)] = b
	}
	return out
}

// Fixture reads one testdata file.
func Fixture(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return b
}

// New builds a provider with factory and returns it as the vendor's own
// type P, failing the test when the settings are refused.
func New[P providers.Provider](t testing.TB, factory providers.Factory, s providers.Settings) P {
	t.Helper()
	p, err := factory(s)
	if err != nil {
		t.Fatal(err)
	}
	v, ok := p.(P)
	if !ok {
		t.Fatalf("factory returned %T", p)
	}
	return v
}

// At parses an RFC 3339 time written in a test table (a typo panics).
func At(s string) time.Time {
	t, err := time.Parse(time.RFC3339Nano, s)
	if err != nil {
		panic(err)
	}
	return t
}

// Header builds a header from name/value pairs the way net/http does, with
// canonical names; a name may repeat.
func Header(kv ...string) http.Header {
	h := http.Header{}
	for i := 0; i+1 < len(kv); i += 2 {
		h.Add(kv[i], kv[i+1])
	}
	return h
}
