#!/bin/sh
# Fetches the yearly sunspot numbers 1700-2008 from Debian's
# python3-statsmodels package (statsmodels/datasets/sunspots/sunspots.csv).
# The .deb is downloaded with apt-get download (not installed) and unpacked
# with dpkg-deb -x into a temporary directory; the CSV is checked against
# the sha256 below and copied to OUT (default examples/sunspots/data/sunspots.csv).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/data/sunspots.csv}
sha=f67889b1d9002cd5227f0e0ef54e35b419cdd85a31279adef6f73fb41e5c0a9b
if [ -s "$out" ] && echo "$sha  $out" | sha256sum -c --quiet - 2>/dev/null; then
    echo "have $out"
    exit 0
fi
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    { echo "fetch: apt-get and dpkg-deb are needed (Debian)" >&2; exit 1; }
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
if ! (cd "$tmp" && apt-get download python3-statsmodels >/dev/null 2>&1); then
    # a fresh machine has no package lists yet
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
    (cd "$tmp" && apt-get download python3-statsmodels >/dev/null) ||
        { echo "fetch: apt-get download python3-statsmodels failed" >&2; exit 1; }
fi
dpkg-deb -x "$tmp"/python3-statsmodels_*.deb "$tmp/root"
csv=$(find "$tmp/root" -path '*statsmodels/datasets/sunspots/sunspots.csv' | head -n 1)
[ -n "$csv" ] || { echo "fetch: sunspots.csv is not in the package" >&2; exit 1; }
echo "$sha  $csv" | sha256sum -c --quiet - ||
    { echo "fetch: checksum mismatch for sunspots.csv" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$csv" "$out"
echo "wrote $out ($(($(wc -l < "$out") - 1)) years)"
