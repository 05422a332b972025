package main

// sendHelp is the help text of `replayhook send`, printed as it is by
// `replayhook send --help` and `replayhook help send`.
const sendHelp = `usage: replayhook send --source NAME [flags] FILE

Post FILE to the source NAME of a running replayhook exactly as that
source's vendor sends it: signed with the source's first secret as the
vendor signs. The answer is printed; a non-2xx answer is exit status 1.

arguments:
  FILE           a delivery body (JSON), such as the samples in testdata/ and
                 providers/*/testdata/

flags:
  --source NAME  the source to post to (a name from the config's sources)
  --config PATH  the config file (default: $REPLAYHOOK_CONFIG, else ./config.yaml)
  --url URL      the server's base URL or the full webhook URL
                 (default: http://<server.addr>)
  -h, --help     print this help

examples:
  replayhook send --source autoplay testdata/autoplay-actions.json
  replayhook send --source posthog providers/posthog/testdata/webhook-destination-autocapture.json
  replayhook send --source autoplay --url http://127.0.0.1:9090 testdata/autoplay-actions.json`
