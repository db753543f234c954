#!/usr/bin/env bash
# SPDX-License-Identifier: GPL-2.0
#
# browser_dom.sh HTML DOM_OUT CONSOLE_OUT
# Load HTML in headless chromium (Debian's `chromium`, scripts/install-deps.sh)
# with every network request refused, write the DOM after the page's scripts
# ran to DOM_OUT and every console message and uncaught exception (chromium
# logs them as "CONSOLE" lines) to CONSOLE_OUT. Exit 1 when the browser fails.
set -euo pipefail
html=$(realpath "$1")
dom=$2
console=$3
command -v chromium >/dev/null || {
	echo "browser_dom: chromium not installed (run scripts/install-deps.sh)" >&2
	exit 1
}
prof=$(mktemp -d /tmp/ktstr-chromium.XXXXXX)
trap 'rm -rf "$prof"' EXIT
rc=0
timeout -k 5 120 chromium --headless --no-sandbox --disable-gpu --no-first-run \
	--user-data-dir="$prof" --host-resolver-rules='MAP * ~NOTFOUND' \
	--enable-logging=stderr --v=0 --virtual-time-budget=5000 \
	--dump-dom "file://$html" >"$dom" 2>"$prof/stderr" || rc=$?
grep 'CONSOLE' "$prof/stderr" >"$console" || true
if [ $rc -ne 0 ] || [ ! -s "$dom" ]; then
	echo "browser_dom: chromium exited $rc for $html:" >&2
	tail -20 "$prof/stderr" >&2
	exit 1
fi
