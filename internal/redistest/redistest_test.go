package redistest_test

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"

	"github.com/replayhook/replayhook/internal/redistest"
)

func TestServerKillAndRestart(t *testing.T) {
	srv := redistest.Start(t, redistest.Options{Persist: true})
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := srv.Client()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	srv.Kill()
	if err := c.Ping(ctx).Err(); err == nil {
		t.Fatal("a killed server answered PING")
	}
	srv.Restart()
	if got, err := c.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("after restart with the append-only file: %q, %v; want v", got, err)
	}
}

func TestClusterSpreadsSlotsOverEveryMaster(t *testing.T) {
	cl := redistest.StartCluster(t, 3)
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewClusterClient(&redis.ClusterOptions{Addrs: cl.Addrs()})
	defer c.Close()
	for i := range 100 {
		if err := c.Set(ctx, fmt.Sprint("key-", i), i, 0).Err(); err != nil {
			t.Fatal(err)
		}
	}
	for i, n := range cl.Nodes {
		size, err := n.Client().DBSize(ctx).Result()
		if err != nil {
			t.Fatal(err)
		}
		if size == 0 {
			t.Errorf("master %d holds none of 100 keys: slots are not spread", i)
		}
	}
}

func TestSentinelNamesItsMaster(t *testing.T) {
	master := redistest.Start(t, redistest.Options{Args: []string{"--requirepass", "node-password-1"}})
	sentinel := redistest.StartSentinel(t, master, "mymaster", "node-password-1", "sentinel-password-1")
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	c := redis.NewFailoverClient(&redis.FailoverOptions{
		MasterName: "mymaster", SentinelAddrs: []string{sentinel.Addr()},
		SentinelPassword: "sentinel-password-1", Password: "node-password-1",
	})
	defer c.Close()
	if err := c.Set(ctx, "k", "v", 0).Err(); err != nil {
		t.Fatal(err)
	}
	direct := redis.NewClient(&redis.Options{Addr: master.Addr(), Password: "node-password-1"})
	defer direct.Close()
	if got, err := direct.Get(ctx, "k").Result(); err != nil || got != "v" {
		t.Fatalf("write through the Sentinel client is not on the master: %q, %v", got, err)
	}
}
