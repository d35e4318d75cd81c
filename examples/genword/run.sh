#!/bin/sh
# make genword: the langid data (fetched if needed), then genword trains the
# character LSTM without the language, with it as the initial state, and
# with it as an input at every step, and samples from each.
#
#   sh examples/genword/run.sh BUILD [OUT_DIR]     (BUILD: e.g. build/float)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR]}
out=${2:-$build/genword}
start=$(date +%s)
sh "$here/../langid/fetch.sh" "$build/examples/langid/prepare" "$here/../langid/data"
"$build/examples/genword/genword" "$here/spec.json" "$here/../langid/data" --out "$out"
end=$(date +%s)
echo "genword: total $((end - start))s"
