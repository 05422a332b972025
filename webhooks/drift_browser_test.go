package webhooks

import (
	"bytes"
	"context"
	"html"
	"io"
	"net/http"
	"net/http/httptest"
	"net/url"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/replayhook/replayhook/drift"

	"github.com/replayhook/replayhook/config"
	"github.com/replayhook/replayhook/index"
)

// chromium returns the path of Debian's chromium. Without it the test fails
// under CI (scripts/test installs it) and is skipped locally.
func chromium(t *testing.T) string {
	t.Helper()
	path, err := exec.LookPath("chromium")
	if err == nil {
		return path
	}
	if os.Getenv("CI") != "" {
		t.Fatal("chromium is not installed; scripts/test installs it (apt-get install -y chromium)")
	}
	t.Skip("chromium is not installed: sudo apt-get install -y chromium (or run scripts/test)")
	return ""
}

// runChromium runs headless chromium on target with args added, isolated
// from the network: every host name but 127.0.0.1 fails to resolve, and
// background services (updates, sync, QUIC) are off.
func runChromium(t *testing.T, bin, target string, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 90*time.Second)
	defer cancel()
	home := t.TempDir()
	all := append([]string{
		"--headless", "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
		"--disable-background-networking", "--disable-component-update", "--disable-sync",
		"--disable-default-apps", "--disable-extensions", "--mute-audio", "--hide-scrollbars",
		"--host-resolver-rules=MAP * ~NOTFOUND, EXCLUDE 127.0.0.1",
		"--user-data-dir=" + filepath.Join(home, "profile"),
	}, args...)
	all = append(all, target)
	cmd := exec.CommandContext(ctx, bin, all...)
	cmd.Env = append(os.Environ(), "HOME="+home, "XDG_CONFIG_HOME="+home, "XDG_CACHE_HOME="+home)
	var stdout, stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = &stdout, &stderr
	if err := cmd.Run(); err != nil {
		t.Fatalf("chromium %v: %v\n%s", args, err, stderr.Bytes())
	}
	return stdout.Bytes()
}

// externalRefs lists every src, href, action or CSS url() of page that is
// an absolute or protocol-relative URL other than data:, and any @import.
func externalRefs(page string) []string {
	ref := regexp.MustCompile(`(?i)(?:\b(?:src|href|action|srcset|poster|xlink:href|formaction)\s*=\s*["']?\s*|url\(\s*["']?\s*)([a-z][a-z0-9+.-]*:|//)|@import`)
	var out []string
	for _, m := range ref.FindAllStringSubmatch(page, -1) {
		if !strings.EqualFold(m[1], "data:") {
			out = append(out, m[0])
		}
	}
	return out
}

// TestDriftPageInBrowser renders GET /drift in headless chromium with HTTP
// Basic credentials in the URL, checks the rendered text of the verdict and
// of each section, that the browser asked the server for nothing but the
// page, and saves a phone-sized screenshot under artifacts/ (not committed).
func TestDriftPageInBrowser(t *testing.T) {
	bin := chromium(t)
	var d *drift.Memory
	h := newHarness(t, withDrift(&d), func(_ *config.Config, deps *Deps) { deps.Rejected = index.NewMemoryRejected(20) })
	driftScenario(t, h)
	bad := payloadSpec{session: "s1", ts: T0}.body()
	h.do(http.MethodPost, "/webhooks/autoplay", bad, sign(bad, "wrong-secret"))
	// An id with a zero-width space, which looks like usr_48213.
	if rec := h.get("/v1/users/"+url.PathEscape("usr_48213\u200b"), tokChat); rec.Code != http.StatusOK {
		t.Fatalf("lookup: %d %s", rec.Code, rec.Body)
	}

	var mu sync.Mutex
	var requests []string
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		mu.Lock()
		requests = append(requests, r.Method+" "+r.URL.RequestURI())
		mu.Unlock()
		h.srv.Handler().ServeHTTP(w, r)
	}))
	defer srv.Close()
	target := "http://viewer:" + tokChat + "@" + srv.Listener.Addr().String() + "/drift"

	// The served HTML itself refers to nothing outside the page.
	rec := h.do(http.MethodGet, "/drift", nil, http.Header{"Authorization": {"Basic " + basic("viewer", tokChat)}})
	if refs := externalRefs(rec.Body.String()); len(refs) > 0 {
		t.Errorf("the page refers to outside resources: %q", refs)
	}
	if refs := externalRefs(`<img src="https://cdn.example.com/x.png"><a href=//evil.example>x</a><link href="data:,">`); len(refs) != 2 {
		t.Errorf("externalRefs misses outside references: %q", refs) // the check itself must be able to fail
	}

	dom := string(runChromium(t, bin, target, "--dump-dom"))
	text := pageText(dom)
	for _, want := range []string{
		"50% of open payloads carry no user_id (and 1 more source); 11 chat lookups missed, 8 of them match a known user (2 by case, 2 but for white space, 2 once a prefix is removed, 1 by email, 1 through an anonymous id).",
		"Payloads without a user_id", "Fix", "posthog.identify(userId)",
		"Lookups that differ from a known user id only in case", "USR_48213",
		"Lookups that match a known user id once a prefix is removed", "auth0|48213 (prefix)",
		"Lookups that differ from a known user id only by white space", "acme 55 (whitespace)",
		"Lookups by email", "d***@example.com", "Lookups with an anonymous id", "ph_anon_1",
		"Lookups that match no known user", "nobody",
		"Sessions that carry more than one user_id", "anon_7f3a → usr_48213",
		"Emails on several user ids", "D***@example.com",
		"Rejected deliveries", "invalid_signature", "malformed_json", "unknown_source",
		"Late events", "Recent late sessions", "s5",
		"Recent rejected deliveries", "does not match the body", `no source is configured under the name "nope"`,
		"usr_48213 U+200B",
	} {
		if !strings.Contains(text, want) {
			t.Errorf("rendered page lacks %q", want)
		}
	}
	if !strings.Contains(dom, `id="verdict"`) {
		t.Fatalf("chromium did not render the page (credentials in the URL not used?):\n%s", dom)
	}

	if !strings.Contains(dom, `usr_48213<span class="mark" title="an invisible character">U+200B</span>`) {
		t.Errorf("the zero-width space is not marked in the rendered page")
	}
	checkNoMidWordBreaks(t, bin, h)

	artifacts := filepath.Join("..", "artifacts")
	if err := os.MkdirAll(artifacts, 0o755); err != nil {
		t.Fatal(err)
	}
	shot := filepath.Join(artifacts, "drift.png")
	_ = os.Remove(shot)
	runChromium(t, bin, target, "--screenshot="+mustAbs(t, shot), "--window-size=412,915")
	// The whole page on a phone, and the first screen on a desktop.
	full := filepath.Join(artifacts, "drift-full.png")
	runChromium(t, bin, target, "--screenshot="+mustAbs(t, full), "--window-size=412,7000")
	desk := filepath.Join(artifacts, "drift-desktop.png")
	runChromium(t, bin, target, "--screenshot="+mustAbs(t, desk), "--window-size=1280,1000")
	for _, f := range []string{shot, full, desk} {
		png, err := os.ReadFile(f)
		if err != nil || !bytes.HasPrefix(png, []byte("\x89PNG\r\n\x1a\n")) || len(png) < 10000 {
			t.Errorf("screenshot %s: %d bytes, %v", f, len(png), err)
		}
	}

	mu.Lock()
	defer mu.Unlock()
	if len(requests) == 0 {
		t.Fatal("the server saw no request")
	}
	for _, r := range requests {
		if r != "GET /drift" {
			t.Errorf("the browser asked for more than the page: %q (all: %v)", r, requests)
		}
	}
}

func mustAbs(t *testing.T, p string) string {
	t.Helper()
	a, err := filepath.Abs(p)
	if err != nil {
		t.Fatal(err)
	}
	return a
}

// checkNoMidWordBreaks renders the page at 1400 px and at phone width with
// a measuring script added (served by a test-only copy of the page, without
// the CSP that forbids scripts): at 1400 px no id in a table may be cut
// across lines (a code element laid out on two lines has two client
// rectangles); on a phone long ids may wrap, but no table cell may be
// wider than the screen.
func checkNoMidWordBreaks(t *testing.T, bin string, h *harness) {
	t.Helper()
	const probe = `<script>
var cut = [];
document.querySelectorAll("td code").forEach(function (c) { if (c.getClientRects().length > 1) cut.push(c.textContent); });
var wide = [];
document.querySelectorAll("td").forEach(function (td) { if (td.getBoundingClientRect().right > document.documentElement.clientWidth + 1) wide.push(td.textContent.trim()); });
document.body.setAttribute("data-cut", JSON.stringify(cut));
document.body.setAttribute("data-wide", JSON.stringify(wide));
</script>`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		rec := h.get("/drift?limit=50", tokChat)
		page := strings.Replace(rec.Body.String(), "</body>", probe+"</body>", 1)
		w.Header().Set("Content-Type", "text/html; charset=utf-8")
		_, _ = io.WriteString(w, page)
	}))
	defer srv.Close()
	attr := func(dom, name string) string {
		m := regexp.MustCompile(name + `="([^"]*)"`).FindStringSubmatch(dom)
		if m == nil {
			t.Fatalf("the probe did not run (no %s attribute)", name)
		}
		return html.UnescapeString(m[1])
	}
	desk := string(runChromium(t, bin, srv.URL, "--dump-dom", "--window-size=1400,1000"))
	if cut := attr(desk, "data-cut"); cut != "[]" {
		t.Errorf("at 1400 px these ids are cut across lines: %s", cut)
	}
	phone := string(runChromium(t, bin, srv.URL, "--dump-dom", "--window-size=412,915"))
	if wide := attr(phone, "data-wide"); wide != "[]" {
		t.Errorf("on a phone these cells are wider than the screen: %s", wide)
	}
}
