#!/bin/sh
# Fetches the UCI handwritten digits (8x8 images, 1,797 of them, 10
# classes) from Debian's python3-sklearn package, which ships them as
# sklearn/datasets/data/digits.csv.gz (BSD-3 via scikit-learn). The .deb is
# downloaded with apt-get download (not installed) and unpacked into a
# temporary directory; that one file is checked against its sha256 and
# turned into tapegrad's image format (docs/cli.md): a label, then the 64
# pixels scaled from 0..16 to 0..1. Every fifth image (the 5th, 10th, ...)
# goes to test.csv, 359 images held out and never trained on; the other
# 1,438 to train.csv. (The file's order follows its writers, so its last
# fifth would also test other hands; README.md gives both figures.)
#
#   sh examples/digits/fetch.sh [OUT_DIR]      (default: examples/digits/data)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out=${1:-$here/data}
if [ -s "$out/test.csv" ] && (cd "$out" && sha256sum -c --quiet "$here/data.sha256" 2>/dev/null); then
    echo "have $out"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/../data/apt-fetch.sh" fetch "$tmp" python3-sklearn
src="$tmp/root/usr/lib/python3/dist-packages/sklearn/datasets/data"
(cd "$src" && echo "46abec6b12486ad9e51943373abcf22bbea1b5a51a1619b361570d8893f1464a  digits.csv.gz" |
    sha256sum -c --quiet -) ||
    { echo "fetch: digits.csv.gz's checksum differs (a newer Debian package?)" >&2; exit 1; }
mkdir -p "$out"
# sklearn's rows are 64 pixels then the label; ours put the label first
gzip -dc "$src/digits.csv.gz" | awk -F, -v train="$out/train.csv" -v test="$out/test.csv" '
    NF != 65 { print "fetch: line " NR ": expected 65 fields" > "/dev/stderr"; exit 1 }
    { row = $65; for (i = 1; i <= 64; i++) row = row "," ($i / 16)
      print row > (NR % 5 ? train : test) }'
(cd "$out" && sha256sum -c --quiet "$here/data.sha256") ||
    { echo "fetch: the prepared data's checksum differs" >&2; exit 1; }
echo "wrote $out: $(wc -l < "$out/train.csv") training and $(wc -l < "$out/test.csv") test images"
