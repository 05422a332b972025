package redistest

import (
	"context"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/redis/go-redis/v9"
)

// clusterSlots is the number of hash slots of a Redis Cluster.
const clusterSlots = 16384

// Cluster is a Redis Cluster of masters without replicas, every process on
// loopback, owned by one test.
type Cluster struct {
	// Nodes are the masters; Nodes[i] serves the i-th equal share of the
	// hash slots.
	Nodes []*Server
}

// StartCluster starts masters redis-servers in cluster mode (at least 1),
// gives each an equal range of the 16384 slots, joins them and waits until
// every node reports cluster_state:ok. It does what `redis-cli --cluster
// create` does, without needing redis-cli.
func StartCluster(tb testing.TB, masters int) *Cluster {
	tb.Helper()
	masters = max(masters, 1)
	c := &Cluster{}
	for range masters {
		// The cluster bus gets its own free port: the default (port+10000)
		// may be taken or beyond 65535.
		bus := FreePort(tb)
		c.Nodes = append(c.Nodes, Start(tb, Options{Args: []string{
			"--cluster-enabled", "yes", "--cluster-config-file", "nodes.conf",
			"--cluster-port", strconv.Itoa(bus), "--cluster-node-timeout", "5000",
			"--cluster-announce-bus-port", strconv.Itoa(bus),
		}}))
	}
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	clients := make([]*redis.Client, masters)
	for i, n := range c.Nodes {
		clients[i] = n.Client()
		lo := i * clusterSlots / masters
		hi := (i+1)*clusterSlots/masters - 1
		if err := clients[i].Do(ctx, "CLUSTER", "ADDSLOTSRANGE", lo, hi).Err(); err != nil {
			tb.Fatalf("cluster node %d: ADDSLOTSRANGE %d %d: %v", i, lo, hi, err)
		}
		if err := clients[i].Do(ctx, "CLUSTER", "SET-CONFIG-EPOCH", i+1).Err(); err != nil {
			tb.Fatalf("cluster node %d: SET-CONFIG-EPOCH: %v", i, err)
		}
	}
	for i := 1; i < masters; i++ {
		bus := busPort(ctx, tb, clients[i])
		if err := clients[0].Do(ctx, "CLUSTER", "MEET", "127.0.0.1", c.Nodes[i].Port(), bus).Err(); err != nil {
			tb.Fatalf("cluster: MEET node %d: %v", i, err)
		}
	}
	for i, cl := range clients {
		for {
			info, err := cl.ClusterInfo(ctx).Result()
			if err == nil && strings.Contains(info, "cluster_state:ok") && strings.Contains(info, "cluster_known_nodes:"+strconv.Itoa(masters)+"\r") {
				break
			}
			if ctx.Err() != nil {
				tb.Fatalf("cluster node %d never reached cluster_state:ok: %v\n%s", i, err, info)
			}
			time.Sleep(50 * time.Millisecond)
		}
	}
	return c
}

// busPort reads a node's cluster bus port from its configuration.
func busPort(ctx context.Context, tb testing.TB, c *redis.Client) int {
	tb.Helper()
	v, err := c.ConfigGet(ctx, "cluster-port").Result()
	if err != nil {
		tb.Fatalf("cluster: CONFIG GET cluster-port: %v", err)
	}
	n, err := strconv.Atoi(v["cluster-port"])
	if err != nil {
		tb.Fatalf("cluster: cluster-port %q: %v", v["cluster-port"], err)
	}
	return n
}

// Addrs are the masters' host:port, the seeds a cluster client needs.
func (c *Cluster) Addrs() []string {
	out := make([]string, len(c.Nodes))
	for i, n := range c.Nodes {
		out[i] = n.Addr()
	}
	return out
}

// StartSentinel starts a redis-server in Sentinel mode that monitors
// master under name (quorum 1). masterPassword is the master's
// requirepass ("" = none); sentinelPassword protects the Sentinel itself
// ("" = none). It waits until the Sentinel names the master's address.
func StartSentinel(tb testing.TB, master *Server, name, masterPassword, sentinelPassword string) *Server {
	tb.Helper()
	var conf strings.Builder
	conf.WriteString("sentinel monitor " + name + " 127.0.0.1 " + strconv.Itoa(master.Port()) + " 1\n")
	conf.WriteString("sentinel down-after-milliseconds " + name + " 5000\n")
	if masterPassword != "" {
		conf.WriteString("sentinel auth-pass " + name + " " + masterPassword + "\n")
	}
	if sentinelPassword != "" {
		conf.WriteString("requirepass " + sentinelPassword + "\n")
	}
	s := Start(tb, Options{Config: conf.String(), Args: []string{"--sentinel"}})
	c := redis.NewSentinelClient(&redis.Options{Addr: s.Addr(), Password: sentinelPassword})
	defer c.Close()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		addr, err := c.GetMasterAddrByName(ctx, name).Result()
		if err == nil && len(addr) == 2 && addr[1] == strconv.Itoa(master.Port()) {
			return s
		}
		if ctx.Err() != nil {
			tb.Fatalf("sentinel does not name master %s: %v %v", name, addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}
