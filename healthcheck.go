package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"time"
)

var healthcheckHelp = help{
	Summary: "ask a running server whether it is alive; exit 0 if so, 1 if not",
	Usage:   "healthcheck [--url URL] [--timeout DURATION] [--config PATH]",
	Description: `
GETs the server's /livez and exits 0 on a 2xx answer, 1 otherwise (not
listening, wedged, timeout). It needs no shell, curl or wget, so it is what
the Docker image's HEALTHCHECK runs on distroless. It asks /livez, not
/readyz, because orchestrators restart unhealthy containers and a Redis
outage must not become a restart loop; pass --url .../readyz to ask whether
the server takes traffic. Without --url it reads the configuration (as
serve does) and asks server.addr's port on 127.0.0.1 (or server.addr's host
when it is a specific address).

Flags:
  --url URL            the URL to ask; default http://<server.addr>/livez
  --timeout DURATION   give up after this long (default 2s)
` + configFlagHelp,
	Examples: []string{
		"replayhook healthcheck",
		"replayhook healthcheck --url http://127.0.0.1:8080/readyz  # takes traffic?",
		`HEALTHCHECK CMD ["/replayhook", "healthcheck"]            # in a Dockerfile`,
	},
}

func healthcheck(ctx context.Context, args []string, getenv func(string) string, stdout, _ io.Writer) error {
	fs := flag.NewFlagSet("healthcheck", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	url := fs.String("url", "", "URL to GET")
	timeout := fs.Duration("timeout", 2*time.Second, "give up after")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if len(pos) > 0 {
		return fmt.Errorf("healthcheck takes no arguments, got %q", pos[0])
	}
	if *url == "" {
		cfg, _, err := loadConfig(*cfgPath, getenv)
		if err != nil {
			return err
		}
		*url = "http://" + dialAddr(cfg.Server.Addr) + "/livez"
	}
	ctx, cancel := context.WithTimeout(ctx, *timeout)
	defer cancel()
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, *url, nil)
	if err != nil {
		return err
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		if errors.Is(err, context.DeadlineExceeded) {
			return fmt.Errorf("unhealthy: %s did not answer within %s", *url, *timeout)
		}
		return fmt.Errorf("unhealthy: %w", err)
	}
	defer resp.Body.Close()
	_, _ = io.Copy(io.Discard, io.LimitReader(resp.Body, 64<<10))
	if resp.StatusCode < 200 || resp.StatusCode > 299 {
		return fmt.Errorf("unhealthy: %s answered %s", *url, resp.Status)
	}
	fmt.Fprintf(stdout, "healthy: %s answered %s\n", *url, resp.Status)
	return nil
}

// dialAddr is where a client on this host reaches a server listening on
// addr: a wildcard host (":8080", "0.0.0.0:8080", "[::]:8080") becomes
// 127.0.0.1.
func dialAddr(addr string) string {
	host, port, err := net.SplitHostPort(addr)
	if err != nil {
		return addr
	}
	if ip := net.ParseIP(host); host == "" || (ip != nil && ip.IsUnspecified()) {
		host = "127.0.0.1"
	}
	return net.JoinHostPort(host, port)
}
