package config

import (
	"fmt"
	"net"
	"strings"
	"time"
)

// Store selects the state backend.
type Store struct {
	Backend string `yaml:"backend" validate:"oneof=memory redis"`
	Redis   Redis  `yaml:"redis"`
}

// Redis configures the shared store. Which Redis it talks to is Mode():
// one node at Addr (or at the single entry of Addrs), a Redis Cluster
// seeded by Addrs, or the master that the Sentinels at Addrs name
// MasterName.
type Redis struct {
	// Addr is host:port, or a redis:// or rediss:// URL, of one node. It is
	// not used when Addrs is set (setting both to different values is an
	// error, the default Addr aside).
	Addr string `yaml:"addr" validate:"max=1024"`
	// Addrs are host:port entries: Cluster nodes to discover the cluster
	// from (two or more, or one with Cluster), or the Sentinels' addresses
	// when MasterName is set.
	Addrs []string `yaml:"addrs" validate:"max=64,dive,required,max=1024"`
	// Cluster forces Cluster mode with a single Addrs entry (a managed
	// cluster's configuration endpoint).
	Cluster bool `yaml:"cluster"`
	// MasterName is the master the Sentinels at Addrs monitor; setting it
	// selects Sentinel mode.
	MasterName string `yaml:"master_name" validate:"max=256"`
	// SentinelUsername and SentinelPassword authenticate to the Sentinels
	// (Username and Password authenticate to the Redis nodes).
	SentinelUsername string `yaml:"sentinel_username" validate:"max=256"`
	SentinelPassword string `yaml:"sentinel_password" validate:"max=1024"`
	// Username and Password authenticate to the Redis nodes.
	Username     string        `yaml:"username" validate:"max=256"`
	Password     string        `yaml:"password" validate:"max=1024"`
	DB           int           `yaml:"db" validate:"min=0,max=1024"`
	KeyPrefix    string        `yaml:"key_prefix" validate:"max=128"`
	TLS          bool          `yaml:"tls"`
	PoolSize     int           `yaml:"pool_size" validate:"min=0,max=10000"`
	DialTimeout  time.Duration `yaml:"dial_timeout" validate:"min=0,max=1m"`
	ReadTimeout  time.Duration `yaml:"read_timeout" validate:"min=0,max=1m"`
	WriteTimeout time.Duration `yaml:"write_timeout" validate:"min=0,max=1m"`
}

// The modes Redis.Mode returns.
const (
	RedisSingle   = "single"
	RedisCluster  = "cluster"
	RedisSentinel = "sentinel"
)

// Mode is how the store reaches Redis: RedisSentinel when MasterName is
// set, RedisCluster when Cluster is set or Addrs has two or more entries,
// else RedisSingle (Addrs' single entry, or Addr).
func (r Redis) Mode() string {
	switch {
	case r.MasterName != "":
		return RedisSentinel
	case r.Cluster || len(r.Addrs) > 1:
		return RedisCluster
	default:
		return RedisSingle
	}
}

// Endpoint describes where the store connects, with any password in a URL
// masked, for logs and errors: "127.0.0.1:6379", "cluster a:1,b:2" or
// "sentinel master mymaster via a:1,b:2".
func (r Redis) Endpoint() string {
	switch r.Mode() {
	case RedisSentinel:
		return "sentinel master " + r.MasterName + " via " + strings.Join(r.Addrs, ",")
	case RedisCluster:
		return "cluster " + strings.Join(r.Addrs, ",")
	}
	if len(r.Addrs) == 1 {
		return r.Addrs[0]
	}
	return maskURLPassword(r.Addr)
}

// validate checks the cross-field rules of store.redis; backend is
// store.backend (some keys are required only with the redis backend).
func (r Redis) validate(backend string) []string {
	var problems []string
	def := Default().Store.Redis.Addr
	if len(r.Addrs) > 0 && r.Addr != "" && r.Addr != def {
		problems = append(problems, "store.redis.addr: set addr (one node) or addrs (Cluster or Sentinel), not both")
	}
	for i, a := range r.Addrs {
		if _, port, err := net.SplitHostPort(a); err != nil || port == "" || strings.Contains(a, "://") {
			problems = append(problems, fmt.Sprintf("store.redis.addrs[%d]: %q must be host:port", i, a))
		}
	}
	if r.MasterName != "" && r.Cluster {
		problems = append(problems, "store.redis.cluster: cannot be true with master_name (Sentinel)")
	}
	if r.MasterName != "" && len(r.Addrs) == 0 {
		problems = append(problems, "store.redis.addrs: the Sentinels' host:port list is required when master_name is set")
	}
	if r.Cluster && len(r.Addrs) == 0 {
		problems = append(problems, "store.redis.addrs: required when cluster is true")
	}
	if r.MasterName == "" && (r.SentinelUsername != "" || r.SentinelPassword != "") {
		problems = append(problems, "store.redis.sentinel_username/sentinel_password: only used with master_name (Sentinel)")
	}
	if r.Mode() == RedisCluster && r.DB != 0 {
		problems = append(problems, "store.redis.db: must be 0 with a Redis Cluster (it has one database)")
	}
	if backend == "redis" && r.Addr == "" && len(r.Addrs) == 0 {
		problems = append(problems, "store.redis.addr: required when store.backend is redis")
	}
	return problems
}
