# Sourced by scripts/test. promtool (Debian's prometheus package) checks the
# alert rules in deploy/prometheus/ and runs their unit tests. The package
# also installs a Prometheus service; nothing here starts it, and the tests
# never use it.
if ! command -v promtool >/dev/null; then
	echo "installing prometheus (promtool: alert rule checks and unit tests)"
	apt_install --no-install-recommends prometheus
fi
