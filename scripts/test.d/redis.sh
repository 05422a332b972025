# Sourced by scripts/test. The Redis store's tests (index/redisstore) start
# their own redis-server on a random loopback port and stop it when they
# end: only the binary is needed. Under CI they fail without it; elsewhere
# they skip with the install command.
# Nothing is started here. (On a host with systemd, Debian's package may
# start its own service on 6379; the tests never use it.)
if ! command -v redis-server >/dev/null; then
	echo "installing redis-server (index/redisstore tests)"
	apt_install redis-server
fi
