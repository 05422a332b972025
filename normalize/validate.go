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
func (v *Validator) Actions(p *ActionsPayload) error { return v.check(p) }

// Summary validates s; the error is a FieldErrors.
func (v *Validator) Summary(s *SummaryPayload) error { return v.check(s) }

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
