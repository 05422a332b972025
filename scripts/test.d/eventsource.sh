# Sourced by scripts/test. The stream test (stream_test.go in the root
# package) drives the npm "eventsource" client from scripts/interop; an
# older checkout of node_modules may have only standardwebhooks.
if [ ! -d scripts/interop/node_modules/eventsource ]; then
	npm ci --prefix scripts/interop --no-audit --no-fund --loglevel=error
fi
