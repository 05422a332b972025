package segment

import (
	"time"

	"github.com/replayhook/replayhook/providers/vendorjson"
)

// The lenient JSON helpers shared by the vendor adapters, under this
// package's short names.
type (
	text  = vendorjson.Text
	loose = vendorjson.Loose
)

const maxIDBytes = vendorjson.MaxIDBytes

func scalar(b []byte) (s, notScalar string)     { return vendorjson.Scalar(b) }
func number(lit string) string                  { return vendorjson.Number(lit) }
func shapeError(err error, prefix string) error { return vendorjson.ShapeError(err, prefix) }
func fieldError(field, reason string) error     { return vendorjson.FieldError(field, reason) }
func parseTime(s string) time.Time              { return vendorjson.ParseTime(s) }
func fromUnix(f float64) time.Time              { return vendorjson.FromUnix(f) }
func dedupeID(id string) string                 { return vendorjson.DedupeID(id) }
func firstNonBlank(vals ...string) string       { return vendorjson.FirstNonBlank(vals...) }
func token(s string) string                     { return vendorjson.Token(s) }
