package main

import (
	"bytes"
	"crypto/rand"
	"encoding/hex"
	"encoding/json"
	"fmt"
	"math"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/replayhook/replayhook/providers/vendorjson"
)

// stampTimeKeys are the vendors' event-time fields `send --now` moves:
// Segment, PostHog, Amplitude, Sentry, FullStory, rrweb and the Autoplay
// connector's names.
var stampTimeKeys = map[string]bool{
	"timestamp": true, "$time": true, "time": true, "originalTimestamp": true, "sentAt": true, "receivedAt": true,
	"event_time": true, "client_event_time": true, "server_upload_time": true, "server_received_time": true,
	"client_upload_time": true, "processed_time": true, "datetime": true, "received": true, "created": true,
	"forwarded_at": true, "timestamp_start": true, "timestamp_end": true, "Timestamp": true, "EventStart": true,
}

// stampIDKeys are the vendors' delivery-id fields `send --now` renews
// (what each provider dedupes by).
var stampIDKeys = map[string]bool{
	"messageId": true, "uuid": true, "event_id": true, "insert_id": true, "$insert_id": true,
}

// span is one value of the body to replace.
type span struct {
	start, end int
	key        string
	raw        []byte
	t          time.Time
}

// restamp moves the body's event times so the newest is now, keeping each
// value's format and the spacing between them, and renews its delivery ids,
// so a sample is fresh and not a duplicate. Every other byte is kept. A
// body that is not JSON is returned as is.
func restamp(body []byte, now time.Time) []byte {
	spans, ok := stampSpans(body)
	if !ok {
		return body
	}
	var newest time.Time
	for _, s := range spans {
		if s.t.After(newest) {
			newest = s.t
		}
	}
	delta := now.Sub(newest)
	var out bytes.Buffer
	last := 0
	for _, s := range spans {
		out.Write(body[last:s.start])
		if s.t.IsZero() {
			out.WriteString(renewID(s.raw))
		} else {
			out.WriteString(formatLike(s.raw, s.t.Add(delta)))
		}
		last = s.end
	}
	out.Write(body[last:])
	return out.Bytes()
}

// stampSpans finds the time and id values of body, in order.
func stampSpans(body []byte) ([]span, bool) {
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	type frame struct{ object, wantKey bool }
	var stack []frame
	var spans []span
	key, keyEnd := "", 0
	for {
		tok, err := dec.Token()
		if err != nil {
			return spans, err.Error() == "EOF"
		}
		end := int(dec.InputOffset())
		top := len(stack) - 1
		if top >= 0 && stack[top].object && stack[top].wantKey {
			if d, ok := tok.(json.Delim); ok && d == '}' {
				stack = stack[:top]
				if top > 0 && stack[top-1].object {
					stack[top-1].wantKey = true
				}
				continue
			}
			key, keyEnd = fmt.Sprint(tok), end
			stack[top].wantKey = false
			continue
		}
		switch tok := tok.(type) {
		case json.Delim:
			switch tok {
			case '{':
				stack = append(stack, frame{object: true, wantKey: true})
			case '[':
				stack = append(stack, frame{})
			default:
				stack = stack[:top]
			}
		default:
			if top >= 0 && stack[top].object {
				start := keyEnd
				for start < end && (body[start] == ':' || body[start] == ' ' || body[start] == '\t' || body[start] == '\n' || body[start] == '\r') {
					start++
				}
				raw := body[start:end]
				switch {
				case stampTimeKeys[key]:
					if t := vendorjson.ParseTime(strings.Trim(string(raw), `"`)); !t.IsZero() {
						spans = append(spans, span{start: start, end: end, key: key, raw: raw, t: t})
					}
				case stampIDKeys[key] && len(raw) > 2 && raw[0] == '"':
					spans = append(spans, span{start: start, end: end, key: key, raw: raw})
				}
			}
		}
		if top := len(stack) - 1; top >= 0 && stack[top].object {
			stack[top].wantKey = true
		}
	}
}

// formatLike writes t in the format of the value raw: a JSON number or
// digits in a string in the same unit (seconds, with the same number of
// decimals, milliseconds, microseconds, nanoseconds), or ISO 8601 with
// the same separator, fraction digits and zone form.
func formatLike(raw []byte, t time.Time) string {
	quoted := raw[0] == '"'
	s := strings.Trim(string(raw), `"`)
	wrap := func(v string) string {
		if quoted {
			return strconv.Quote(v)
		}
		return v
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		switch {
		case f < 1e11:
			decimals := 0
			if i := strings.IndexByte(s, '.'); i >= 0 {
				decimals = len(s) - i - 1
			}
			sec := float64(t.UnixNano()) / 1e9
			return wrap(strconv.FormatFloat(math.Round(sec*math.Pow10(decimals))/math.Pow10(decimals), 'f', decimals, 64))
		case f < 1e14:
			return wrap(strconv.FormatInt(t.UnixMilli(), 10))
		case f < 1e17:
			return wrap(strconv.FormatInt(t.UnixMicro(), 10))
		default:
			return wrap(strconv.FormatInt(t.UnixNano(), 10))
		}
	}
	sep := "T"
	if !strings.Contains(s, "T") {
		sep = " "
	}
	frac := ""
	if m := fraction.FindString(s); m != "" {
		frac = "." + strings.Repeat("0", len(m)-1)
	}
	zone := ""
	switch {
	case strings.HasSuffix(s, "Z"):
		zone = "Z"
	case zoned.MatchString(s):
		zone = "Z07:00"
	}
	return wrap(t.UTC().Format("2006-01-02" + sep + "15:04:05" + frac + zone))
}

var (
	fraction = regexp.MustCompile(`\.[0-9]+`)
	zoned    = regexp.MustCompile(`[+-][0-9]{2}:?[0-9]{2}$`)
	uuidLike = regexp.MustCompile(`^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-([0-9a-fA-F])[0-9a-fA-F]{3}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$`)
	hex32    = regexp.MustCompile(`^[0-9a-fA-F]{32}$`)
)

// renewID makes a new id of the same shape as the JSON string raw: a UUID
// stays a UUID of the same version, 32 hex digits stay 32 hex digits,
// anything else gets a random suffix.
func renewID(raw []byte) string {
	var s string
	if json.Unmarshal(raw, &s) != nil {
		return string(raw)
	}
	var b [16]byte
	_, _ = rand.Read(b[:]) // crypto/rand.Read never fails (Go ≥ 1.24)
	h := hex.EncodeToString(b[:])
	switch {
	case uuidLike.MatchString(s):
		m := uuidLike.FindStringSubmatch(s)
		h = h[:12] + m[1] + h[13:16] + "8" + h[17:]
		s = h[:8] + "-" + h[8:12] + "-" + h[12:16] + "-" + h[16:20] + "-" + h[20:32]
	case hex32.MatchString(s):
		s = h
	default:
		s = s + "-" + h[:8]
	}
	return strconv.Quote(s)
}
