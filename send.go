package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"net/http"
	"os"
	"strings"
	"time"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
)

func send(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("send", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	source := fs.String("source", "", "source name from the config")
	target := fs.String("url", "", "server base URL or full webhook URL (default: http://<server.addr>)")
	pos, err := parseFlags(fs, args)
	if err != nil {
		return err
	}
	if *source == "" || len(pos) != 1 {
		return errors.New("usage: replayhook send --source NAME FILE [--config PATH] [--url URL]")
	}
	cfg, _, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	var sc *config.Source
	for i := range cfg.Sources {
		if cfg.Sources[i].Name == *source {
			sc = &cfg.Sources[i]
		}
	}
	if sc == nil {
		return fmt.Errorf("no source %q in the config", *source)
	}
	body, err := os.ReadFile(pos[0])
	if err != nil {
		return err
	}
	sources, err := app.BuildSources(&config.Config{Sources: []config.Source{*sc}}, all.Registry())
	if err != nil {
		return err
	}
	header := http.Header{"Content-Type": {"application/json"}}
	if signer, ok := sources[sc.Name].Provider.(providers.Signer); ok && len(sc.Secrets) > 0 {
		for k, v := range signer.Sign(body, sc.Secrets[0], time.Now()) {
			header[k] = v
		}
	}
	url := *target
	if url == "" {
		url = "http://" + cfg.Server.Addr
	}
	if !strings.Contains(url, "/webhooks/") {
		url = strings.TrimRight(url, "/") + "/webhooks/" + sc.Name
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, url, strings.NewReader(string(body)))
	if err != nil {
		return err
	}
	req.Header = header
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
