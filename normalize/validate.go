package normalize

import (
	"errors"
	"reflect"
	"strings"

	"github.com/go-playground/validator/v10"
)

// Validator checks payloads against the limits in their struct tags and
// reports violations with the JSON field names users see.
type Validator struct{ v *validator.Validate }

// NewValidator builds a Validator. Build it once and share it: it caches
// struct metadata and is safe for concurrent use.
func NewValidator() *Validator {
	v := validator.New(validator.WithRequiredStructEnabled())
	v.RegisterTagNameFunc(func(f reflect.StructField) string {
		name, _, _ := strings.Cut(f.Tag.Get("json"), ",")
		if name == "-" {
			return ""
		}
		return name
	})
	return &Validator{v: v}
}

// Actions validates p; the error is a FieldErrors.
//
// The struct tags are the rules. A payload within limitsOK's hand-written
// copy of them (every one of the ingest path's payloads, in practice) is
// accepted without reflection; any other goes through the validator, which
// decides and names the fields. limitsOK may only be stricter than the
// tags (TestLimitsOKNeverAcceptsWhatTheTagsRefuse).
func (v *Validator) Actions(p *ActionsPayload) error {
	if actionsWithinLimits(p) {
		return nil
	}
	return v.check(p)
}

// Summary validates s; the error is a FieldErrors. Same fast path as Actions.
func (v *Validator) Summary(s *SummaryPayload) error {
	if summaryWithinLimits(s) {
		return nil
	}
	return v.check(s)
}

// actionsWithinLimits is the struct tags of ActionsPayload and SlimAction,
// by hand. A string within max bytes is within max characters, which is
// what the tags count; a longer one is left to the validator.
func actionsWithinLimits(p *ActionsPayload) bool {
	ok := len(p.ProductID) <= 256 && optWithin(p.SessionID, 256) && optWithin(p.UserID, 256) &&
		optWithin(p.Email, 320) && p.ForwardedAt >= 0 && optWithin(p.ConversationID, 256) &&
		len(p.Actions) <= 1000 && len(p.AnonymousID) <= 256
	for i := 0; ok && i < len(p.Actions); i++ {
		a := &p.Actions[i]
		ok = len(a.Type) <= 64 && len(a.Title) <= 2048 && len(a.Description) <= 8192 &&
			a.TimestampStart >= 0 && a.TimestampEnd >= 0 && len(a.RawURL) <= 8192 && len(a.CanonicalURL) <= 8192 &&
			optWithin(a.SessionID, 256) && optWithin(a.UserID, 256) && optWithin(a.Email, 320)
	}
	return ok
}

// summaryWithinLimits is the struct tags of SummaryPayload, by hand.
func summaryWithinLimits(s *SummaryPayload) bool {
	return len(s.ProductID) <= 256 && optWithin(s.SessionID, 256) && len(s.Summary) <= 65536 &&
		s.Replaces >= 0 && s.ForwardedAt >= 0
}

func optWithin(p *string, n int) bool { return p == nil || len(*p) <= n }

func (v *Validator) check(x any) error {
	err := v.v.Struct(x)
	if err == nil {
		return nil
	}
	var ves validator.ValidationErrors
	if !errors.As(err, &ves) {
		return FieldErrors{{Field: "", Reason: "cannot be validated"}}
	}
	out := make(FieldErrors, 0, len(ves))
	for _, fe := range ves {
		field := fe.Namespace()
		if _, rest, ok := strings.Cut(field, "."); ok {
			field = rest // drop the struct name
		}
		out = append(out, FieldError{Field: field, Reason: reason(fe)})
	}
	return out
}

func reason(fe validator.FieldError) string {
	switch fe.Tag() {
	case "max":
		if fe.Kind() == reflect.Slice {
			return "must have at most " + fe.Param() + " items"
		}
		return "must be at most " + fe.Param() + " characters"
	case "gte":
		return "must be >= " + fe.Param()
	default:
		return "fails " + fe.Tag()
	}
}
