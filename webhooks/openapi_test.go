package webhooks

import (
	"encoding/json"
	"fmt"
	"math"
	"net/http"
	"os"
	"regexp"
	"slices"
	"sort"
	"strconv"
	"strings"
	"testing"

	"github.com/replayhook/replayhook/drift"

	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
)

// The contract's OpenAPI file, relative to this package.
const specPath = "../docs/openapi.yaml"

// httpMethods are the OpenAPI operation keys (lower case) and Echo's methods.
var httpMethods = []string{"get", "put", "post", "delete", "options", "head", "patch", "trace"}

// openAPI is the parsed spec as plain JSON values (map[string]any, []any,
// string, float64, bool, nil): YAML is decoded, then round-tripped through
// encoding/json so examples look exactly like decoded responses.
type openAPI struct {
	root map[string]any
}

func loadSpec(t *testing.T) *openAPI {
	t.Helper()
	raw, err := os.ReadFile(specPath)
	if err != nil {
		t.Fatal(err)
	}
	var y any
	if err := yaml.Unmarshal(raw, &y); err != nil {
		t.Fatalf("%s is not YAML: %v", specPath, err)
	}
	j, err := json.Marshal(y)
	if err != nil {
		t.Fatalf("%s does not convert to JSON (non-string keys?): %v", specPath, err)
	}
	var root map[string]any
	if err := json.Unmarshal(j, &root); err != nil {
		t.Fatal(err)
	}
	if v, _ := root["openapi"].(string); !strings.HasPrefix(v, "3.1.") {
		t.Fatalf("openapi version is %q, want 3.1.x", v)
	}
	return &openAPI{root: root}
}

// operation is one (path, method) of the spec.
type operation struct {
	path, method string // "/v1/users/{user_id}", "get"
	op           map[string]any
}

func (s *openAPI) operations() []operation {
	var out []operation
	paths, _ := s.root["paths"].(map[string]any)
	for p, item := range paths {
		m, _ := item.(map[string]any)
		for _, meth := range httpMethods {
			if op, ok := m[meth].(map[string]any); ok {
				out = append(out, operation{path: p, method: meth, op: op})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].path+out[i].method < out[j].path+out[j].method })
	return out
}

func (s *openAPI) operation(method, path string) (map[string]any, bool) {
	for _, o := range s.operations() {
		if o.method == method && o.path == path {
			return o.op, true
		}
	}
	return nil, false
}

// deref follows "$ref": "#/components/..." links (a ref to a ref too).
func (s *openAPI) deref(v any) (map[string]any, error) {
	m, ok := v.(map[string]any)
	if !ok {
		return nil, fmt.Errorf("not an object: %T", v)
	}
	for range 10 {
		ref, ok := m["$ref"].(string)
		if !ok {
			return m, nil
		}
		rest, ok := strings.CutPrefix(ref, "#/")
		if !ok {
			return nil, fmt.Errorf("only local refs are supported: %s", ref)
		}
		var cur any = s.root
		for _, part := range strings.Split(rest, "/") {
			obj, _ := cur.(map[string]any)
			if cur, ok = obj[part]; !ok {
				return nil, fmt.Errorf("dangling $ref %s", ref)
			}
		}
		if m, ok = cur.(map[string]any); !ok {
			return nil, fmt.Errorf("$ref %s is not an object", ref)
		}
	}
	return nil, fmt.Errorf("$ref chain too long")
}

// response returns the spec's response object for an operation and status.
func (s *openAPI) response(op map[string]any, status int) (map[string]any, error) {
	rs, _ := op["responses"].(map[string]any)
	r, ok := rs[strconv.Itoa(status)]
	if !ok {
		return nil, fmt.Errorf("status %d is not documented", status)
	}
	return s.deref(r)
}

// examples lists the example values of a media type object by name.
func examplesOf(media map[string]any) map[string]any {
	out := map[string]any{}
	if v, ok := media["example"]; ok {
		out["example"] = v
	}
	exs, _ := media["examples"].(map[string]any)
	for name, e := range exs {
		if m, ok := e.(map[string]any); ok {
			if v, ok := m["value"]; ok {
				out[name] = v
			}
		}
	}
	return out
}

// The schema checker: the subset of JSON Schema 2020-12 the spec uses.
// Keywords outside the subset fail loudly rather than pass silently.
var (
	checkedKeywords = map[string]bool{
		"$ref": true, "type": true, "enum": true, "required": true, "properties": true,
		"additionalProperties": true, "items": true, "anyOf": true, "oneOf": true,
		"minimum": true, "maximum": true, "minLength": true, "maxLength": true,
		"minItems": true, "maxItems": true, "pattern": true,
	}
	annotationKeywords = map[string]bool{
		"description": true, "title": true, "default": true, "format": true, "example": true,
		"examples": true, "deprecated": true,
	}
)

// validate returns every way v breaks schema, each prefixed by its JSON path.
func (s *openAPI) validate(schema any, v any, at string) []string {
	if b, ok := schema.(bool); ok {
		if b {
			return nil
		}
		return []string{at + ": no value is allowed here"}
	}
	sc, err := s.deref(schema)
	if err != nil {
		return []string{at + ": schema: " + err.Error()}
	}
	var errs []string
	fail := func(format string, args ...any) { errs = append(errs, at+": "+fmt.Sprintf(format, args...)) }
	for k := range sc {
		if !checkedKeywords[k] && !annotationKeywords[k] {
			fail("schema keyword %q is not supported by the test's checker", k)
		}
	}
	if t, ok := sc["type"]; ok {
		var types []string
		switch tt := t.(type) {
		case string:
			types = []string{tt}
		case []any:
			for _, x := range tt {
				types = append(types, fmt.Sprint(x))
			}
		}
		if !slices.ContainsFunc(types, func(typ string) bool { return hasType(v, typ) }) {
			fail("is %s, want type %v", jsonType(v), types)
			return errs
		}
	}
	if enum, ok := sc["enum"].([]any); ok && !slices.ContainsFunc(enum, func(e any) bool { return fmt.Sprint(e) == fmt.Sprint(v) && jsonType(e) == jsonType(v) }) {
		fail("%v is not one of %v", v, enum)
	}
	for _, kw := range []string{"anyOf", "oneOf"} {
		alts, ok := sc[kw].([]any)
		if !ok {
			continue
		}
		n := 0
		for _, alt := range alts {
			if len(s.validate(alt, v, at)) == 0 {
				n++
			}
		}
		if n == 0 || (kw == "oneOf" && n > 1) {
			fail("%d of the %s alternatives match", n, kw)
		}
	}
	switch x := v.(type) {
	case map[string]any:
		props, _ := sc["properties"].(map[string]any)
		if req, ok := sc["required"].([]any); ok {
			for _, r := range req {
				if _, ok := x[fmt.Sprint(r)]; !ok {
					fail("required property %q is missing", r)
				}
			}
		}
		keys := make([]string, 0, len(x))
		for k := range x {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		for _, k := range keys {
			if ps, ok := props[k]; ok {
				errs = append(errs, s.validate(ps, x[k], at+"."+k)...)
			} else if ap, ok := sc["additionalProperties"]; ok {
				if b, isBool := ap.(bool); isBool && !b {
					fail("property %q is not in the schema", k)
				} else {
					errs = append(errs, s.validate(ap, x[k], at+"."+k)...)
				}
			}
		}
	case []any:
		if it, ok := sc["items"]; ok {
			for i, e := range x {
				errs = append(errs, s.validate(it, e, fmt.Sprintf("%s[%d]", at, i))...)
			}
		}
		if n, ok := sc["minItems"].(float64); ok && float64(len(x)) < n {
			fail("has %d items, want at least %v", len(x), n)
		}
		if n, ok := sc["maxItems"].(float64); ok && float64(len(x)) > n {
			fail("has %d items, want at most %v", len(x), n)
		}
	case float64:
		if n, ok := sc["minimum"].(float64); ok && x < n {
			fail("%v is below the minimum %v", x, n)
		}
		if n, ok := sc["maximum"].(float64); ok && x > n {
			fail("%v is above the maximum %v", x, n)
		}
	case string:
		if n, ok := sc["minLength"].(float64); ok && float64(len([]rune(x))) < n {
			fail("%q is shorter than %v", x, n)
		}
		if n, ok := sc["maxLength"].(float64); ok && float64(len([]rune(x))) > n {
			fail("%q is longer than %v", x, n)
		}
		if p, ok := sc["pattern"].(string); ok {
			re, err := regexp.Compile(p)
			if err != nil {
				fail("pattern %q does not compile: %v", p, err)
			} else if !re.MatchString(x) {
				fail("%q does not match %s", x, p)
			}
		}
	}
	return errs
}

func jsonType(v any) string {
	switch x := v.(type) {
	case nil:
		return "null"
	case bool:
		return "boolean"
	case string:
		return "string"
	case float64:
		if x == math.Trunc(x) {
			return "integer"
		}
		return "number"
	case []any:
		return "array"
	case map[string]any:
		return "object"
	}
	return fmt.Sprintf("%T", v)
}

func hasType(v any, typ string) bool {
	got := jsonType(v)
	return got == typ || (typ == "number" && got == "integer")
}

// TestSchemaChecker shows the checker rejects what it must: without it the
// spec tests below could pass on anything.
func TestSchemaChecker(t *testing.T) {
	s := &openAPI{root: map[string]any{"components": map[string]any{"schemas": map[string]any{
		"Ref": map[string]any{"type": "object", "additionalProperties": false, "required": []any{"id"},
			"properties": map[string]any{
				"id":    map[string]any{"type": "string", "pattern": "^u_"},
				"email": map[string]any{"type": []any{"string", "null"}},
				"n":     map[string]any{"type": "integer", "minimum": 0.0},
				"kind":  map[string]any{"type": "string", "enum": []any{"a", "b"}},
				"tags":  map[string]any{"type": "array", "items": map[string]any{"type": "string"}, "maxItems": 2.0},
			}},
	}}}}
	ref := map[string]any{"$ref": "#/components/schemas/Ref"}
	tests := []struct {
		name  string
		value string
		ok    bool
	}{
		{"valid", `{"id":"u_1","email":null,"n":3,"kind":"a","tags":["x"]}`, true},
		{"nullable as a type array", `{"id":"u_1","email":"a@b.c"}`, true},
		{"missing required", `{"email":null}`, false},
		{"extra property", `{"id":"u_1","extra":1}`, false},
		{"wrong type", `{"id":7}`, false},
		{"null where not nullable", `{"id":null}`, false},
		{"not an integer", `{"id":"u_1","n":1.5}`, false},
		{"below minimum", `{"id":"u_1","n":-1}`, false},
		{"outside enum", `{"id":"u_1","kind":"c"}`, false},
		{"bad array item", `{"id":"u_1","tags":[1]}`, false},
		{"too many items", `{"id":"u_1","tags":["a","b","c"]}`, false},
		{"pattern", `{"id":"x_1"}`, false},
		{"not an object", `[]`, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var v any
			if err := json.Unmarshal([]byte(tt.value), &v); err != nil {
				t.Fatal(err)
			}
			errs := s.validate(ref, v, "$")
			if (len(errs) == 0) != tt.ok {
				t.Fatalf("valid=%v, want %v: %v", len(errs) == 0, tt.ok, errs)
			}
		})
	}
	if errs := s.validate(map[string]any{"type": "string", "const": "x"}, "x", "$"); len(errs) == 0 {
		t.Fatal("an unsupported keyword must fail, not pass silently")
	}
	if errs := s.validate(map[string]any{"$ref": "#/components/schemas/Nope"}, "x", "$"); len(errs) == 0 {
		t.Fatal("a dangling $ref must fail")
	}
}

var echoParam = regexp.MustCompile(`:([A-Za-z0-9_]+)`)

// TestOpenAPIRoutesMatchEcho checks that every route the server registers
// is in docs/openapi.yaml with its method, and that the spec has no route
// the server lacks. Echo's ":param" is OpenAPI's "{param}".
func TestOpenAPIRoutesMatchEcho(t *testing.T) {
	spec := loadSpec(t)
	h := newHarness(t)
	server := map[string]bool{}
	for _, r := range h.srv.Echo().Routes() {
		m := strings.ToLower(r.Method)
		if !slices.Contains(httpMethods, m) {
			continue // echo's internal routes (not-found and any-method markers)
		}
		server[m+" "+echoParam.ReplaceAllString(r.Path, "{$1}")] = true
	}
	documented := map[string]bool{}
	for _, o := range spec.operations() {
		documented[o.method+" "+o.path] = true
	}
	if len(server) < 10 {
		t.Fatalf("only %d routes registered: %v", len(server), server)
	}
	for r := range server {
		if !documented[r] {
			t.Errorf("route %s is served but not in %s", r, specPath)
		}
	}
	for r := range documented {
		if !server[r] {
			t.Errorf("%s documents %s, which the server does not serve", specPath, r)
		}
	}
}

var pathTemplateParam = regexp.MustCompile(`\{([^}]+)\}`)

// TestOpenAPIOperationsAreComplete checks each operation's own consistency:
// its path parameters are declared, every response has a description, an
// operationId is unique, every $ref resolves and error responses use the
// Error schema.
func TestOpenAPIOperationsAreComplete(t *testing.T) {
	spec := loadSpec(t)
	ids := map[string]string{}
	for _, o := range spec.operations() {
		name := o.method + " " + o.path
		id, _ := o.op["operationId"].(string)
		if id == "" {
			t.Errorf("%s: no operationId", name)
		} else if prev, dup := ids[id]; dup {
			t.Errorf("%s: operationId %q already used by %s", name, id, prev)
		}
		ids[id] = name

		declared := map[string]bool{}
		params, _ := o.op["parameters"].([]any)
		for _, p := range params {
			pm, err := spec.deref(p)
			if err != nil {
				t.Errorf("%s: parameter: %v", name, err)
				continue
			}
			if pm["in"] == "path" {
				declared[fmt.Sprint(pm["name"])] = true
				if pm["required"] != true {
					t.Errorf("%s: path parameter %v must be required", name, pm["name"])
				}
			}
		}
		inPath := map[string]bool{}
		for _, m := range pathTemplateParam.FindAllStringSubmatch(o.path, -1) {
			inPath[m[1]] = true
			if !declared[m[1]] {
				t.Errorf("%s: path parameter {%s} is not declared", name, m[1])
			}
		}
		for p := range declared {
			if !inPath[p] {
				t.Errorf("%s: declares path parameter %s that the path lacks", name, p)
			}
		}

		rs, _ := o.op["responses"].(map[string]any)
		if len(rs) == 0 {
			t.Errorf("%s: no responses", name)
		}
		for code := range rs {
			r, err := spec.deref(rs[code])
			if err != nil {
				t.Errorf("%s %s: %v", name, code, err)
				continue
			}
			if d, _ := r["description"].(string); d == "" {
				t.Errorf("%s %s: no description", name, code)
			}
			n, _ := strconv.Atoi(code)
			if n < 400 || o.path == "/readyz" {
				continue
			}
			content, _ := r["content"].(map[string]any)
			media, _ := content["application/json"].(map[string]any)
			if ref, _ := media["schema"].(map[string]any)["$ref"].(string); ref != "#/components/schemas/Error" {
				t.Errorf("%s %s: an error response must use the Error schema, has %v", name, code, media["schema"])
			}
		}
	}
}

// TestOpenAPIExamplesMatchSchemas validates every example in the spec
// (request bodies and responses) against its own schema.
func TestOpenAPIExamplesMatchSchemas(t *testing.T) {
	spec := loadSpec(t)
	checked := 0
	check := func(where string, media map[string]any) {
		for name, ex := range examplesOf(media) {
			if errs := spec.validate(media["schema"], ex, "$"); len(errs) > 0 {
				t.Errorf("%s example %q does not match its schema:\n  %s", where, name, strings.Join(errs, "\n  "))
			}
			checked++
		}
	}
	for _, o := range spec.operations() {
		name := o.method + " " + o.path
		if rb, ok := o.op["requestBody"]; ok {
			body, err := spec.deref(rb)
			if err != nil {
				t.Fatal(err)
			}
			content, _ := body["content"].(map[string]any)
			if media, ok := content["application/json"].(map[string]any); ok {
				check(name+" request", media)
			}
		}
		rs, _ := o.op["responses"].(map[string]any)
		for code, r := range rs {
			resp, err := spec.deref(r)
			if err != nil {
				t.Fatal(err)
			}
			content, _ := resp["content"].(map[string]any)
			if media, ok := content["application/json"].(map[string]any); ok {
				check(name+" "+code, media)
			}
		}
	}
	if checked < 30 {
		t.Fatalf("only %d examples checked; the spec lost its examples", checked)
	}
}

// TestOpenAPIResponsesMatchServer sends real requests through the server and
// validates each answer (status, content type, JSON body) against the spec's
// response for that route and status. Every documented 2xx answer must be
// exercised here, so a new route or success shape cannot go unchecked.
func TestOpenAPIResponsesMatchServer(t *testing.T) {
	spec := loadSpec(t)
	rejected := index.NewMemoryRejected(10)
	failing := &failingActivity{ActivityStore: index.NewMemoryActivity(100, 100)}
	var metrics *Metrics
	var drift *drift.Memory
	fwd, deadID := forwardsWithDeadLetter(t)
	h := newHarness(t, withDrift(&drift), withTestMetrics(&metrics), func(_ *config.Config, d *Deps) {
		d.Rejected = rejected
		d.Activity = failing
		d.Forwards = fwd
	})
	anon := dana
	anon.user, anon.email, anon.session = "", "", "ps_anon"
	otherProduct := dana
	otherProduct.product = "prod_other"
	auth := func(tok string) http.Header { return http.Header{"Authorization": {"Bearer " + tok}} }
	signed := func(b []byte) http.Header { return h.signer.Sign(b, secretNew, h.clock.Now()) }

	type call struct {
		name   string
		before func()
		method string
		target string
		header http.Header
		body   []byte
		route  string // the spec's path
		status int
	}
	calls := []call{
		{name: "ingest accepted", method: "POST", target: "/webhooks/autoplay", body: dana.body(), header: signed(dana.body()), route: "/webhooks/{source}", status: 200},
		{name: "ingest accepted without user", method: "POST", target: "/webhooks/autoplay", body: anon.body(), header: signed(anon.body()), route: "/webhooks/{source}", status: 200},
		{name: "ingest duplicate", method: "POST", target: "/webhooks/autoplay", body: dana.body(), header: signed(dana.body()), route: "/webhooks/{source}", status: 200},
		{name: "ingest ignored", method: "POST", target: "/webhooks/autoplay", body: []byte(`{"type":"heartbeat"}`), header: signed([]byte(`{"type":"heartbeat"}`)), route: "/webhooks/{source}", status: 200},
		{name: "ingest malformed", method: "POST", target: "/webhooks/autoplay", body: []byte(`{"type":`), header: signed([]byte(`{"type":`)), route: "/webhooks/{source}", status: 400},
		{name: "ingest invalid signature", method: "POST", target: "/webhooks/autoplay", body: dana.body(), header: sign(dana.body(), "wrong-secret"), route: "/webhooks/{source}", status: 401},
		{name: "ingest unknown source", method: "POST", target: "/webhooks/nope", body: dana.body(), header: signed(dana.body()), route: "/webhooks/{source}", status: 404},
		{name: "ingest too large", method: "POST", target: "/webhooks/autoplay", body: []byte(`{"x":"` + strings.Repeat("a", 70<<10) + `"}`), route: "/webhooks/{source}", status: 413},
		{name: "ingest invalid payload", method: "POST", target: "/webhooks/autoplay", body: []byte(`{"type":"actions","session_id":"s","actions":"click"}`), header: signed([]byte(`{"type":"actions","session_id":"s","actions":"click"}`)), route: "/webhooks/{source}", status: 422},
		{name: "ingest product mismatch", method: "POST", target: "/webhooks/autoplay", body: otherProduct.body(), header: signed(otherProduct.body()), route: "/webhooks/{source}", status: 422},
		{name: "ingest store down", before: func() { failing.mu.Lock(); failing.fail = true; failing.mu.Unlock() }, method: "POST", target: "/webhooks/open", body: otherProduct.body(), header: signed(otherProduct.body()), route: "/webhooks/{source}", status: 503},

		{name: "user found", before: func() { failing.mu.Lock(); failing.fail = false; failing.mu.Unlock() }, method: "GET", target: "/v1/users/usr_48213", header: auth(tokChat), route: "/v1/users/{user_id}", status: 200},
		{name: "user unknown", method: "GET", target: "/v1/users/usr_nobody", header: auth(tokChat), route: "/v1/users/{user_id}", status: 200},
		{name: "user id too long", method: "GET", target: "/v1/users/" + strings.Repeat("u", 300), header: auth(tokChat), route: "/v1/users/{user_id}", status: 400},
		{name: "user without token", method: "GET", target: "/v1/users/usr_48213", route: "/v1/users/{user_id}", status: 401},
		{name: "user other product", method: "GET", target: "/v1/users/usr_48213?product_id=prod_other", header: auth(tokScoped), route: "/v1/users/{user_id}", status: 403},
		{name: "activity", method: "GET", target: "/v1/users/usr_48213/activity?max_actions=5", header: auth(tokChat), route: "/v1/users/{user_id}/activity", status: 200},
		{name: "activity bad parameter", method: "GET", target: "/v1/users/usr_48213/activity?max_actions=0", header: auth(tokChat), route: "/v1/users/{user_id}/activity", status: 400},
		{name: "session", method: "GET", target: "/v1/sessions/ps_1?product_id=prod_demo", header: auth(tokChat), route: "/v1/sessions/{session_id}", status: 200},
		{name: "session without user", method: "GET", target: "/v1/sessions/ps_anon?product_id=prod_demo", header: auth(tokChat), route: "/v1/sessions/{session_id}", status: 200},
		{name: "session unknown", method: "GET", target: "/v1/sessions/ps_nope?product_id=prod_demo", header: auth(tokChat), route: "/v1/sessions/{session_id}", status: 404},
		{name: "session without product", method: "GET", target: "/v1/sessions/ps_1", header: auth(tokChat), route: "/v1/sessions/{session_id}", status: 400},
		{name: "rejected deliveries", method: "GET", target: "/v1/deliveries/rejected", header: auth(tokChat), route: "/v1/deliveries/rejected", status: 200},
		{name: "rejected deliveries scoped token", method: "GET", target: "/v1/deliveries/rejected", header: auth(tokScoped), route: "/v1/deliveries/rejected", status: 403},
		{name: "forget needs a * token", method: "DELETE", target: "/v1/users/usr_48213", header: auth(tokScoped), route: "/v1/users/{user_id}", status: 403},
		{name: "forget", method: "DELETE", target: "/v1/users/usr_48213", header: auth(tokChat), route: "/v1/users/{user_id}", status: 204},
		{name: "drift report", method: "GET", target: "/v1/drift", header: auth(tokChat), route: "/v1/drift", status: 200},
		{name: "drift reset", method: "DELETE", target: "/v1/drift", header: auth(tokChat), route: "/v1/drift", status: 204},
		{name: "drift page", method: "GET", target: "/drift", header: http.Header{"Authorization": {"Basic " + basic("me", tokChat)}}, route: "/drift", status: 200},
		{name: "root", method: "GET", target: "/", route: "/", status: 200},
		{name: "forwards", method: "GET", target: "/v1/forwards", header: auth(tokChat), route: "/v1/forwards", status: 200},
		{name: "forwards scoped token", method: "GET", target: "/v1/forwards", header: auth(tokScoped), route: "/v1/forwards", status: 403},
		{name: "forward dead letters", method: "GET", target: "/v1/forwards/chat/dead?limit=10", header: auth(tokChat), route: "/v1/forwards/{target}/dead", status: 200},
		{name: "forward dead letters bad limit", method: "GET", target: "/v1/forwards/chat/dead?limit=0", header: auth(tokChat), route: "/v1/forwards/{target}/dead", status: 400},
		{name: "forward dead letters unknown target", method: "GET", target: "/v1/forwards/nope/dead", header: auth(tokChat), route: "/v1/forwards/{target}/dead", status: 404},
		{name: "forward redeliver malformed", method: "POST", target: "/v1/forwards/chat/dead/redeliver", body: []byte(`{"ids":`), header: auth(tokChat), route: "/v1/forwards/{target}/dead/redeliver", status: 400},
		{name: "forward redeliver", method: "POST", target: "/v1/forwards/chat/dead/redeliver", body: []byte(`{"ids":["` + deadID + `"]}`), header: auth(tokChat), route: "/v1/forwards/{target}/dead/redeliver", status: 200},
		{name: "forward drop dead letters", method: "DELETE", target: "/v1/forwards/chat/dead", header: auth(tokChat), route: "/v1/forwards/{target}/dead", status: 200},
		{name: "stream without token", method: "GET", target: "/stream/prod_demo", route: "/stream/{product_id}", status: 401},
		{name: "stream other product", method: "GET", target: "/stream/prod_demo", header: auth(tokOther), route: "/stream/{product_id}", status: 403},
		{name: "stream unknown product", method: "GET", target: "/stream/prod_nobody", header: auth(tokChat), route: "/stream/{product_id}", status: 404},
		{name: "stream garbage id", method: "GET", target: "/stream/prod_demo?last_event_id=x", header: auth(tokChat), route: "/stream/{product_id}", status: 400},
		{name: "livez", method: "GET", target: "/livez", route: "/livez", status: 200},
		{name: "livez head", method: "HEAD", target: "/livez", route: "/livez", status: 200},
		{name: "readyz", method: "GET", target: "/readyz", route: "/readyz", status: 200},
		{name: "readyz head", method: "HEAD", target: "/readyz", route: "/readyz", status: 200},
		{name: "metrics", method: "GET", target: "/metrics", route: "/metrics", status: 200},
		{name: "readyz draining", before: h.srv.Drain, method: "GET", target: "/readyz", route: "/readyz", status: 503},
		{name: "readyz head draining", method: "HEAD", target: "/readyz", route: "/readyz", status: 503},
	}
	exercised := map[string]bool{}
	for _, c := range calls {
		// Subtests share the server and run in order: later calls read what
		// earlier ones stored.
		t.Run(c.name, func(t *testing.T) {
			if c.before != nil {
				c.before()
			}
			rec := h.do(c.method, c.target, c.body, c.header)
			if rec.Code != c.status {
				t.Fatalf("%s %s = %d, want %d: %s", c.method, c.target, rec.Code, c.status, rec.Body)
			}
			exercised[strings.ToLower(c.method)+" "+c.route+" "+strconv.Itoa(c.status)] = true
			op, ok := spec.operation(strings.ToLower(c.method), c.route)
			if !ok {
				t.Fatalf("%s %s is not in the spec", c.method, c.route)
			}
			resp, err := spec.response(op, rec.Code)
			if err != nil {
				t.Fatalf("%s %s: %v", c.method, c.route, err)
			}
			content, _ := resp["content"].(map[string]any)
			if c.method == http.MethodHead {
				return // net/http drops a HEAD answer's body on the wire
			}
			if rec.Code == http.StatusNoContent {
				if rec.Body.Len() != 0 || len(content) != 0 {
					t.Fatalf("204 with a body (%q) or a documented content (%v)", rec.Body, keysOf(content))
				}
				return
			}
			ctype := rec.Header().Get("Content-Type")
			mt, _, _ := strings.Cut(ctype, ";")
			media, ok := content[strings.TrimSpace(mt)].(map[string]any)
			if !ok {
				t.Fatalf("content type %q is not documented for %d (documented: %v)", ctype, rec.Code, keysOf(content))
			}
			var body any
			if mt == "application/json" {
				if err := json.Unmarshal(rec.Body.Bytes(), &body); err != nil {
					t.Fatalf("not JSON: %v: %s", err, rec.Body)
				}
			} else {
				body = rec.Body.String()
			}
			if errs := spec.validate(media["schema"], body, "$"); len(errs) > 0 {
				t.Fatalf("the real answer does not match the spec:\n  %s\nbody: %s", strings.Join(errs, "\n  "), rec.Body)
			}
		})
	}
	for _, o := range spec.operations() {
		rs, _ := o.op["responses"].(map[string]any)
		for code := range rs {
			if strings.HasPrefix(code, "2") && !exercised[o.method+" "+o.path+" "+code] && !checkedLive[o.method+" "+o.path+" "+code] {
				t.Errorf("%s %s %s is documented but no real request checks it here", o.method, o.path, code)
			}
		}
	}
	if metrics == nil {
		t.Fatal("metrics option not applied")
	}
}

func keysOf(m map[string]any) []string {
	out := make([]string, 0, len(m))
	for k := range m {
		out = append(out, k)
	}
	sort.Strings(out)
	return out
}

// TestOpenAPIErrorCodesAreDocumented checks that every error code the
// server can answer is in the spec's Error enum.
func TestOpenAPIErrorCodesAreDocumented(t *testing.T) {
	spec := loadSpec(t)
	sc, err := spec.deref(map[string]any{"$ref": "#/components/schemas/Error"})
	if err != nil {
		t.Fatal(err)
	}
	enum, _ := sc["properties"].(map[string]any)["error"].(map[string]any)["enum"].([]any)
	codes := []string{CodeUnknownSource, CodeInvalidSignature, CodeStaleTimestamp, CodePayloadTooLarge, CodeMalformedJSON,
		CodeInvalidPayload, CodeProductMismatch, CodeUnavailable, CodeUnauthorized, CodeForbidden, CodeNotFound,
		CodeMethodNotAllowed, CodeInvalidParameter, CodeInternal, "bad_request"}
	for _, c := range codes {
		if !slices.Contains(enum, any(c)) {
			t.Errorf("error code %q is not in the spec's Error enum", c)
		}
	}
}
