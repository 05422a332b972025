package standard

import (
	"bytes"
	"context"
	"encoding/json"
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

// interopReq is one request to sign.mjs --batch: sign body, or verify its
// signature.
type interopReq struct {
	Op        string `json:"op"` // "sign" or "verify"
	Secret    string `json:"secret"`
	ID        string `json:"id"`
	Timestamp string `json:"timestamp"`
	Signature string `json:"signature,omitempty"`
	Body      string `json:"body"`
}

// interopRes is its answer: the signature, "ok", or the package's error.
type interopRes struct {
	OK  bool   `json:"ok"`
	Out string `json:"out"`
}

// interop returns a function that runs every request through one node
// process (sign.mjs --batch) and returns the answers in order.
func interop(t *testing.T) func(reqs []interopReq) []interopRes {
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
	return func(reqs []interopReq) []interopRes {
		t.Helper()
		var in bytes.Buffer
		enc := json.NewEncoder(&in)
		for _, r := range reqs {
			if err := enc.Encode(r); err != nil {
				t.Fatal(err)
			}
		}
		ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
		defer cancel()
		cmd := exec.CommandContext(ctx, node, filepath.Join(dir, "sign.mjs"), "--batch")
		var out, stderr bytes.Buffer
		cmd.Stdin, cmd.Stdout, cmd.Stderr = &in, &out, &stderr
		if err := cmd.Run(); err != nil {
			t.Fatalf("running node: %v\n%s", err, stderr.Bytes())
		}
		var res []interopRes
		dec := json.NewDecoder(&out)
		for dec.More() {
			var r interopRes
			if err := dec.Decode(&r); err != nil {
				t.Fatalf("sign.mjs answered %v", err)
			}
			res = append(res, r)
		}
		if len(res) != len(reqs) {
			t.Fatalf("sign.mjs answered %d of %d requests\n%s", len(res), len(reqs), stderr.Bytes())
		}
		return res
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
	reqs := []interopReq{{Op: "sign", Secret: specSecret, ID: "msg_p5jXN8AQM9LWM0D4loKWxJek", Timestamp: "1614265330", Body: `{"test": 2432232314}`}}
	type vector struct {
		name, id, secret string
		body             []byte
	}
	var vectors []vector
	for i, path := range fixturePaths(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for j, secret := range settings().Secrets {
			v := vector{fmt.Sprintf("%s secret #%d", filepath.Base(path), j+1), fmt.Sprintf("msg_interop_%d_%d", i, j), secret, body}
			vectors = append(vectors, v)
			reqs = append(reqs, interopReq{Op: "sign", Secret: secret, ID: v.id, Timestamp: ts, Body: string(body)})
		}
	}
	res := run(reqs)
	if sig := res[0].Out; sig != "v1,g0hM9SsE+OTPJTGt/tmIKtSyZlE3uFJELVlNIOLJ1OE=" {
		t.Fatalf("the npm package signs the reference vector as %q", sig)
	}
	for i, v := range vectors {
		t.Run(v.name, func(t *testing.T) {
			sig := res[i+1].Out
			if !res[i+1].OK || !strings.HasPrefix(sig, "v1,") {
				t.Fatalf("sign.mjs failed: %q", sig)
			}
			h := header(v.id, ts, sig)
			if err := p.Verify(&providers.Request{Header: h, Body: v.body, Now: now}); err != nil {
				t.Fatalf("their signature %s rejected: %v", sig, err)
			}
			svix := svixSigner{p}.Sign(v.body, v.secret, now) // only for the names
			svix.Set(SvixIDHeader, v.id)
			svix.Set(SvixSignatureHeader, sig)
			if err := p.Verify(&providers.Request{Header: svix, Body: v.body, Now: now}); err != nil {
				t.Fatalf("their signature under svix-* names rejected: %v", err)
			}
			tampered := append(append([]byte(nil), v.body...), '\n')
			if err := p.Verify(&providers.Request{Header: h, Body: tampered, Now: now}); err == nil {
				t.Fatal("their signature verified a different body")
			}
		})
	}
}

// TestInteropOurSignatureVerifies: headers from our Signer are accepted by
// the npm package's Webhook.verify, and one made with another secret is
// not (the test can fail). The package checks the timestamp against its own
// clock, so these deliveries are signed at time.Now().
func TestInteropOurSignatureVerifies(t *testing.T) {
	run := interop(t)
	p := providertest.New[*Provider](t, New, settings())
	type check struct {
		name string
		want bool
	}
	var checks []check
	var reqs []interopReq
	verify := func(name string, want bool, body []byte, signedWith, verifiedWith string) {
		h := p.Sign(body, signedWith, time.Now())
		checks = append(checks, check{name, want})
		reqs = append(reqs, interopReq{Op: "verify", Secret: verifiedWith, ID: h.Get(IDHeader),
			Timestamp: h.Get(TimestampHeader), Signature: h.Get(SignatureHeader), Body: string(body)})
	}
	for _, path := range fixturePaths(t) {
		body, err := os.ReadFile(path)
		if err != nil {
			t.Fatal(err)
		}
		for j, secret := range settings().Secrets {
			verify(fmt.Sprintf("%s secret #%d", filepath.Base(path), j+1), true, body, secret, secret)
		}
		verify(filepath.Base(path)+" another secret", false, body, rotatedSecret, specSecret)
	}
	for i, r := range run(reqs) {
		if r.OK != checks[i].want {
			t.Errorf("%s: the npm package answered %q (accepted: %v, want %v)", checks[i].name, r.Out, r.OK, checks[i].want)
		}
	}
}
