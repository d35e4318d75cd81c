#!/bin/sh
# make demo: trains the character-level LSTM of examples/charlm/spec.json on
# Moby Dick (the last 5% held out), then samples at two temperatures and
# prints the final validation bits per character.
#
#   sh examples/charlm/demo.sh TAPEGRAD DATA OUTDIR [STEPS]
#
# STEPS (default: the spec's train.steps) lets the test suite run the same
# pipeline in a few steps. DEMO_THREADS sets the threads for matrix products
# (default 1; examples/charlm/README.md says why).
set -eu
bin=$1
data=$2
out=$3
steps=${4:-}
threads=${DEMO_THREADS:-1}
export BLIS_NUM_THREADS=$threads
spec=$(dirname "$0")/spec.json
ckpt=$out/charlm.safetensors
mkdir -p "$out"
start=$(date +%s)

"$bin" --version | tr '\n' ' ' && echo
echo "== train ($spec on $data)"
"$bin" train "$spec" --data "$data" --checkpoint "$ckpt" --threads "$threads" ${steps:+--steps "$steps"}

echo "== eval (the held-out end of $data)"
"$bin" eval "$spec" --checkpoint "$ckpt" --threads "$threads" | tee "$out/eval.txt"

for t in 0.5 1.0; do
    echo "== sample, temperature $t"
    "$bin" sample "$spec" --checkpoint "$ckpt" --temperature "$t" --length 400 --seed 1
done

bpc=$(sed -n 's/^bits_per_character //p' "$out/eval.txt")
echo "== validation: $bpc bits per character; demo took $(($(date +%s) - start)) s" \
     "(checkpoint $ckpt, log $out/charlm.csv, its chart $out/charlm.svg)"
