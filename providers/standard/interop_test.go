package standard

import (
	"bytes"
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/providertest"
)

// The interop tests check our scheme against an implementation we did not
// write: the npm "standardwebhooks" package (the Standard Webhooks
// project's own TypeScript library), driven by scripts/interop/sign.mjs.
// They need node and `npm ci --prefix scripts/interop`; under CI (env CI
// set) their absence fails the test, elsewhere it skips it.

const interopInstall = "npm ci --prefix scripts/interop (from the repository root; node and npm from Debian: apt-get install nodejs npm)"

// interop returns a function that runs sign.mjs with args and returns its
// trimmed output and whether it exited 0.
func interop(t *testing.T) func(args ...string) (string, bool) {
	t.Helper()
	dir, err := filepath.Abs(filepath.Join("..", "..", "scripts", "interop"))
	if err != nil {
		t.Fatal(err)
	}
	missing := func(what string) {
		t.Helper()
		msg := what + "; run: " + interopInstall
		if os.Getenv("CI") != "" {
			t.Fatal(msg)
		}
		t.Skip(msg)
	}
	node, err := exec.LookPath("node")
	if err != nil {
		missing("node is not installed")
	}
	if _, err := os.Stat(filepath.Join(dir, "node_modules", "standardwebhooks", "package.json")); err != nil {
		missing("scripts/interop/node_modules/standardwebhooks is not installed")
	}
	return func(args ...string) (string, bool) {
		t.Helper()
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, append([]string{filepath.Join(dir, "sign.mjs")}, args...)...)
		var out, stderr bytes.Buffer
		cmd.Stdout, cmd.Stderr = &out, &stderr
		err := cmd.Run()
		if _, exited := err.(*exec.ExitError); err != nil && !exited {
			t.Fatalf("running node: %v", err)
		}
		if stderr.Len() > 0 {
			t.Logf("sign.mjs stderr: %s", stderr.String())
		}
		return strings.TrimSpace(out.String()), err == nil
	}
}

func fixturePaths(t *testing.T) []string {
	t.Helper()
	files, err := filepath.Glob("testdata/*.json")
	if err != nil || len(files) == 0 {
		t.Fatalf("no fixtures: %v", err)
	}
	sort.Strings(files)
	return files
}

// TestInteropTheirSignatureVerifies: a delivery signed by the npm package is
// accepted by our Verify, for every fixture and both secrets, and under the
// svix-* header names too.
func TestInteropTheirSignatureVerifies(t *testing.T) {
	run := interop(t)
	p := providertest.New[*Provider](t, New, settings())
	ts := strconv.FormatInt(now.Unix(), 10)

	// The reference vector first: the package must agree with it, or the
	// comparison below proves nothing.
	vector := filepath.Join(t.TempDir(), "vector.json")
	if err := os.WriteFile(vector, []byte(`{"test": 2432232314}`), 0o600); err != nil {
		t.Fatal(err)
	}
	if sig, _ := run(specSecret, "msg_p5jXN8AQM9LWM0D4loKWxJek", "1614265330", vector); sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("the npm package signs the reference vector as %q", sig)
	}

	for i, path := range fixturePaths(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for j, secret := range settings().Secrets {
			id := fmt.Sprintf("msg_interop_%d_%d", i, j)
			t.Run(fmt.Sprintf("%s secret #%d", filepath.Base(path), j+1), func(t *testing.T) {
				sig, ok := run(secret, id, ts, path)
				if !ok || !strings.HasPrefix(sig, "v1,") {
					t.Fatalf("sign.mjs failed: %q", sig)
				}
				h := header(id, ts, sig)
				if err := p.Verify(&providers.Request{Header: h, Body: body, Now: now}); err != nil {
					t.Fatalf("their signature %s rejected: %v", sig, err)
				}
				svix := svixSigner{p}.Sign(body, secret, now) // only for the names
				svix.Set(SvixIDHeader, id)
				svix.Set(SvixSignatureHeader, sig)
				if err := p.Verify(&providers.Request{Header: svix, Body: body, Now: now}); err != nil {
					t.Fatalf("their signature under svix-* names rejected: %v", err)
				}
				tampered := append(append([]byte(nil), body...), '\n')
				if err := p.Verify(&providers.Request{Header: h, Body: tampered, Now: now}); err == nil {
					t.Fatal("their signature verified a different body")
				}
			})
		}
	}
}

// TestInteropOurSignatureVerifies: headers from our Signer are accepted by
// the npm package's Webhook.verify. The package checks the timestamp
// against its own clock, so these deliveries are signed at time.Now().
func TestInteropOurSignatureVerifies(t *testing.T) {
	run := interop(t)
	p := providertest.New[*Provider](t, New, settings())
	for _, path := range fixturePaths(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		t.Run(filepath.Base(path), func(t *testing.T) {
			for _, secret := range settings().Secrets {
				h := p.Sign(body, secret, time.Now())
				if out, ok := run("--verify", secret, h.Get(IDHeader), h.Get(TimestampHeader), h.Get(SignatureHeader), path); !ok {
					t.Fatalf("the npm package rejects our signature: %s", out)
				}
			}
			// And it does reject what it should: the test can fail.
			h := p.Sign(body, rotatedSecret, time.Now())
			if out, ok := run("--verify", specSecret, h.Get(IDHeader), h.Get(TimestampHeader), h.Get(SignatureHeader), path); ok {
				t.Fatalf("the npm package accepted a signature made with another secret: %s", out)
			}
		})
	}
}
