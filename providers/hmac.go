package providers

import (
	"crypto/hmac"
	"crypto/sha1"
	"crypto/sha256"
	"crypto/sha512"
	"encoding/base64"
	"encoding/hex"
	"errors"
	"fmt"
	"hash"
	"net/http"
	"strconv"
	"strings"
	"time"
)

// Hash is an HMAC hash function by name.
type Hash string

// The hashes vendors sign with.
const (
	SHA1   Hash = "sha1"
	SHA256 Hash = "sha256"
	SHA512 Hash = "sha512"
)

func (h Hash) new() (func() hash.Hash, error) {
	switch h {
	case SHA1:
		return sha1.New, nil
	case SHA256:
		return sha256.New, nil
	case SHA512:
		return sha512.New, nil
	}
	return nil, fmt.Errorf("unknown hash %q (known: sha1, sha256, sha512)", string(h))
}

// Encoding is how a signature is written in its header.
type Encoding string

// The encodings vendors write signatures in.
const (
	// Hex is hexadecimal, either case.
	Hex Encoding = "hex"
	// Base64 is the standard alphabet, padded or not; only the canonical
	// encoding of a MAC is that MAC.
	Base64 Encoding = "base64"
)

func (e Encoding) decode(s string) ([]byte, bool) {
	switch e {
	case Hex:
		b, err := hex.DecodeString(s)
		return b, err == nil
	case Base64:
		if b, err := base64.StdEncoding.Strict().DecodeString(s); err == nil {
			return b, true
		}
		b, err := base64.RawStdEncoding.Strict().DecodeString(s)
		return b, err == nil
	}
	return nil, false
}

func (e Encoding) encode(b []byte) string {
	if e == Base64 {
		return base64.StdEncoding.EncodeToString(b)
	}
	return hex.EncodeToString(b)
}

// Fields describes a signature header that is a list of key/value fields,
// such as FullStory's "o:<org>,t:<unix seconds>,v:<signature>" or Stripe's
// "t=<unix seconds>,v1=<signature>".
type Fields struct {
	// Separator separates the fields (","); KeyValue separates a key from
	// its value (":" or "=").
	Separator, KeyValue string
	// Signature is the key of the signature fields (it may repeat: every
	// one is tried). Every key of Required must appear exactly once; other
	// keys are tolerated, so a future field does not break verification.
	Signature string
	Required  []string
}

// HMACOptions configure the one HMAC verifier every signing vendor uses.
type HMACOptions struct {
	// Header carries the signature.
	Header string
	// Hashes are tried by the length of the decoded signature (Segment's
	// header is SHA-1 or SHA-256); the first signs. Empty means SHA256.
	Hashes []Hash
	// Encoding of the signature; empty means Hex.
	Encoding Encoding
	// Prefix precedes each signature ("sha256=", or "v1," for Standard
	// Webhooks), in any case when AnyCasePrefix is set. With Separator,
	// entries without it are skipped (another version); without, a value
	// lacking it is malformed.
	Prefix        string
	AnyCasePrefix bool
	// Separator, when set, makes the header a list of signatures (" " for
	// Standard Webhooks); repeated header lines are joined into one list.
	Separator string
	// Fields, when set, makes the header a key/value list (see Fields).
	Fields *Fields
	// Message is what is signed: a template of {body}, {header:Name} (a
	// header's value exactly as received) and {field:key} (a field of the
	// signature header), with literal text between them. Empty means
	// "{body}". Standard Webhooks: "{header:webhook-id}.{header:webhook-timestamp}.{body}".
	Message string
	// Timestamp, when set, names the placeholder holding the signed unix
	// time in seconds ("header:webhook-timestamp", "field:t"); after the
	// signature matches, |now - timestamp| beyond Tolerance is
	// ErrStaleTimestamp. Tolerance <= 0 means DefaultTolerance.
	Timestamp string
	Tolerance time.Duration
	// Key derives the HMAC key from a configured secret; nil means its
	// bytes. Its error must not contain the secret.
	Key func(secret string) ([]byte, error)
	// SignValues gives Sign the values of the message's placeholders that
	// the sender makes up (a message id, an org); the timestamp is now.
	SignValues func(body []byte, now time.Time) map[string]string
}

// DefaultTolerance bounds |now - signed timestamp| when a source sets none.
const DefaultTolerance = 5 * time.Minute

// HMAC is the shared HMAC verifier, configured by HMACOptions.
type HMAC struct {
	opts   HMACOptions
	hashes []func() hash.Hash
	keys   [][]byte
	parts  []part
}

// part is one piece of the signed message.
type part struct {
	kind string // "text", "body", "header", "field"
	name string
}

var _ Scheme = (*HMAC)(nil)

// NewHMAC builds the verifier for secrets. The error names a secret by its
// position, never its value.
func NewHMAC(opts HMACOptions, secrets []string) (*HMAC, error) {
	if opts.Header == "" {
		return nil, errors.New("hmac: no signature header")
	}
	if len(opts.Hashes) == 0 {
		opts.Hashes = []Hash{SHA256}
	}
	if opts.Encoding == "" {
		opts.Encoding = Hex
	}
	if opts.Encoding != Hex && opts.Encoding != Base64 {
		return nil, fmt.Errorf("hmac: unknown encoding %q (known: hex, base64)", string(opts.Encoding))
	}
	if opts.Message == "" {
		opts.Message = "{body}"
	}
	if opts.Tolerance <= 0 {
		opts.Tolerance = DefaultTolerance
	}
	m := &HMAC{opts: opts}
	for _, h := range opts.Hashes {
		f, err := h.new()
		if err != nil {
			return nil, fmt.Errorf("hmac: %w", err)
		}
		m.hashes = append(m.hashes, f)
	}
	parts, err := parseMessage(opts.Message)
	if err != nil {
		return nil, err
	}
	m.parts = parts
	if ts := opts.Timestamp; ts != "" && !strings.HasPrefix(ts, "header:") && !strings.HasPrefix(ts, "field:") {
		return nil, fmt.Errorf("hmac: timestamp %q must be header:<name> or field:<key>", ts)
	}
	for i, s := range secrets {
		k := []byte(s)
		if opts.Key != nil {
			if k, err = opts.Key(s); err != nil {
				return nil, fmt.Errorf("secret #%d: %w", i+1, err)
			}
		}
		m.keys = append(m.keys, k)
	}
	return m, nil
}

func parseMessage(tmpl string) ([]part, error) {
	var parts []part
	for tmpl != "" {
		open := strings.IndexByte(tmpl, '{')
		if open < 0 {
			parts = append(parts, part{kind: "text", name: tmpl})
			break
		}
		if open > 0 {
			parts = append(parts, part{kind: "text", name: tmpl[:open]})
		}
		end := strings.IndexByte(tmpl[open:], '}')
		if end < 0 {
			return nil, fmt.Errorf("hmac: unclosed { in message %q", tmpl)
		}
		ph := tmpl[open+1 : open+end]
		kind, name, _ := strings.Cut(ph, ":")
		switch {
		case ph == "body":
			parts = append(parts, part{kind: "body"})
		case (kind == "header" || kind == "field") && name != "":
			parts = append(parts, part{kind: kind, name: name})
		default:
			return nil, fmt.Errorf("hmac: unknown placeholder {%s} (known: {body}, {header:Name}, {field:key})", ph)
		}
		tmpl = tmpl[open+end+1:]
	}
	return parts, nil
}

// Describe names the signature header.
func (m *HMAC) Describe() string { return m.opts.Header + " header" }

// Present reports whether the signature header, or a header the message
// signs, is there.
func (m *HMAC) Present(req *Request) bool {
	if len(req.Header.Values(m.opts.Header)) > 0 {
		return true
	}
	for _, p := range m.parts {
		if p.kind == "header" && req.Header.Get(p.name) != "" {
			return true
		}
	}
	return false
}

// Verify checks that one of the header's signatures is the HMAC of the
// message with one of the keys (every pair is compared, in constant time
// each), then the signed timestamp.
func (m *HMAC) Verify(req *Request) error {
	vals, err := values(req.Header, m.opts.Header, m.opts.Separator != "")
	if err != nil {
		return err
	}
	header := strings.Join(vals, m.opts.Separator)
	if len(header) > MaxHeaderBytes {
		return headerRuleError{Reject(ErrInvalidSignature, "%s header is too long", m.opts.Header)}
	}
	if strings.TrimSpace(header) == "" {
		return missingError{Reject(ErrInvalidSignature, "missing %s header", m.opts.Header)}
	}
	sigs, fields, err := m.signatures(header)
	if err != nil {
		return err
	}
	vars := map[string]string{}
	for _, p := range m.parts {
		switch p.kind {
		case "header":
			v, err := values(req.Header, p.name, false)
			if err != nil {
				return err
			}
			if len(v) == 0 || strings.TrimSpace(v[0]) == "" {
				return Reject(ErrInvalidSignature, "missing %s header", p.name)
			}
			vars["header:"+p.name] = v[0]
		case "field":
			vars["field:"+p.name] = fields[p.name]
		}
	}
	var ts int64
	if m.opts.Timestamp != "" {
		var ok bool
		if ts, ok = unixSeconds(vars[m.opts.Timestamp]); !ok {
			return Reject(ErrInvalidSignature, "%s must be unix seconds", m.placeName(m.opts.Timestamp))
		}
	}
	match := false
	for _, key := range m.keys {
		for _, newHash := range m.hashes {
			want := m.mac(newHash, key, req.Body, vars)
			for _, got := range sigs {
				if hmac.Equal(got, want) {
					match = true
				}
			}
		}
	}
	if !match {
		return Reject(ErrInvalidSignature, "%s does not match the body", m.opts.Header)
	}
	if m.opts.Timestamp != "" {
		now := req.Now
		if now.IsZero() {
			now = time.Now()
		}
		// Checked after the signature, so "stale" always means an authentic
		// delivery that arrived late (or a clock out of step), never a forgery.
		tol := int64(m.opts.Tolerance / time.Second)
		if n := now.Unix(); ts < n-tol || ts > n+tol {
			return Reject(ErrStaleTimestamp, "%s is more than %d seconds from the server clock", m.placeName(m.opts.Timestamp), tol)
		}
	}
	return nil
}

func (m *HMAC) placeName(ph string) string {
	kind, name, _ := strings.Cut(ph, ":")
	if kind == "header" {
		return name + " header"
	}
	return m.opts.Header + " field " + name
}

// signatures decodes the header's signatures (of a length one of the
// hashes makes) and, for a field list, its fields.
func (m *HMAC) signatures(header string) ([][]byte, map[string]string, error) {
	var raw []string
	fields := map[string]string{}
	switch {
	case m.opts.Fields != nil:
		f := m.opts.Fields
		bad := func() ([][]byte, map[string]string, error) {
			return nil, nil, Reject(ErrInvalidSignature, "%s must hold exactly one of each of %s and a %s field", m.opts.Header, strings.Join(f.Required, ", "), f.Signature)
		}
		for _, field := range strings.Split(header, f.Separator) {
			k, v, ok := strings.Cut(strings.TrimSpace(field), f.KeyValue)
			if !ok {
				return bad()
			}
			if k == f.Signature {
				raw = append(raw, v)
				continue
			}
			if _, dup := fields[k]; dup || (v == "" && contains(f.Required, k)) {
				return bad()
			}
			fields[k] = v
		}
		for _, k := range f.Required {
			if _, ok := fields[k]; !ok {
				return bad()
			}
		}
		if len(raw) == 0 {
			return bad()
		}
	case m.opts.Separator != "":
		for _, entry := range strings.Fields(header) {
			if sig, ok := m.cutPrefix(entry); ok {
				raw = append(raw, sig)
			}
		}
	default:
		sig, ok := m.cutPrefix(strings.TrimSpace(header))
		if !ok {
			return nil, nil, Reject(ErrInvalidSignature, "%s must start with %s", m.opts.Header, m.opts.Prefix)
		}
		raw = append(raw, strings.TrimSpace(sig))
	}
	var sigs [][]byte
	for _, r := range raw {
		if b, ok := m.opts.Encoding.decode(r); ok && m.sized(len(b)) {
			sigs = append(sigs, b)
		}
	}
	if len(sigs) == 0 {
		return nil, nil, Reject(ErrInvalidSignature, "%s holds no %s HMAC-%s signature", m.opts.Header, m.opts.Encoding, m.hashNames())
	}
	return sigs, fields, nil
}

func (m *HMAC) cutPrefix(s string) (string, bool) {
	if m.opts.AnyCasePrefix {
		return cutPrefixFold(s, m.opts.Prefix)
	}
	return strings.CutPrefix(s, m.opts.Prefix)
}

func (m *HMAC) sized(n int) bool {
	for _, h := range m.hashes {
		if h().Size() == n {
			return true
		}
	}
	return false
}

func (m *HMAC) hashNames() string {
	var names []string
	for _, h := range m.opts.Hashes {
		names = append(names, strings.ToUpper(string(h)))
	}
	return strings.Join(names, " or ")
}

func (m *HMAC) mac(newHash func() hash.Hash, key, body []byte, vars map[string]string) []byte {
	mac := hmac.New(newHash, key)
	for _, p := range m.parts {
		switch p.kind {
		case "text":
			mac.Write([]byte(p.name))
		case "body":
			mac.Write(body)
		default:
			mac.Write([]byte(vars[p.kind+":"+p.name]))
		}
	}
	return mac.Sum(nil)
}

// Sign sets the signature header (and the headers the message signs) a
// sender would send, with the first hash.
func (m *HMAC) Sign(h http.Header, body []byte, secret string, now time.Time) {
	key := []byte(secret)
	if m.opts.Key != nil {
		if k, err := m.opts.Key(secret); err == nil {
			key = k
		}
	}
	vars := map[string]string{}
	if m.opts.SignValues != nil {
		for k, v := range m.opts.SignValues(body, now) {
			vars[k] = v
		}
	}
	if m.opts.Timestamp != "" {
		vars[m.opts.Timestamp] = strconv.FormatInt(now.Unix(), 10)
	}
	for _, p := range m.parts {
		if p.kind == "header" {
			h.Set(p.name, vars["header:"+p.name])
		}
	}
	sig := m.opts.Prefix + m.opts.Encoding.encode(m.mac(m.hashes[0], key, body, vars))
	if f := m.opts.Fields; f != nil {
		var out []string
		for _, k := range f.Required {
			out = append(out, k+f.KeyValue+vars["field:"+k])
		}
		sig = strings.Join(append(out, f.Signature+f.KeyValue+sig), f.Separator)
	}
	h.Set(m.opts.Header, sig)
}

// unixSeconds accepts only decimal digits (no sign, no fraction) that fit
// an int64.
func unixSeconds(s string) (int64, bool) {
	if s == "" || len(s) > 18 {
		return 0, false
	}
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return 0, false
		}
	}
	v, err := strconv.ParseInt(s, 10, 64)
	return v, err == nil
}

func cutPrefixFold(s, prefix string) (string, bool) {
	if len(s) < len(prefix) || !strings.EqualFold(s[:len(prefix)], prefix) {
		return "", false
	}
	return s[len(prefix):], true
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}
