#!/bin/sh
# make digits: fetch the UCI digits, train the ReNet model and the two
# baselines (a bidirectional GRU over the patches in row order, and
# logistic regression on the pixels) with tapegrad train on train.csv, and
# report each one's accuracy on the 359 held-out test images with
# tapegrad eval, which also draws each one's confusion matrix
# (OUT_DIR/MODEL-confusion.svg; examples/digits/confusion.svg is the
# ReNet model's, copied from a run).
#
#   sh examples/digits/run.sh BUILD [OUT_DIR]      (BUILD: e.g. build/float)
#
# THREADS (default 1): these models are small enough that one thread is
# fastest; more only wait on each other, the more so on a busy machine.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR]}
out=${2:-$build/digits}
sh "$here/fetch.sh" "$here/data"
mkdir -p "$out"
for m in spec rnn logistic; do
    start=$(date +%s)
    "$build/tapegrad" train "$here/$m.json" --data "$here/data/train.csv" \
        --checkpoint "$out/$m.safetensors" --threads "${THREADS:-1}" | grep -v '^step .*/'
    end=$(date +%s)
    acc=$("$build/tapegrad" eval "$here/$m.json" --checkpoint "$out/$m.safetensors" \
        --data "$here/data/test.csv" --threads "${THREADS:-1}" \
        --confusion "$out/$m-confusion.svg" | awk '$1 == "accuracy" { printf "%.2f%%", 100 * $2 }')
    echo "== $m.json: test accuracy $acc (359 images), training $((end - start))s"
done
