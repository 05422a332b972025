package webhooks

import (
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"net/http/httptest"
	"sync"
	"sync/atomic"
	"testing"
	"time"

	"github.com/replayhook/replayhook/config"
)

// TestSoakNothingAcknowledgedIsLost drives the real HTTP stack on loopback
// with many concurrent signed deliveries for thousands of users, mixed with
// lookups and resets. Afterwards every delivery answered 2xx is visible
// through the lookup API (except for users that were reset), and the stores
// never exceeded their bounds. Bounded in count; a few seconds under -race.
func TestSoakNothingAcknowledgedIsLost(t *testing.T) {
	if testing.Short() {
		t.Skip("soak test skipped with -short")
	}
	const (
		users       = 3000
		sessionsPer = 3
		resetUsers  = 100 // u-0 … u-99 are reset while deliveries arrive
		workers     = 16
	)
	h := newHarness(t, func(c *config.Config, d *Deps) {
		c.Index.MaxUsers = users
		c.Index.MaxSessionsPerUser = sessionsPer
		c.Activity.MaxSessions = users * sessionsPer
		c.Activity.MaxActionsPerSession = 10
		c.Server.MaxConcurrentIngests = 8 // small, so back-pressure (503) really happens
	})
	srv := httptest.NewServer(h.srv.Handler())
	defer srv.Close()
	client := srv.Client()
	client.Transport.(*http.Transport).MaxIdleConnsPerHost = workers

	type job struct{ user, session int }
	jobs := make(chan job)
	var acked sync.Map // "u/s" → true
	var accepted, overloaded, lookups, resets atomic.Int64
	stopLoad := make(chan struct{})

	post := func(j job) {
		body := payloadSpec{product: "prod_demo", session: fmt.Sprintf("s-%d-%d", j.user, j.session), user: fmt.Sprintf("u-%d", j.user),
			ts: T0.Add(-time.Second), actions: []string{"click|User clicked Buy|https://shop.example.com/p/" + fmt.Sprint(j.user)}}.body()
		for attempt := 0; ; attempt++ {
			req, _ := http.NewRequest(http.MethodPost, srv.URL+"/webhooks/autoplay", bytes.NewReader(body))
			req.Header = sign(body, secretNew)
			resp, err := client.Do(req)
			if err != nil {
				t.Errorf("post: %v", err)
				return
			}
			if _, err := io.Copy(io.Discard, resp.Body); err != nil {
				resp.Body.Close()
				t.Errorf("post: read body: %v", err)
				return
			}
			resp.Body.Close()
			switch {
			case resp.StatusCode == 200:
				accepted.Add(1)
				acked.Store(fmt.Sprintf("%d/%d", j.user, j.session), true)
				return
			case resp.StatusCode == 503 && resp.Header.Get("Retry-After") != "":
				overloaded.Add(1) // a vendor retries; so do we
				time.Sleep(time.Millisecond)
			default:
				t.Errorf("delivery %v: status %d", j, resp.StatusCode)
				return
			}
		}
	}
	var wg sync.WaitGroup
	for w := 0; w < workers; w++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for j := range jobs {
				post(j)
			}
		}()
	}
	// Readers: lookups of random users and resets of the reset set.
	var rg sync.WaitGroup
	for r := 0; r < 4; r++ {
		rg.Add(1)
		go func(r int) {
			defer rg.Done()
			rng := rand.New(rand.NewPCG(uint64(r), 7))
			for {
				select {
				case <-stopLoad:
					return
				default:
				}
				u := rng.IntN(users)
				method, path := http.MethodGet, fmt.Sprintf("/v1/users/u-%d/activity", u)
				if r == 0 {
					method, path = http.MethodDelete, fmt.Sprintf("/v1/users/u-%d", rng.IntN(resetUsers))
				}
				req, _ := http.NewRequest(method, srv.URL+path, nil)
				req.Header.Set("Authorization", "Bearer "+tokChat)
				resp, err := client.Do(req)
				if err != nil {
					t.Errorf("lookup: %v", err)
					return
				}
				if _, err := io.Copy(io.Discard, resp.Body); err != nil {
					resp.Body.Close()
					t.Errorf("lookup: read body: %v", err)
					return
				}
				resp.Body.Close()
				if resp.StatusCode != 200 && resp.StatusCode != 204 {
					t.Errorf("%s %s: %d", method, path, resp.StatusCode)
				}
				if r == 0 {
					resets.Add(1)
				} else {
					lookups.Add(1)
				}
				if n := h.users.Len(); n > users {
					t.Errorf("users %d > bound %d", n, users)
				}
			}
		}(r)
	}
	for s := 0; s < sessionsPer; s++ {
		for u := 0; u < users; u++ {
			jobs <- job{u, s}
		}
	}
	close(jobs)
	wg.Wait()
	close(stopLoad)
	rg.Wait()
	t.Logf("accepted %d, answered 503 then retried %d, lookups %d, resets %d", accepted.Load(), overloaded.Load(), lookups.Load(), resets.Load())

	if got, want := accepted.Load(), int64(users*sessionsPer); got != want {
		t.Fatalf("accepted %d deliveries, want %d", got, want)
	}
	for u := resetUsers; u < users; u++ {
		rec := h.get(fmt.Sprintf("/v1/users/u-%d", u), tokChat)
		var got UserResponse
		if err := json.Unmarshal(rec.Body.Bytes(), &got); err != nil {
			t.Fatal(err)
		}
		have := map[string]bool{}
		for _, s := range got.Sessions {
			have[s.SessionID] = true
		}
		for s := 0; s < sessionsPer; s++ {
			if _, ok := acked.Load(fmt.Sprintf("%d/%d", u, s)); !ok {
				t.Fatalf("delivery %d/%d never acknowledged", u, s)
			}
			if !have[fmt.Sprintf("s-%d-%d", u, s)] {
				t.Fatalf("acknowledged session s-%d-%d of u-%d is not visible: %+v", u, s, u, got)
			}
		}
	}
	if n := h.users.Len(); n > users {
		t.Fatalf("users %d > bound %d", n, users)
	}
	if n := h.act.Len(); n > users*sessionsPer {
		t.Fatalf("sessions %d > bound %d", n, users*sessionsPer)
	}
}

// TestBoundsHoldThroughHTTP: many more distinct users and sessions than the
// configured limits, through the ingest handler: every store stays within
// its bound.
func TestBoundsHoldThroughHTTP(t *testing.T) {
	h := newHarness(t, func(c *config.Config, d *Deps) {
		c.Index.MaxUsers = 50
		c.Activity.MaxSessions = 80
		c.Activity.MaxActionsPerSession = 3
		c.Dedupe.MaxKeys = 100
	})
	for i := 0; i < 1000; i++ {
		p := payloadSpec{product: "prod_demo", session: fmt.Sprintf("s-%d", i%400), user: fmt.Sprintf("u-%d", i),
			ts: T0.Add(-time.Second), actions: []string{"click|a|/x", "click|b|/x"}}
		if rec := h.post("autoplay", p.body()); rec.Code != 200 {
			t.Fatalf("%d %s", rec.Code, rec.Body)
		}
	}
	if h.users.Len() > 50 || h.act.Len() > 80 || h.dedupe.Len() > 100 {
		t.Fatalf("bounds exceeded: users %d/50 sessions %d/80 dedupe %d/100", h.users.Len(), h.act.Len(), h.dedupe.Len())
	}
	s := decode[SessionResponse](t, h.get("/v1/sessions/s-199?product_id=prod_demo", tokChat))
	// s-199 was evicted and written again by the last payload (i=999): it
	// holds that payload's 2 actions; actions per session stay within 3.
	if len(s.Actions) != 2 {
		t.Fatalf("want the last payload's 2 actions, got %d", len(s.Actions))
	}
	many := payloadSpec{product: "prod_demo", session: "s-many", user: "u-many", ts: T0.Add(-time.Second),
		actions: []string{"click|a|/x", "click|b|/x", "click|c|/x", "click|d|/x", "click|e|/x"}}
	h.post("autoplay", many.body())
	if s := decode[SessionResponse](t, h.get("/v1/sessions/s-many?product_id=prod_demo", tokChat)); len(s.Actions) != 3 || s.Actions[0].Description != "c" {
		t.Fatalf("actions per session not bounded to the newest 3: %+v", s.Actions)
	}
}
