package main

import (
	"bufio"
	"bytes"
	"context"
	"crypto/rand"
	"encoding/hex"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	yaml "go.yaml.in/yaml/v3"

	"github.com/replayhook/replayhook/config"
)

// readEnvFile reads KEY=VALUE lines (comments and blank lines skipped), in order.
func readEnvFile(t *testing.T, path string) [][2]string {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var out [][2]string
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := strings.TrimSpace(sc.Text())
		if line == "" || strings.HasPrefix(line, "#") {
			continue
		}
		k, v, ok := strings.Cut(line, "=")
		if !ok {
			t.Fatalf("%s: %q is not KEY=VALUE", path, line)
		}
		out = append(out, [2]string{k, v})
	}
	return out
}

// buildBinary builds replayhook into a temporary directory.
func buildBinary(t *testing.T) string {
	t.Helper()
	bin := filepath.Join(t.TempDir(), "replayhook")
	cmd := exec.Command("go", "build", "-o", bin, ".")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("go build: %v\n%s", err, out)
	}
	return bin
}

// TestProductionConfigStartsAsDocumented starts the built binary with exactly
// the environment deploy/replayhook.env documents, every empty value filled
// in as the deploy docs ask. Only what cannot work in a test changes: the
// address (127.0.0.2 and a free port: a loopback address, but not the
// 127.0.0.1 the development config uses), the config path (this checkout's
// file) and the snapshot path (a temporary directory). It must listen and
// pass its own healthcheck; with the file as shipped (values empty) it must
// refuse, naming a variable to set; and check-config must accept the filled
// environment on 0.0.0.0, so no development secret hides in it.
func TestProductionConfigStartsAsDocumented(t *testing.T) {
	if testing.Short() {
		t.Skip("builds the binary")
	}
	documented := readEnvFile(t, "deploy/replayhook.env")
	docs, err := os.ReadFile("deploy/README.md")
	if err != nil {
		t.Fatal(err)
	}
	cfgPath, err := filepath.Abs("deploy/config.production.yaml")
	if err != nil {
		t.Fatal(err)
	}
	ln, err := net.Listen("tcp", "127.0.0.2:0")
	if err != nil {
		t.Fatalf("127.0.0.2 (loopback) must be usable: %v", err)
	}
	addr := ln.Addr().String()
	ln.Close()

	var env, shipped []string
	for _, kv := range documented {
		k, v := kv[0], kv[1]
		if !bytes.Contains(docs, []byte(k)) {
			t.Errorf("deploy/README.md does not mention %s, which replayhook.env sets", k)
		}
		shipped = append(shipped, k+"="+v)
		switch {
		case k == "REPLAYHOOK_ADDR":
			v = addr
		case k == "REPLAYHOOK_CONFIG":
			v = cfgPath
		case k == "REPLAYHOOK_SNAPSHOT":
			v = filepath.Join(t.TempDir(), "replayhook.snapshot")
		case v == "":
			b := make([]byte, 32)
			_, _ = rand.Read(b)
			v = hex.EncodeToString(b)
		}
		env = append(env, k+"="+v)
	}
	bin := buildBinary(t)

	// As shipped, with the values still empty: refused, naming what to set.
	for i, kv := range shipped {
		if strings.HasPrefix(kv, "REPLAYHOOK_CONFIG=") {
			shipped[i] = "REPLAYHOOK_CONFIG=" + cfgPath
		}
	}
	cmd := exec.Command(bin, "serve")
	cmd.Env = shipped
	out, err := cmd.CombinedOutput()
	if err == nil || !strings.Contains(string(out), "environment variable REPLAYHOOK_API_TOKEN is not set") {
		t.Fatalf("empty values must be refused, naming the variable: %v\n%s", err, out)
	}

	// Filled in: no development secret, so it would listen on 0.0.0.0 too.
	check := exec.Command(bin, "check-config")
	check.Env = append(append([]string(nil), env...), "REPLAYHOOK_ADDR=0.0.0.0:8080")
	if out, err := check.CombinedOutput(); err != nil || !strings.Contains(string(out), "# ok") || strings.Contains(string(out), "warning") {
		t.Fatalf("check-config on 0.0.0.0 with the documented environment: %v\n%s", err, out)
	}

	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	srv := exec.CommandContext(ctx, bin, "serve")
	srv.Env = env
	var logs bytes.Buffer
	srv.Stdout, srv.Stderr = &logs, &logs
	if err := srv.Start(); err != nil {
		t.Fatal(err)
	}
	defer func() {
		_ = srv.Process.Signal(os.Interrupt)
		_ = srv.Wait()
	}()
	health := exec.Command(bin, "healthcheck", "--timeout", "1s")
	health.Env = env
	var hout []byte
	for attempt := 0; attempt < 100; attempt++ { // until it listens (no fixed sleep decides the outcome)
		health = exec.Command(bin, "healthcheck", "--timeout", "1s")
		health.Env = env
		if hout, err = health.CombinedOutput(); err == nil {
			break
		}
		if ctx.Err() != nil || srv.ProcessState != nil {
			break
		}
		time.Sleep(100 * time.Millisecond)
	}
	if err == nil {
		ready := exec.Command(bin, "healthcheck", "--url", "http://"+addr+"/readyz")
		ready.Env = env
		hout, err = ready.CombinedOutput()
	}
	if err != nil {
		t.Fatalf("the server did not become ready on %s: %v\n%s\nserver log:\n%s", addr, err, hout, logs.String())
	}
	if !strings.Contains(string(hout), "healthy: http://"+addr+"/readyz answered 200") {
		t.Fatalf("healthcheck: %s", hout)
	}
}

// TestKubernetesConfigMapsLoad: the configuration each Kubernetes variant
// ships loads with the environment its Deployment and Secret set, and holds
// no development secret.
func TestKubernetesConfigMapsLoad(t *testing.T) {
	for _, file := range []string{"deploy/k8s/memory/configmap.yaml", "deploy/k8s/redis/configmap.yaml"} {
		raw, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		var cm struct {
			Data map[string]string `yaml:"data"`
		}
		if err := yaml.Unmarshal(raw, &cm); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		env := map[string]string{
			"REPLAYHOOK_ADDR": "0.0.0.0:8080", "REPLAYHOOK_SNAPSHOT": "/data/replayhook.snapshot", "REDIS_ADDR": "redis:6379",
			"REPLAYHOOK_API_TOKEN": "a-real-token-0123456789", "AUTOPLAY_CONNECTOR_SECRET": "a-real-secret-0123456789",
		}
		cfg, err := config.Parse([]byte(cm.Data["config.yaml"]), func(k string) string { return env[k] })
		if err != nil {
			t.Fatalf("%s: %v", file, err)
		}
		if err := cfg.CheckListen(); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
}
