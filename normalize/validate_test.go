package normalize

import (
	"reflect"
	"strconv"
	"strings"
	"testing"
)

// Every validate tag of the wire model has its hand-written twin in
// actionsWithinLimits / summaryWithinLimits: breaking any one tag, by one
// unit, takes the payload off the fast path (to the validator, which then
// refuses it). A tag added without its twin fails here.
func TestLimitsOKCoversEveryTag(t *testing.T) {
	v := NewValidator()
	type target struct {
		name  string
		typ   reflect.Type
		check func(reflect.Value) (fast bool, err error)
	}
	actions := func(mut func(reflect.Value)) (bool, error) {
		p := ActionsPayload{Actions: []SlimAction{{}}}
		mut(reflect.ValueOf(&p).Elem())
		return actionsWithinLimits(&p), v.check(&p)
	}
	targets := []target{
		{"ActionsPayload", reflect.TypeFor[ActionsPayload](), func(f reflect.Value) (bool, error) { return actions(func(p reflect.Value) { p.Set(f) }) }},
		{"SlimAction", reflect.TypeFor[SlimAction](), func(f reflect.Value) (bool, error) {
			return actions(func(p reflect.Value) { p.FieldByName("Actions").Index(0).Set(f) })
		}},
		{"SummaryPayload", reflect.TypeFor[SummaryPayload](), func(f reflect.Value) (bool, error) {
			s := f.Interface().(SummaryPayload)
			return summaryWithinLimits(&s), v.check(&s)
		}},
	}
	covered := 0
	for _, tg := range targets {
		for i := range tg.typ.NumField() {
			sf := tg.typ.Field(i)
			for _, rule := range strings.Split(sf.Tag.Get("validate"), ",") {
				name, param, _ := strings.Cut(rule, "=")
				if name == "" || name == "omitempty" || name == "dive" {
					continue
				}
				n, err := strconv.Atoi(param)
				if err != nil {
					t.Fatalf("%s.%s: rule %q has no numeric parameter", tg.name, sf.Name, rule)
				}
				val := reflect.New(tg.typ).Elem()
				if tg.name == "ActionsPayload" {
					val.FieldByName("Actions").Set(reflect.ValueOf([]SlimAction{{}}))
				}
				f := val.Field(i)
				switch {
				case name == "max" && f.Kind() == reflect.String:
					f.SetString(strings.Repeat("x", n+1))
				case name == "max" && f.Kind() == reflect.Pointer:
					s := strings.Repeat("x", n+1)
					f.Set(reflect.ValueOf(&s))
				case name == "max" && f.Kind() == reflect.Slice:
					f.Set(reflect.MakeSlice(f.Type(), n+1, n+1))
				case name == "gte" && f.CanFloat():
					f.SetFloat(float64(n) - 0.5)
				case name == "gte" && f.CanInt():
					f.SetInt(int64(n) - 1)
				default:
					t.Fatalf("%s.%s: rule %q is not mirrored by this test; add it here and to the fast path", tg.name, sf.Name, rule)
				}
				fast, verr := tg.check(val)
				if fast || verr == nil {
					t.Errorf("%s.%s breaking %q: fast path %v, validator error %v; want false and an error", tg.name, sf.Name, rule, fast, verr)
				}
				covered++
			}
		}
	}
	if covered < 20 {
		t.Fatalf("only %d rules found: the tag walk is broken", covered)
	}
}

// The fast path is only ever stricter than the tags: at each limit,
// counted in bytes or in characters, whatever it accepts the validator
// accepts too, and the common case (ASCII within the limit) is fast.
func TestLimitsOKNeverAcceptsWhatTheTagsRefuse(t *testing.T) {
	v := NewValidator()
	for _, tc := range []struct {
		name string
		s    string
		fast bool
	}{
		{"ascii at the limit", strings.Repeat("x", 256), true},
		{"ascii over the limit", strings.Repeat("x", 257), false},
		{"multibyte within the limit in characters, over it in bytes", strings.Repeat("é", 200), false},
		{"multibyte within the limit in bytes", strings.Repeat("é", 128), true},
	} {
		s := tc.s
		p := ActionsPayload{SessionID: &s, Actions: []SlimAction{{Type: "click", Title: s}}}
		fast := actionsWithinLimits(&p)
		if fast != tc.fast {
			t.Errorf("%s: fast path %v, want %v", tc.name, fast, tc.fast)
		}
		if fast && v.check(&p) != nil {
			t.Errorf("%s: fast path accepts what the validator refuses: %v", tc.name, v.check(&p))
		}
		if err := v.Actions(&p); (err == nil) != (len([]rune(s)) <= 256) {
			t.Errorf("%s: Actions() = %v", tc.name, err)
		}
	}
}
