package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"time"

	"github.com/replayhook/replayhook/forward"
	"github.com/replayhook/replayhook/normalize"
)

// forwardTest sends one signed sample payload to a forward target, exactly
// as forwarding would (no queue, no retry), and prints the answer: the way
// to set a target up.
func forwardTest(ctx context.Context, args []string, getenv func(string) string, stdout io.Writer) error {
	fs := flag.NewFlagSet("forward-test", flag.ContinueOnError)
	cfgPath := fs.String("config", "", "config file")
	name := fs.String("target", "", "forward target name")
	if _, err := parseFlags(fs, args); err != nil {
		return err
	}
	cfg, _, err := loadConfig(*cfgPath, getenv)
	if err != nil {
		return err
	}
	if *name == "" {
		return errors.New("forward-test: --target NAME is required")
	}
	f := forward.New(cfg.Forward, forward.NewMemory(forward.Targets(cfg.Forward)), forward.Options{})
	if !f.Has(*name) {
		return fmt.Errorf("forward-test: no forward target %q in the config", *name)
	}
	var target string
	for _, t := range cfg.Forward {
		if t.Name == *name {
			target = t.URL
		}
	}
	now := time.Now()
	product := "replayhook_forward_test"
	for _, t := range cfg.Forward {
		if t.Name == *name && t.Products[0] != "*" {
			product = t.Products[0]
		}
	}
	session := "replayhook-forward-test"
	sample := normalize.ActionsPayload{
		Type: "actions", ProductID: product, SessionID: &session, Count: 1, ForwardedAt: normalize.UnixSeconds(now),
		Source: "replayhook", Provider: "forward-test",
		Actions: []normalize.SlimAction{{
			Index: 0, Type: "pageview", Title: "replayhook forward-test", Description: "A test payload sent by replayhook forward-test",
			TimestampStart: normalize.UnixSeconds(now), TimestampEnd: normalize.UnixSeconds(now),
			RawURL: "https://replayhook.invalid/forward-test", CanonicalURL: "https://replayhook.invalid/forward-test", SessionID: &session,
		}},
	}
	r, err := f.SendOnce(ctx, *name, sample)
	if err != nil {
		return err
	}
	fmt.Fprintf(stdout, "POST %s (target %s, delivery %s)\n", target, *name, r.Delivery)
	if r.Status >= 200 && r.Status < 300 {
		fmt.Fprintf(stdout, "-> %d in %s: the target accepted a signed sample payload\n", r.Status, r.Duration.Round(time.Millisecond))
		return nil
	}
	fmt.Fprintf(stdout, "-> %s after %s\n", r.Error, r.Duration.Round(time.Millisecond))
	if r.Status == 401 || r.Status == 403 {
		fmt.Fprintln(stdout, "hint: the receiver refused the signature: its secret must equal this target's secret")
	}
	return fmt.Errorf("forward-test: target %s did not accept the sample", *name)
}
