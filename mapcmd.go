package main

import (
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io"
	"slices"
	"strings"
	"time"

	"github.com/replayhook/replayhook/app"
	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/all"
	"github.com/replayhook/replayhook/providers/custom"
)

const mapHelp = `usage: replayhook map --source NAME [--config PATH] FILE|-

Run the source NAME's parse + map + validate on FILE (or standard input,
"-") without verifying anything and without a server, and print what
replayhook would store: each event's fields with the path each value came
from (custom sources), why an event was skipped, and each resulting payload
as the SDK's text and as JSON, with its flags (missing_user_id). Use it to
write a custom source's field map against a real sample before going live.
A body the source would refuse is exit status 1, with the reason.

flags:
  --source NAME  the source (a name from the config's sources)
  --config PATH  the config file (default: $REPLAYHOOK_CONFIG, else ./config.yaml)
  -h, --help     print this help

examples:
  replayhook map --source smartlook examples/vendors/smartlook/sample.json
  pbpaste | replayhook map --source my-vendor -`

func mapCommand(args []string, getenv func(string) string, stdin io.Reader, stdout io.Writer) error {
	fs := flag.NewFlagSet("map", flag.ContinueOnError)
	fs.SetOutput(io.Discard)
	cfgPath := fs.String("config", "", "")
	source := fs.String("source", "", "")
	pos, err := parseFlags(fs, args)
	if errors.Is(err, flag.ErrHelp) {
		fmt.Fprintln(stdout, mapHelp)
		return nil
	}
	if err != nil {
		return fmt.Errorf("%w (see replayhook map --help)", err)
	}
	if *source == "" || len(pos) != 1 {
		return errors.New("usage: replayhook map --source NAME [--config PATH] FILE|- (see replayhook map --help)")
	}
	_, sc, body, err := sourceAndBody(*cfgPath, *source, pos[0], getenv, stdin)
	if err != nil {
		return err
	}
	// The source is built as serve builds it, but never asked to verify:
	// an unsigned copy needs no secret.
	dry := *sc
	dry.Unsigned, dry.Secrets = true, nil
	sources, err := app.BuildSources(&config.Config{Sources: []config.Source{dry}}, all.Registry())
	if err != nil {
		return err
	}
	return mapBody(stdout, sc, sources[sc.Name].Provider, body, time.Now())
}

// mapBody prints what the source makes of body at now.
func mapBody(w io.Writer, sc *config.Source, p providers.Provider, body []byte, now time.Time) error {
	fmt.Fprintf(w, "source %s (provider %s)\n", sc.Name, sc.Provider)
	var d *providers.Delivery
	if cp, ok := p.(*custom.Provider); ok {
		res, err := cp.Mapper().Map(body)
		if err != nil {
			return rejected(w, err)
		}
		for i, e := range res.Events {
			printEvent(w, i, e)
		}
		d = cp.Mapper().Delivery(res, now)
	} else {
		var err error
		if d, err = p.Parse(&providers.Request{Body: body, Now: now}); err != nil {
			return rejected(w, err)
		}
	}
	id := d.ID
	if id == "" {
		id = "(none: the hash of the raw body)"
	}
	fmt.Fprintf(w, "\ndelivery id: %s\n", id)
	for _, ident := range d.Identities {
		fmt.Fprintf(w, "identity: anonymous_id %s -> user_id %s\n", ident.AnonymousID, ident.UserID)
	}
	payloads := slices.Concat(d.Payloads, normalize.Payloads(d.Events, now))
	stored, invalid := 0, 0
	v := normalize.NewValidator()
	for i := range payloads {
		pl := &payloads[i]
		if sc.ProductID != "" {
			pl.ProductID = sc.ProductID
		}
		pl.Flags = nil
		if pl.UserID == nil {
			pl.Flags = []string{normalize.FlagMissingUserID}
		}
		fmt.Fprintf(w, "\npayload %d: session %s, user %s, %d actions\n", i, orNone(pl.SessionID), orNone(pl.UserID), len(pl.Actions))
		if len(pl.Flags) > 0 {
			fmt.Fprintf(w, "flags: %s\n", strings.Join(pl.Flags, ", "))
		}
		switch err := v.Actions(pl); {
		case err != nil:
			invalid++
			fmt.Fprintf(w, "INVALID (replayhook would answer 422): %v\n", err)
		case pl.SessionID == nil:
			fmt.Fprintln(w, "not stored: no session_id (replayhook never stores session-less activity under a shared key)")
		default:
			stored++
		}
		fmt.Fprintln(w, "as the SDK's text:")
		fmt.Fprintln(w, "  Recent activity:")
		for j, a := range pl.Actions {
			fmt.Fprintf(w, "  %d. %s\n", j+1, index.ActionLine(a))
		}
		js, _ := json.MarshalIndent(pl, "  ", "  ") // a payload always marshals
		fmt.Fprintf(w, "as JSON:\n  %s\n", js)
	}
	switch {
	case invalid > 0:
		return fmt.Errorf("%d of %d payloads are invalid", invalid, len(payloads))
	case stored == 0 && len(d.Identities) == 0:
		reason := d.Ignored
		if reason == "" {
			reason = "no payload carries a session_id"
		}
		fmt.Fprintf(w, "\nignored: %s\n", reason)
	default:
		fmt.Fprintf(w, "\nstored: %d payloads\n", stored)
	}
	return nil
}

func printEvent(w io.Writer, i int, e custom.Mapped) {
	fmt.Fprintf(w, "\nevent %d\n", i)
	for _, v := range e.Values {
		val, from := v.Value, v.Source()
		if from == "" {
			val, from = "(blank)", "nothing found"
		}
		if v.Field == custom.FieldTimestamp && v.Value != "" {
			if e.Event.Time.IsZero() {
				from += "; unreadable as a time, the receive time is used"
			} else {
				from += "; read as " + e.Event.Time.Format(time.RFC3339Nano)
			}
		}
		fmt.Fprintf(w, "  %-14s %-40s <- %s\n", v.Field, val, from)
	}
	if e.Skipped != "" {
		fmt.Fprintf(w, "  skipped: %s\n", e.Skipped)
	}
}

func rejected(w io.Writer, err error) error {
	status := "422"
	if errors.Is(err, providers.ErrMalformedJSON) {
		status = "400"
	}
	fmt.Fprintf(w, "rejected (replayhook would answer %s): %v\n", status, err)
	return fmt.Errorf("the source refuses this body: %w", err)
}

func orNone(s *string) string {
	if s == nil {
		return "(none)"
	}
	return *s
}
