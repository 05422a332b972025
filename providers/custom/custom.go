// Package custom is the config-driven adapter: a source with provider
// custom is verified by one of the kit's schemes chosen by options and
// mapped by gjson paths, so an operator adds a vendor in the config file
// alone and it gets the same pipeline as a built-in one. `replayhook map`
// runs the same Mapper offline on a sample.
package custom

import (
	"errors"
	"net/http"
	"strconv"
	"time"

	"github.com/replayhook/replayhook/normalize"
	"github.com/replayhook/replayhook/providers"
)

// Name is the provider name used in config.
const Name = "custom"

// Provider verifies and maps one custom source's deliveries.
type Provider struct {
	*providers.Auth
	mapper *Mapper
}

// New builds the provider from s.Custom, which must be the source's *Spec.
// The verify scheme comes from the Spec; url_token also turns on the
// URL-token switch every source shares.
func New(s providers.Settings) (providers.Provider, error) {
	spec, ok := s.Custom.(*Spec)
	if !ok || spec == nil {
		return nil, errors.New("custom: the source has no custom: block")
	}
	m, err := Compile(spec)
	if err != nil {
		return nil, err
	}
	v := spec.Verify
	if v.Scheme == "none" && !s.Unsigned {
		return nil, errors.New("custom: verify scheme none needs unsigned: true on the source (local development only)")
	}
	if v.Scheme == "url_token" {
		s.URLToken = true
	}
	auth, err := providers.NewAuth(s, providers.AuthSpec{
		Vendor: Name, NoSecret: "configure the secret the vendor signs with (or sends as a token)",
		Headerless: v.Scheme == "url_token",
	}, scheme(v, s.Tolerance))
	if err != nil {
		return nil, err
	}
	return &Provider{Auth: auth, mapper: m}, nil
}

// Mapper is the source's compiled mapping.
func (p *Provider) Mapper() *Mapper { return p.mapper }

// Parse maps the body into events; events a filter skips (or whose action
// type is unknown) are dropped, and a delivery where every event is
// dropped is acknowledged with the first reason. Anonymous ids seen with a
// user id are linked to it.
func (p *Provider) Parse(req *providers.Request) (*providers.Delivery, error) {
	res, err := p.mapper.Map(req.Body)
	if err != nil {
		return nil, err
	}
	return p.mapper.Delivery(res, req.Now), nil
}

// Delivery turns a Result into what ingest stores. Events with a mapped
// canonical_url become ready-made payloads (normalize derives it from
// raw_url otherwise).
func (m *Mapper) Delivery(res *Result, now time.Time) *providers.Delivery {
	d := &providers.Delivery{ID: res.ID}
	if len(res.Events) == 0 {
		d.Ignored = "custom delivery holds no events"
		return d
	}
	var first string
	var canon []string
	kept := 0
	for _, e := range res.Events {
		if e.Skipped != "" {
			if first == "" {
				first = e.Skipped
			}
			continue
		}
		kept++
		ev := e.Event
		if u, a := normalize.CleanID(ev.UserID), normalize.CleanID(ev.AnonymousID); u != "" && a != "" {
			d.Identities = normalize.AddIdentity(d.Identities, normalize.Identity{AnonymousID: a, UserID: u, Email: normalize.CleanID(ev.Email)})
		}
		d.Events = append(d.Events, ev)
		canon = append(canon, e.CanonicalURL)
	}
	if m.canonical && len(d.Events) > 0 {
		d.Payloads = withCanonical(normalize.Payloads(d.Events, now), d.Events, canon)
		d.Events = nil
	}
	if kept == 0 {
		d.Ignored = first
		if len(res.Events) > 1 {
			d.Ignored = "custom batch of " + strconv.Itoa(len(res.Events)) + " events, all ignored; first: " + first
		}
	}
	return d
}

// withCanonical sets the mapped canonical_url of each event on its action
// in payloads, which normalize.Payloads grouped by product and session in
// order of the events.
func withCanonical(payloads []normalize.ActionsPayload, events []normalize.Event, canon []string) []normalize.ActionsPayload {
	for pi := range payloads {
		p := &payloads[pi]
		ai := 0
		for i, e := range events {
			if normalize.CleanID(e.ProductID) != p.ProductID || normalize.CleanID(e.SessionID) != normalize.Str(p.SessionID) {
				continue
			}
			if ai < len(p.Actions) && canon[i] != "" {
				p.Actions[ai].CanonicalURL = canon[i]
			}
			ai++
		}
	}
	return payloads
}

// refuseAll is the scheme of verify: none; the source is unsigned, so Auth
// never asks it (New refuses none on a signed source).
type refuseAll struct{}

func (refuseAll) Verify(*providers.Request) error {
	return providers.Reject(providers.ErrInvalidSignature, "verify scheme none accepts unsigned sources only")
}
func (refuseAll) Present(*providers.Request) bool             { return false }
func (refuseAll) Sign(http.Header, []byte, string, time.Time) {}
func (refuseAll) Describe() string                            { return "nothing (verify: none)" }

// IdentifyFix tells the drift page where this source's user id is read.
func (p *Provider) IdentifyFix() string {
	return "Custom source: make the vendor send the user id at the path `fields.user_id` maps (" + p.mapper.userPaths() + "), " +
		"and check a sample with `replayhook map --source NAME sample.json`."
}
