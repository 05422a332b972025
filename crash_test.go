package main

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"sync"
	"syscall"
	"testing"
	"time"

	"github.com/replayhook/replayhook/providers"
	"github.com/replayhook/replayhook/providers/autoplay"
)

// crashChildEnv names the config a re-executed test binary serves.
const crashChildEnv = "REPLAYHOOK_CRASH_CHILD_CONFIG"

// TestMain lets the test binary stand in for the server in the crash test:
// started with crashChildEnv set, it runs `replayhook serve` until killed.
func TestMain(m *testing.M) {
	if cfg := os.Getenv(crashChildEnv); cfg != "" {
		os.Exit(crashChild(cfg))
	}
	os.Exit(m.Run())
}

// crashChild runs `replayhook serve` on cfg until SIGTERM (or SIGKILL) and
// returns the process's exit code.
func crashChild(cfg string) int {
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM)
	defer stop()
	if err := run(ctx, []string{"serve", "--config", cfg}, os.Getenv, os.Stdout, os.Stderr); err != nil {
		fmt.Fprintln(os.Stderr, "replayhook:", err)
		return 1
	}
	return 0
}

// child is one server process of the crash test.
type child struct {
	cmd   *exec.Cmd
	base  string
	mu    sync.Mutex
	tail  []byte // the last lines it printed, for failure messages
	start time.Time
}

func startChild(t *testing.T, cfg string) *child {
	t.Helper()
	c := &child{cmd: exec.Command(os.Args[0], "-test.run=^$"), start: time.Now()}
	c.cmd.Env = append(os.Environ(), crashChildEnv+"="+cfg)
	out, err := c.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	c.cmd.Stderr = c.cmd.Stdout
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	addr := make(chan string, 1)
	go func() { // drain the log, or the child blocks writing it
		sc := bufio.NewScanner(out)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var m map[string]any
			if json.Unmarshal(sc.Bytes(), &m) == nil && m["msg"] == "listening" {
				addr <- m["addr"].(string)
			}
			c.mu.Lock()
			c.tail = append(c.tail, sc.Bytes()...)
			c.tail = append(c.tail, '\n')
			if len(c.tail) > 64<<10 {
				c.tail = c.tail[len(c.tail)-32<<10:]
			}
			c.mu.Unlock()
		}
	}()
	select {
	case a := <-addr:
		c.base = "http://" + a
	case <-time.After(20 * time.Second):
		c.kill()
		t.Fatalf("child did not listen:\n%s", c.log())
	}
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get(c.base + "/readyz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return c
			}
		}
		if time.Now().After(deadline) {
			c.kill()
			t.Fatalf("child never ready:\n%s", c.log())
		}
		time.Sleep(10 * time.Millisecond)
	}
}

func (c *child) kill() {
	_ = c.cmd.Process.Signal(syscall.SIGKILL)
	_ = c.cmd.Wait()
}

func (c *child) log() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return string(c.tail)
}

// TestKillNineLosesNoAcknowledgedDelivery runs the server as a child
// process under concurrent load on loopback and SIGKILLs it at a random
// moment, over several rounds, with snapshots (and so journal truncations)
// every 150 ms. After each restart, every delivery that was ever answered
// 2xx must be readable. With fsync every ack waits for its fsync; with
// batch the ack comes before the fsync, which a process crash does not
// undo (the page cache survives it; only a machine crash loses the batch
// window).
func TestKillNineLosesNoAcknowledgedDelivery(t *testing.T) {
	if testing.Short() {
		t.Skip("crash test: several child processes under load")
	}
	seed := time.Now().UnixNano()
	rng := rand.New(rand.NewPCG(uint64(seed), 0))
	t.Logf("seed %d", seed)
	for _, mode := range []struct {
		durability string
		rounds     int
	}{{"fsync", 4}, {"batch", 2}} {
		t.Run(mode.durability, func(t *testing.T) {
			dir := t.TempDir()
			snap := filepath.Join(dir, "state", "replayhook.snapshot")
			cfg := testConfig(t, fmt.Sprintf("durability: %s\n", mode.durability))
			doc, _ := os.ReadFile(cfg)
			doc = bytes.Replace(doc, []byte(`path: ""`), []byte("path: "+snap+"\n  interval: 150ms"), 1)
			if err := os.WriteFile(cfg, doc, 0o600); err != nil {
				t.Fatal(err)
			}

			var acked []string // session ids answered 2xx, all rounds
			for round := range mode.rounds {
				c := startChild(t, cfg)
				checkAcked(t, c, acked)
				if stale, _ := filepath.Glob(snap + ".tmp-*"); len(stale) > 0 {
					for _, s := range stale {
						if fi, err := os.Stat(s); err == nil && fi.ModTime().Before(c.start) {
							c.kill()
							t.Fatalf("temp file %s outlived the restart", s)
						}
					}
				}
				acked = append(acked, load(t, c, round, time.Duration(200+rng.IntN(1000))*time.Millisecond)...)
			}
			c := startChild(t, cfg)
			checkAcked(t, c, acked)
			c.kill()
			t.Logf("%d rounds, %d acknowledged deliveries, 0 lost", mode.rounds, len(acked))
		})
	}
}

// load sends unique deliveries from 16 workers until it kills c after d,
// and returns the session ids answered 2xx.
func load(t *testing.T, c *child, round int, d time.Duration) []string {
	t.Helper()
	ap, err := autoplay.New(providers.Settings{Secrets: []string{"test-connector-secret"}})
	if err != nil {
		t.Fatal(err)
	}
	signer := ap.(providers.Signer)
	client := &http.Client{Timeout: 10 * time.Second}
	var (
		mu    sync.Mutex
		acked []string
		wg    sync.WaitGroup
	)
	stop := make(chan struct{})
	for w := range 16 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for i := 0; ; i++ {
				select {
				case <-stop:
					return
				default:
				}
				sid := fmt.Sprintf("crash-%d-%d-%d", round, w, i)
				now := float64(time.Now().UnixMilli()) / 1000
				body := fmt.Appendf(nil, `{"type":"actions","product_id":"prod_demo","session_id":%q,"user_id":"u-%d-%d","forwarded_at":%v,`+
					`"actions":[{"index":0,"type":"click","title":"Save","description":"clicked Save","timestamp_start":%v,"timestamp_end":%v,"canonical_url":"https://app.example.com/save"}]}`,
					sid, round, w, now, now, now)
				req, _ := http.NewRequest(http.MethodPost, c.base+"/webhooks/autoplay", bytes.NewReader(body))
				req.Header = signer.Sign(body, "test-connector-secret", time.Now())
				resp, err := client.Do(req)
				if err != nil {
					return // killed
				}
				_, copyErr := io.Copy(io.Discard, resp.Body)
				resp.Body.Close()
				if resp.StatusCode/100 == 2 {
					mu.Lock()
					acked = append(acked, sid)
					mu.Unlock()
				}
				if copyErr != nil {
					return // killed while the answer's body was read
				}
			}
		}()
	}
	time.Sleep(d) // the kill lands at a random point of the load
	c.kill()
	close(stop)
	wg.Wait()
	if len(acked) == 0 {
		t.Fatalf("no delivery acknowledged in round %d:\n%s", round, c.log())
	}
	return acked
}

// checkAcked fails for every acknowledged session c cannot show.
func checkAcked(t *testing.T, c *child, acked []string) {
	t.Helper()
	var lost []string
	for _, sid := range acked {
		req, _ := http.NewRequest(http.MethodGet, c.base+"/v1/sessions/"+sid+"?product_id=prod_demo", nil)
		req.Header.Set("Authorization", "Bearer test-token-0123456789")
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			c.kill()
			t.Fatal(err)
		}
		_, err = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
		if err != nil {
			c.kill()
			t.Fatal(err)
		}
		if resp.StatusCode != http.StatusOK {
			lost = append(lost, sid)
		}
	}
	if len(lost) > 0 {
		log := c.log()
		c.kill()
		t.Fatalf("%d of %d acknowledged deliveries lost after kill -9, e.g. %v\n%s", len(lost), len(acked), lost[:min(5, len(lost))], log)
	}
}
