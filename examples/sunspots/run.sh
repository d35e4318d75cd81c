#!/bin/sh
# make sunspots: fetch the yearly sunspot numbers, train the LSTM with
# tapegrad train on 40-year windows, then forecast the test years one and
# ten years ahead against persistence and a linear AR model, and draw them
# (OUT/forecast.svg). A second LSTM (spec-direct10.json) learns to forecast
# ten years ahead in one step, for comparison with feeding forecasts back.
#
#   sh examples/sunspots/run.sh BUILD [OUT_DIR]    (BUILD: e.g. build/float)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR]}
out=${2:-$build/sunspots}
start=$(date +%s)
sh "$here/fetch.sh" "$here/data/sunspots.csv"
mkdir -p "$out"
"$build/examples/sunspots/prepare" "$here/data/sunspots.csv" "$here/spec.json" "$out/train.csv"
echo "== tapegrad train (spec $here/spec.json)"
"$build/tapegrad" train "$here/spec.json" --data "$out/train.csv" \
    --checkpoint "$out/sunspots.safetensors"
echo "== tapegrad train (spec $here/spec-direct10.json: ten years ahead directly)"
"$build/examples/sunspots/prepare" "$here/data/sunspots.csv" "$here/spec-direct10.json" \
    "$out/train-direct10.csv" 10
"$build/tapegrad" train "$here/spec-direct10.json" --data "$out/train-direct10.csv" \
    --checkpoint "$out/direct10.safetensors"
trained=$(date +%s)
echo "== forecasts"
"$build/examples/sunspots/forecast" "$here/data/sunspots.csv" "$here/spec.json" \
    "$out/sunspots.safetensors" "$out/forecast.svg" "$here/spec-direct10.json" \
    "$out/direct10.safetensors"
end=$(date +%s)
echo "sunspots: training $((trained - start))s (with the data), total $((end - start))s"
