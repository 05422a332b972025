package logjson

import (
	"bytes"
	"errors"
	"math"
	"testing"
	"time"

	"github.com/sirupsen/logrus"
)

// The formatter's whole contract: byte for byte what logrus.JSONFormatter
// writes, for every kind of field, on the fast path and off it.
func TestSameBytesAsLogrusJSONFormatter(t *testing.T) {
	at := time.Date(2026, 11, 25, 10, 30, 0, 123456789, time.FixedZone("X", 3600))
	cases := []struct {
		name string
		data logrus.Fields
		fast bool
	}{
		{"empty", logrus.Fields{}, true},
		{"access line", logrus.Fields{
			"method": "POST", "route": "/webhooks/:source", "status": 200, "duration_ms": 0.412,
			"bytes_in": int64(1630), "bytes_out": int64(81), "request_id": "9f86d081884c7d65", "remote_ip": "127.0.0.1",
			"source": "autoplay", "outcome": "accepted", "missing_user_id": 1,
		}, true},
		{"escapes", logrus.Fields{"q": `a"b\c`, "html": "<a href='x'>&</a>", "ctl": "a\nb\tc\x01", "utf8": "héllo ✓ \u2028", "bad": "a\xffb"}, true},
		{"numbers", logrus.Fields{"a": 0.0, "b": math.Copysign(0, -1), "c": 1e-7, "d": 1e21, "e": 123456789.125, "f": -1e-300, "g": math.MaxInt64, "h": int64(math.MinInt64), "i": 1e20, "j": 5e-324}, true},
		{"others", logrus.Fields{"nil": nil, "t": true, "f": false, "err": errors.New("boom <x>")}, true},
		{"clash with time", logrus.Fields{"time": "x", "a": 1}, false},
		{"clash with msg", logrus.Fields{"msg": "x"}, false},
		{"clash with level", logrus.Fields{"level": 3}, false},
		{"unsupported type", logrus.Fields{"list": []string{"a"}, "m": map[string]int{"a": 1}}, false},
		{"float32", logrus.Fields{"f": float32(0.1)}, false},
		{"NaN", logrus.Fields{"f": math.NaN()}, false},
		{"uint", logrus.Fields{"u": uint(7)}, false},
	}
	for _, layout := range []string{"", time.RFC3339Nano} {
		for _, tc := range cases {
			for _, level := range []logrus.Level{logrus.InfoLevel, logrus.WarnLevel, logrus.ErrorLevel} {
				e := &logrus.Entry{Data: tc.data, Time: at, Level: level, Message: "request <1>"}
				want, wantErr := (&logrus.JSONFormatter{TimestampFormat: layout}).Format(e)
				wantS := string(want) // copied: both may use the same buffer
				got, err := (&Formatter{TimestampFormat: layout}).Format(e)
				if (err != nil) != (wantErr != nil) || string(got) != wantS {
					t.Errorf("%s (layout %q, %s):\n got %s err %v\nwant %s err %v", tc.name, layout, level, got, err, wantS, wantErr)
				}
				if fast := fastPath(tc.data); fast != tc.fast {
					t.Errorf("%s: fast path %v, want %v", tc.name, fast, tc.fast)
				}
			}
		}
	}
}

// fastPath mirrors Format's decision, to prove the table covers both paths.
func fastPath(d logrus.Fields) bool {
	for k, v := range d {
		switch k {
		case logrus.FieldKeyTime, logrus.FieldKeyMsg, logrus.FieldKeyLevel, logrus.FieldKeyLogrusError, logrus.FieldKeyFunc, logrus.FieldKeyFile:
			return false
		}
		if !fast(v) {
			return false
		}
	}
	return true
}

// Through a real logger (pooled buffers, several lines in a row).
func TestThroughALogger(t *testing.T) {
	var got, want bytes.Buffer
	fastLog, refLog := logrus.New(), logrus.New()
	fastLog.SetOutput(&got)
	fastLog.SetFormatter(&Formatter{TimestampFormat: time.RFC3339Nano})
	refLog.SetOutput(&want)
	refLog.SetFormatter(&logrus.JSONFormatter{TimestampFormat: time.RFC3339Nano})
	at := time.Date(2026, 1, 2, 3, 4, 5, 6, time.UTC)
	for i := range 50 {
		f := logrus.Fields{"i": i, "s": "x", "e": errors.New("e")}
		fastLog.WithFields(f).WithTime(at).Warn("w")
		refLog.WithFields(f).WithTime(at).Warn("w")
	}
	if got.String() != want.String() {
		t.Fatalf("lines differ:\n%s\n%s", got.String()[:200], want.String()[:200])
	}
}

func BenchmarkAccessLine(b *testing.B) {
	f := logrus.Fields{
		"method": "POST", "route": "/webhooks/:source", "status": 200, "duration_ms": 0.412,
		"bytes_in": int64(1630), "bytes_out": int64(81), "request_id": "9f86d081884c7d65", "remote_ip": "127.0.0.1",
		"source": "autoplay", "outcome": "accepted",
	}
	for _, tc := range []struct {
		name string
		f    logrus.Formatter
	}{{"logjson", &Formatter{}}, {"logrus.JSONFormatter", &logrus.JSONFormatter{}}} {
		b.Run(tc.name, func(b *testing.B) {
			e := &logrus.Entry{Data: f, Time: time.Now(), Level: logrus.InfoLevel, Message: "request"}
			var buf bytes.Buffer
			b.ReportAllocs()
			for b.Loop() {
				buf.Reset()
				e.Buffer = &buf
				if _, err := tc.f.Format(e); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}
