#!/usr/bin/env bash
# Renders the HTML report in headless Chromium and saves a screenshot, to check that the page opens offline and
# draws its tables and inline SVG plots.
#   bash scripts/screenshot-report.sh [REPORT.html] [OUT.png] [WIDTHxHEIGHT]
# Defaults: out/quickstart/report/report.html, the PNG beside it (report.png), 1400x2000.
# Skips (exit 0, with a message) when Chromium is not installed; install it with `apt-get install chromium`
# (Debian package "chromium"; not part of scripts/install-deps.sh).
set -euo pipefail
cd "$(dirname "$0")/.."
html=${1:-out/quickstart/report/report.html}
png=${2:-$(dirname "$html")/report.png}
size=${3:-1400x2000}

browser=""
for b in chromium chromium-browser google-chrome; do
  if command -v "$b" >/dev/null 2>&1; then browser=$b; break; fi
done
if [ -z "$browser" ]; then
  echo "screenshot-report: SKIPPED: chromium is not installed (apt-get install chromium)"
  exit 0
fi
if [ ! -f "$html" ]; then
  echo "screenshot-report: $html: no such report (run: supra-eval report --db results.sqlite --out DIR)" >&2
  exit 1
fi

abs_html=$(cd "$(dirname "$html")" && pwd)/$(basename "$html")
mkdir -p "$(dirname "$png")"
abs_png=$(cd "$(dirname "$png")" && pwd)/$(basename "$png")
profile=$(mktemp -d)
trap 'rm -rf "$profile"' EXIT
rm -f "$abs_png"
# --no-sandbox: containers often run as root, where Chromium refuses its sandbox. The network switches keep the
# browser from reaching out: the report needs nothing outside the file.
timeout 120 "$browser" --headless --no-sandbox --disable-gpu --disable-quic --no-first-run \
  --disable-background-networking --disable-component-update --disable-sync --hide-scrollbars \
  --user-data-dir="$profile" --screenshot="$abs_png" --window-size="${size/x/,}" "file://$abs_html" \
  >"$profile/chromium.log" 2>&1 || true
if [ ! -s "$abs_png" ]; then
  echo "screenshot-report: chromium wrote no screenshot; its log:" >&2
  tail -20 "$profile/chromium.log" >&2
  exit 1
fi
echo "screenshot-report: $abs_png ($size) of $abs_html"
