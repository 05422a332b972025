package config

import (
	"os"
	"strings"
	"testing"
)

const customSource = `
sources:
  - name: smartlook
    provider: custom
    secrets: [dev-secret]
    custom:
      verify:
        scheme: hmac
        header: X-Signature
        prefix: "sha256="
      events: data
      fields:
        session_id: session.id
        user_id: [visitor.uid, visitor.email]
        type: {const: error}
        label: {template: "{issue.name} ({issue.count})"}
      dedupe_key: id
`

// The custom: block decodes with its shorthands (a path, a list of paths)
// and the full form.
func TestCustomBlockDecodes(t *testing.T) {
	cfg, err := Parse([]byte(customSource), env(nil))
	if err != nil {
		t.Fatal(err)
	}
	c := cfg.Sources[0].Custom
	if c == nil || c.Verify.Scheme != "hmac" || c.Events != "data" || c.DedupeKey != "id" {
		t.Fatalf("custom block: %+v", c)
	}
	f := c.Fields
	if got := f["session_id"].Paths; len(got) != 1 || got[0] != "session.id" {
		t.Fatalf("path shorthand: %v", got)
	}
	if got := f["user_id"].Paths; len(got) != 2 || got[1] != "visitor.email" {
		t.Fatalf("list shorthand: %v", got)
	}
	if f["type"].Const != "error" || f["label"].Template != "{issue.name} ({issue.count})" {
		t.Fatalf("full form: %+v", f)
	}
	if cfg.Sources[0].CustomSpec() == nil {
		t.Fatal("CustomSpec is nil")
	}
}

// Each problem of a custom block names its key and its line.
func TestCustomBlockErrors(t *testing.T) {
	cases := []struct {
		name, from, to, want string
	}{
		{"unknown scheme", "scheme: hmac", "scheme: md5", `sources[0].custom.verify.scheme (line 8): unknown scheme "md5"`},
		{"modifier path", "user_id: [visitor.uid, visitor.email]", "user_id: [visitor.uid, \"@reverse\"]", "sources[0].custom.fields.user_id.paths[1] (line 14): "},
		{"unknown field", "session_id: session.id", "sesion_id: session.id", "sources[0].custom.fields.sesion_id (line 13): unknown field"},
		{"bad type", "type: {const: error}", "type: {const: tap}", `sources[0].custom.fields.type (line 15): "tap" is not an action type`},
		{"bad template", `label: {template: "{issue.name} ({issue.count})"}`, `label: {template: "{issue.name"}`, "sources[0].custom.fields.label.template (line 16): unclosed"},
		{"unknown key", "dedupe_key: id", "dedup_key: id", "sources[0].custom.dedup_key (line 17): unknown key"},
		{"none on a signed source", "scheme: hmac\n        header: X-Signature\n        prefix: \"sha256=\"", "scheme: none", "sources[0].custom.verify.scheme (line 8): none needs unsigned: true"},
		{"unknown nested key", "prefix: \"sha256=\"", "prefix: \"sha256=\"\n        hashes: [sha1]", "sources[0].custom.verify.hashes (line 11): unknown key"},
		{"unknown field key", "type: {const: error}", "type: {const: error, fallback: x}", "sources[0].custom.fields.type.fallback (line 15): unknown key"},
		{"custom block on another provider", "provider: custom", "provider: segment", "sources[0].custom (line 7): only a source with provider custom"},
	}
	for _, c := range cases {
		t.Run(c.name, func(t *testing.T) {
			src := strings.Replace(customSource, c.from, c.to, 1)
			if src == customSource {
				t.Fatal("replacement did not apply")
			}
			_, err := Parse([]byte(src), env(nil))
			if err == nil || !strings.Contains(err.Error(), c.want) {
				t.Fatalf("got %v, want it to contain %q", err, c.want)
			}
		})
	}
	_, err := Parse([]byte("sources:\n  - name: x\n    provider: custom\n    secrets: [s]\n"), env(nil))
	if err == nil || !strings.Contains(err.Error(), "sources[0] (x).custom: source \"x\" has provider custom but no custom: block") {
		t.Fatalf("missing block: %v", err)
	}
}

// The walkthrough's config in docs/providers.md ("Your own vendor") is
// valid as written.
func TestCustomDocExampleParses(t *testing.T) {
	doc, err := os.ReadFile("../docs/providers.md")
	if err != nil {
		t.Fatal(err)
	}
	_, section, ok := strings.Cut(string(doc), "## Your own vendor")
	_, block, ok2 := strings.Cut(section, "```yaml\n")
	block, _, ok3 := strings.Cut(block, "```")
	if !ok || !ok2 || !ok3 {
		t.Fatal("no yaml block in the Your own vendor section")
	}
	cfg, err := Parse([]byte(block), env(map[string]string{"TRACKER_SECRET": "s3cret-tracker"}))
	if err != nil {
		t.Fatal(err)
	}
	if c := cfg.Sources[0].Custom; c == nil || len(c.Fields) != 11 || len(c.Filters) != 1 {
		t.Fatalf("custom block: %+v", c)
	}
}
