# shellcheck shell=bash
# Sourced by scripts/test: the drift page's browser test
# (webhooks/drift_browser_test.go) renders GET /drift in Debian's headless
# chromium. It fails under CI when chromium is missing, so install it here.
if ! command -v chromium >/dev/null; then
	echo "installing chromium (drift page browser test)"
	apt_install chromium
fi
