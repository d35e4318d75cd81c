#!/bin/sh
# make postag: fetch the Brown corpus, train the bidirectional LSTM tagger
# with tapegrad train, then score it on the test files against the
# most-frequent-tag baselines, on all tokens and on unseen words.
#
#   sh examples/postag/run.sh BUILD [OUT_DIR]      (BUILD: e.g. build/float)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR]}
out=${2:-$build/postag}
start=$(date +%s)
sh "$here/fetch.sh" "$build/examples/postag/prepare" "$here/data"
mkdir -p "$out"
echo "== tapegrad train (spec $here/spec.json)"
"$build/tapegrad" train "$here/spec.json" --data "$here/data/traindev.txt" \
    --checkpoint "$out/postag.safetensors"
trained=$(date +%s)
echo "== tapegrad eval on the test files"
"$build/tapegrad" eval "$here/spec.json" --checkpoint "$out/postag.safetensors" \
    --data "$here/data/test.txt"
echo "== against the baselines"
"$build/examples/postag/report" "$here/spec.json" "$out/postag.safetensors" "$here/data" --show 3
end=$(date +%s)
echo "postag: training $((trained - start))s (with the data), total $((end - start))s"
