package main

// sendHelp is the help text of `replayhook send` (see help.go for the
// layout).
var sendHelp = help{
	Summary: "sign a sample delivery as a vendor would and POST it to the server",
	Usage:   "send --source NAME [--config PATH] [--url URL] FILE",
	Description: `
Reads FILE (a vendor's webhook body, such as the samples in testdata/), signs
it with the first secret of source NAME exactly as that vendor signs, and
POSTs it to the server's /webhooks/NAME. Prints the status line and the
answer; exits 1 unless the server answered 2xx.

Arguments:
  FILE            the JSON body to send

Flags:
  --source NAME   a source name from the configuration (required)
  --url URL       the server's base URL or the full webhook URL; default http://<server.addr>
` + configFlagHelp,
	Examples: []string{
		"replayhook send --source autoplay testdata/autoplay-actions.json",
		"replayhook send --source posthog providers/posthog/testdata/webhook-destination-pageview-anonymous.json",
		"replayhook send --source autoplay --url http://127.0.0.1:9090 testdata/autoplay-actions.json",
	},
}
