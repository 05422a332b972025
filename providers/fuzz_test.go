package providers

import (
	"crypto/hmac"
	"crypto/sha256"
	"encoding/base64"
	"errors"
	"net/http"
	"strings"
	"testing"
)

// FuzzHMAC feeds hostile signature headers to the key/value layout (the
// most involved of the verifier's parsers): it never panics, every refusal
// is a signature or timestamp error, and an acceptance means the header
// holds the MAC our key makes of the signed message.
func FuzzHMAC(f *testing.F) {
	const secret = "fuzz-secret"
	body := []byte(`{"event":"x"}`)
	sig := func(ts string) string {
		return base64.StdEncoding.EncodeToString(sum(sha256.New, secret, string(body), ":o-1:", ts))
	}
	f.Add("o:o-1,t:1741944978,v:"+sig("1741944978"), body)
	f.Add("v:"+sig("1741944978")+",t:1741944978,o:o-1,x:y", body)
	f.Add("o:o-1,t:1741944978,v:AAAA,v:"+sig("1741944978"), body)
	f.Add("o:,t:,v:", body)
	f.Add(",,,::,:", []byte{})
	f.Add("o:o-1,t:99999999999999999999,v:"+sig("99999999999999999999"), body)
	m, err := NewHMAC(HMACOptions{Header: "X-Sig", Encoding: Base64, Message: "{body}:{field:o}:{field:t}", Timestamp: "field:t",
		Fields: &Fields{Separator: ",", KeyValue: ":", Signature: "v", Required: []string{"o", "t"}}}, []string{secret})
	if err != nil {
		f.Fatal(err)
	}
	f.Fuzz(func(t *testing.T, header string, body []byte) {
		err := m.Verify(&Request{Header: http.Header{"X-Sig": {header}}, Body: body, Now: kitNow})
		if err != nil {
			if !errors.Is(err, ErrInvalidSignature) && !errors.Is(err, ErrStaleTimestamp) {
				t.Fatalf("unexpected error kind: %v", err)
			}
			return
		}
		fields := map[string]string{}
		var sigs []string
		for _, part := range strings.Split(header, ",") {
			k, v, _ := strings.Cut(strings.TrimSpace(part), ":")
			if k == "v" {
				sigs = append(sigs, v)
			} else {
				fields[k] = v
			}
		}
		want := sum(sha256.New, secret, string(body), ":"+fields["o"]+":"+fields["t"])
		for _, s := range sigs {
			if got, ok := Base64.decode(s); ok && hmac.Equal(got, want) {
				return
			}
		}
		t.Fatalf("accepted a header with no MAC of our key: %q", header)
	})
}
