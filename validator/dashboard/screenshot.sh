#!/bin/sh
# Renders the validator dashboard with sample data in headless Chromium and
# checks that the PNG is a real page (size, colours, ink).
#
#   validator/dashboard/screenshot.sh [OUT.png]
#
# Needs Chromium (apt-get install -y chromium, or CHROMIUM=/path/to/browser).
# The browser runs as:
#   chromium --headless --no-sandbox --disable-gpu --disable-quic --no-first-run
#     --disable-background-networking --disable-component-update --disable-sync
#     --user-data-dir=$(mktemp -d) --screenshot=FILE --window-size=1280,900 URL
set -eu
root=$(cd "$(dirname "$0")/../.." && pwd)
out=${1:-${MERIT_SCREENSHOT:-$(mktemp -d)/dashboard.png}}
case $out in /*) ;; *) out=$(pwd)/$out ;; esac
cd "$root"
MERIT_SCREENSHOT=$out go test -tags chromium -run '^TestDashboardScreenshot$' -count=1 -v ./validator/dashboard/
echo "dashboard screenshot: $out"
