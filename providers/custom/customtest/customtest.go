// Package customtest holds custom specs the tests and benchmarks of
// several packages share.
package customtest

import "github.com/replayhook/replayhook/providers/custom"

// AutoplaySpec maps the Autoplay connector's own push format (an
// ActionsPayload with its actions) and verifies its X-Connector-Signature:
// the same work the built-in autoplay provider does, for benchmarks.
func AutoplaySpec() *custom.Spec {
	return &custom.Spec{
		Verify: custom.Verify{Scheme: "hmac", Header: "X-Connector-Signature", Prefix: "sha256="},
		Events: "actions",
		Fields: map[string]custom.Field{
			"session_id":    {Paths: []string{"session_id", "^session_id"}},
			"user_id":       {Paths: []string{"user_id", "^user_id"}},
			"email":         {Paths: []string{"email", "^email"}},
			"product_id":    {Paths: []string{"^product_id"}},
			"timestamp":     {Paths: []string{"timestamp_start"}, Format: "s"},
			"type":          {Paths: []string{"type"}},
			"title":         {Paths: []string{"title"}},
			"description":   {Paths: []string{"description"}},
			"raw_url":       {Paths: []string{"raw_url"}},
			"canonical_url": {Paths: []string{"canonical_url"}},
		},
	}
}
