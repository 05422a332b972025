package webhooks

import (
	"bytes"
	"context"
	"io"
	"net/http"
	"net/http/httptest"
	"strconv"
	"testing"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/custom"
	"github.com/replayhook/replayhook/providers/custom/customtest"
)

// BenchmarkIngestCustomVsAutoplay is the same autoplay delivery (≈1.5 KB,
// 5 actions, a new session each iteration) through the whole Echo stack,
// once to the built-in autoplay provider and once to a custom source whose
// config maps the same format (customtest.AutoplaySpec): the server CPU a
// config-driven vendor costs against hand-written code, in the same run.
func BenchmarkIngestCustomVsAutoplay(b *testing.B) {
	for _, name := range []string{"autoplay", "custom"} {
		b.Run(name, func(b *testing.B) {
			srv, _, signer := benchServer(b, 1_000_000)
			if name == "custom" {
				p, err := custom.New(providers.Settings{Secrets: []string{secretNew}, Custom: customtest.AutoplaySpec()})
				if err != nil {
					b.Fatal(err)
				}
				src := *srv.deps.Sources["autoplay"]
				src.Provider, src.ProviderName = p, custom.Name
				srv.deps.Sources["autoplay"] = &src
				signer = p.(providers.Signer)
			}
			h := srv.Handler()
			n := min(max(b.N, 1), 200_000)
			bodies := make([][]byte, n)
			headers := make([]http.Header, n)
			for i := range bodies {
				bodies[i] = benchBody("sess_"+strconv.Itoa(i), "user_"+strconv.Itoa(i%100_000))
				headers[i] = signer.Sign(bodies[i], secretNew, T0)
			}
			req := httptest.NewRequest(http.MethodPost, "/webhooks/autoplay", nil)
			b.ReportAllocs()
			b.ResetTimer()
			for i := range b.N {
				r := req.Clone(context.Background())
				r.Header = headers[i%n]
				r.Body = io.NopCloser(bytes.NewReader(bodies[i%n]))
				r.ContentLength = int64(len(bodies[i%n]))
				rec := httptest.NewRecorder()
				h.ServeHTTP(rec, r)
				if rec.Code != http.StatusOK || !bytes.Contains(rec.Body.Bytes(), []byte(`"accepted"`)) {
					b.Fatalf("status %d: %s", rec.Code, rec.Body)
				}
			}
		})
	}
}
