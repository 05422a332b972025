# Sourced by scripts/test. The Redis tests (index/redisstore, internal/redistest
# and the run()-level test in main_test.go) start their own redis-server
# processes on random loopback ports and kill them when they end: only the
# binary is needed. The same binary runs the 3-master Cluster
# (--cluster-enabled, slots assigned with CLUSTER ADDSLOTSRANGE/MEET, so no
# redis-cli) and the Sentinel (--sentinel); both need Redis 7.0 or newer
# (Debian 12's redis-server is 7.0). Under CI the tests fail without it;
# elsewhere they skip with the install command.
# Nothing is started here. (On a host with systemd, Debian's package may
# start its own service on 6379; the tests never use it.)
if ! command -v redis-server >/dev/null; then
	echo "installing redis-server (Redis store tests)"
	apt_install redis-server
fi
redis_version=$(redis-server --version | sed -n 's/.* v=\([0-9][0-9]*\)\..*/\1/p')
if [ -z "$redis_version" ] || [ "$redis_version" -lt 7 ]; then
	echo "redis-server 7.0 or newer is needed (Cluster and Sentinel tests); found: $(redis-server --version)"
	exit 1
fi
