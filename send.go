package main

import (
	"bytes"
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"sort"
	"strings"
	"time"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
)

const sendHelp = `usage: replayhook send --source NAME [flags] FILE|-

Post FILE (or standard input, "-") to the source NAME of a running replayhook
exactly as that source's vendor sends it: the vendor's own signature or
header, computed with the source's first secret, or for a source with
url_token: true and a vendor that sets no header (Highlight), the secret as
?token= in the URL and no header at all. PostHog sends the literal secret in
X-PostHog-Secret, as a PostHog destination does. The answer is printed; a
non-2xx answer is exit status 1.

arguments:
  FILE           a delivery body (JSON); "-" reads it from standard input

flags:
  --source NAME  the source to post to (a name from the config's sources)
  --config PATH  the config file (default: $REPLAYHOOK_CONFIG, else ./config.yaml)
  --url URL      the server's base URL or the full webhook URL
                 (default: http://<server.addr>)
  --now          restamp the body first: its timestamps moved so the newest is
                 now (same format, same spacing) and its delivery ids
                 (messageId, uuid, event_id, insert_id) made new, so a shipped
                 sample is fresh (linked to its user) and not a duplicate;
                 a Highlight alert has neither, and is a duplicate again only
                 within 5 minutes
  -v             print the exact request sent (method, URL, headers, body)
                 before the answer; it shows the secret or token it carries
  -h, --help     print this help

examples:
  replayhook send --source autoplay testdata/autoplay-actions.json
  replayhook send --source posthog --now providers/posthog/testdata/webhook-destination-autocapture.json
  curl -s https://example.com/event.json | replayhook send --source segment -
  replayhook send --source highlight -v --url http://127.0.0.1:8080 providers/highlight/testdata/new-session-alert.json`

func send(ctx context.Context, args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "")
	source := fs.String("source", "", "")
	target := fs.String("url", "", "")
	now := fs.Bool("now", false, "")
	verbose := fs.Bool("v", false, "")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, sendHelp)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (see replayhook send --help)", err)
	}
	if *source == "" || len(pos) != 1 {
		return errors.New("usage: replayhook send --source NAME [--config PATH] [--url URL] [--now] [-v] FILE|- (see replayhook send --help)")
	}
	cfg, sc, body, err := sourceAndBody(*cfgPath, *source, pos[0], getenv, stdin)
	if err != nil {
		return err
	}
	if *now {
		body = restamp(body, time.Now())
	}
	sources, err := app.BuildSources(&config.Config{Sources: []config.Source{*sc}}, all.Registry())
	if err != nil {
		return err
	}
	req, err := vendorRequest(ctx, sources[sc.Name].Provider, sc, webhookURL(*target, cfg.Server.Addr, sc.Name), body, time.Now())
	if err != nil {
		return err
	}
	if *verbose {
		printRequest(stdout, req, body)
	}
	resp, err := (&http.Client{Timeout: 30 * time.Second}).Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	out, _ := io.ReadAll(io.LimitReader(resp.Body, 1<<20))
	fmt.Fprintf(stdout, "%s %s\n%s\n", resp.Proto, resp.Status, strings.TrimSpace(string(out)))
	if resp.StatusCode >= 300 {
		return fmt.Errorf("server answered %s", resp.Status)
	}
	return nil
}

// findSource is the configured source name, or an error listing them all.
// sourceAndBody is where send and map both start: the configuration at
// cfgPath, its source named source, and the delivery read from file ("-"
// is standard input).
func sourceAndBody(cfgPath, source, file string, getenv func(string) string, stdin io.Reader) (*config.Config, *config.Source, []byte, error) {
	cfg, _, err := loadConfig(cfgPath, getenv)
	if err != nil {
		return nil, nil, nil, err
	}
	sc, err := findSource(cfg, source)
	if err != nil {
		return nil, nil, nil, err
	}
	body, err := readInput(file, stdin)
	if err != nil {
		return nil, nil, nil, err
	}
	return cfg, sc, body, nil
}

func findSource(cfg *config.Config, name string) (*config.Source, error) {
	var names []string
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == name {
			return &cfg.Sources[i], nil
		}
		names = append(names, cfg.Sources[i].Name)
	}
	sort.Strings(names)
	if len(names) == 0 {
		return nil, fmt.Errorf("no source %q: the config has no sources", name)
	}
	return nil, fmt.Errorf("no source %q in the config (configured: %s)", name, strings.Join(names, ", "))
}

func readInput(path string, stdin io.Reader) ([]byte, error) {
	const limit = 64 << 20 // far above any server.max_body_bytes
	var r io.Reader
	if path == "-" {
		r = stdin
	} else {
		f, err := os.Open(path)
		if err != nil {
			return nil, err
		}
		defer f.Close()
		r = f
	}
	b, err := io.ReadAll(io.LimitReader(r, limit+1))
	if err == nil && len(b) > limit {
		err = fmt.Errorf("%s is larger than %d bytes", path, limit)
	}
	return b, err
}

// webhookURL is --url as given when it names a webhook, else the base URL
// (default http://<server.addr>) with /webhooks/<source>.
func webhookURL(target, addr, source string) string {
	if target == "" {
		target = "http://" + addr
	}
	if strings.Contains(target, "/webhooks/") {
		return target
	}
	return strings.TrimRight(target, "/") + "/webhooks/" + url.PathEscape(source)
}

// vendorRequest is the request the source's vendor sends for body: its
// Signer's headers and, for a URL-token source, the token in the query.
func vendorRequest(ctx context.Context, p providers.Provider, sc *config.Source, target string, body []byte, now time.Time) (*http.Request, error) {
	header := http.Header{"Content-Type": {"application/json"}}
	if len(sc.Secrets) > 0 {
		if signer, ok := p.(providers.Signer); ok {
			header = signer.Sign(body, sc.Secrets[0], now)
		}
		if qs, ok := p.(providers.QuerySigner); ok {
			if q := qs.SignQuery(sc.Secrets[0]); q != nil {
				u, err := url.Parse(target)
				if err != nil {
					return nil, err
				}
				vals := u.Query()
				for k, v := range q {
					vals[k] = v
				}
				u.RawQuery = vals.Encode()
				target = u.String()
			}
		}
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, target, bytes.NewReader(body))
	if err != nil {
		return nil, err
	}
	req.Header = header
	return req, nil
}

// printRequest writes req as it goes on the wire (HTTP/1.1 framing aside).
func printRequest(w io.Writer, req *http.Request, body []byte) {
	fmt.Fprintf(w, "> %s %s\n", req.Method, req.URL)
	names := make([]string, 0, len(req.Header))
	for k := range req.Header {
		names = append(names, k)
	}
	sort.Strings(names)
	for _, k := range names {
		for _, v := range req.Header[k] {
			fmt.Fprintf(w, "> %s: %s\n", k, v)
		}
	}
	fmt.Fprintf(w, ">\n%s\n\n", bytes.TrimRight(body, "\n"))
}
