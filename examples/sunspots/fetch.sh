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
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/../data/apt-fetch.sh" fetch "$tmp" python3-statsmodels
csv=$(find "$tmp/root" -path '*statsmodels/datasets/sunspots/sunspots.csv' | head -n 1)
[ -n "$csv" ] || { echo "fetch: sunspots.csv is not in the package" >&2; exit 1; }
echo "$sha  $csv" | sha256sum -c --quiet - ||
    { echo "fetch: checksum mismatch for sunspots.csv" >&2; exit 1; }
mkdir -p "$(dirname "$out")"
cp "$csv" "$out"
echo "wrote $out ($(($(wc -l < "$out") - 1)) years)"
