#!/bin/sh
# Fetches Debian's word lists and builds the langid data set.
#
#   sh examples/langid/fetch.sh PREPARE [OUT_DIR]
#
# PREPARE is the built examples/langid/prepare program. The .deb packages
# (wamerican, wngerman, wfrench, wspanish, witalian, wdutch, wpolish,
# wportuguese, wswedish, wdanish) are downloaded with apt-get download (not
# installed) and unpacked with dpkg-deb -x into a temporary directory; each
# word list is checked against its sha256 below, prepare samples the data
# set from them, and the data set is checked too. OUT_DIR (default:
# examples/langid/data) gets train.tsv, dev.tsv, test.tsv and
# traindev.tsv; the word lists themselves are not kept.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
prepare=${1:?usage: fetch.sh PREPARE [OUT_DIR]}
out=${2:-$here/data}
if [ -s "$out/test.tsv" ] && (cd "$out" && sha256sum -c --quiet "$here/data.sha256" 2>/dev/null); then
    echo "have $out"
    exit 0
fi
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
sh "$here/../data/apt-fetch.sh" fetch "$tmp" \
    wamerican wngerman wfrench wspanish witalian wdutch wpolish wportuguese wswedish wdanish
dict="$tmp/root/usr/share/dict"
(cd "$dict" && sha256sum -c --quiet - <<'SUMS'
9f513f1ceadb6a01c5485b7dbdfd5118dc66cd70b59cae2851292112d4066a32  american-english
4864ca7300aae638c611114092ed566ba232b35e42280fcfb5509c5d121b307d  ngerman
33b3a15b7c47c4b85aaafa7c8b41d3fee9c7ca1383381bb8f710372ce7474f06  french
6b26adc955ec682e41e98d626d0ed1f778511065ee1f7f19c28e8b3cb574b9b6  spanish
096f728b7b63073f32604dfaa7c5dbf5b2d32123880f0b05fe462670630f6218  italian
2e5128e8e7f9a5bdfc427c784c839986b0df1386cc53aef90ed2df71644f3987  dutch
e9d92b97896378f7907ee9b77e7ef3c26da4fc596bdf9de0262520c3c471f2b1  polish
0ae13d0be0b580a4f279e64c963371824092d05acca48a2523f562c228144536  portuguese
0e001d6362d9a06105354c4e5de3b4cbc320a327dcb59dc1a42c48f3b7231513  swedish
ed3f6ec15d32402c143539a1c0ec8f57b454a0fa758e23e7a2156b0a1119942b  danish
SUMS
) || { echo "fetch: a word list's checksum differs (a newer Debian package?)" >&2; exit 1; }
mkdir -p "$out"
"$prepare" "$dict" "$out" >/dev/null
(cd "$out" && sha256sum -c --quiet "$here/data.sha256") ||
    { echo "fetch: the prepared data set's checksum differs" >&2; exit 1; }
echo "wrote $out: $(wc -l < "$out/train.tsv") training, $(wc -l < "$out/dev.tsv") development, $(wc -l < "$out/test.tsv") test words"
