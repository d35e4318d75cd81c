#!/bin/sh
# make langid: fetch the data, train the character GRU with tapegrad train,
# then the baselines, the test accuracy per language with the confusion
# matrix (text, and OUT/confusion.svg) and, with tapegrad predict, the top
# three guesses for a few words.
#
#   sh examples/langid/run.sh BUILD [OUT_DIR]      (BUILD: e.g. build/float)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR]}
out=${2:-$build/langid}
start=$(date +%s)
sh "$here/fetch.sh" "$build/examples/langid/prepare" "$here/data"
mkdir -p "$out"
echo "== tapegrad train (spec $here/spec.json)"
"$build/tapegrad" train "$here/spec.json" --data "$here/data/traindev.tsv" \
    --checkpoint "$out/langid.safetensors"
trained=$(date +%s)
echo "== baselines: naive Bayes over letters (1) and letter trigrams (3), test set"
"$build/examples/langid/baseline" "$here/data/train.tsv" "$here/data/test.tsv" 1 3
echo "== the GRU on the test set"
"$build/examples/langid/report" "$here/spec.json" "$out/langid.safetensors" \
    "$here/data/test.tsv" "$out/confusion.svg"
echo "== tapegrad predict: top three guesses (log-probabilities); butterfly in the ten"
echo "   languages (lowercase, as the data is), then others"
"$build/tapegrad" predict "$here/spec.json" --checkpoint "$out/langid.safetensors" \
    butterfly schmetterling papillon mariposa farfalla vlinder motyl borboleta fjäril \
    sommerfugl bonjour gracias tapegrad |
    awk -F'\t' '{ printf "%-16s", $1; for (i = 2; i <= NF; i++) { split($i, a, " ");
                  printf "  %-10s %6.2f", a[1], a[2] } printf "\n" }'
end=$(date +%s)
echo "langid: training $((trained - start))s (with the data), total $((end - start))s"
