#!/bin/sh
# make distill: knowledge distillation of the demo's character LSTM (256
# units, examples/charlm/spec.json) into an LSTM of 64 units. Trains the
# teacher (unless OUT/teacher.safetensors exists: a finished `make demo`
# checkpoint may be copied there), then two students from the same initial
# weights for the same steps, one alone (student.json) and one against the
# teacher's soft targets (distilled.json), evaluates all three on the
# held-out end of Moby Dick, and times sampling with the teacher and with a
# student, by turns.
#
#   sh examples/distill/run.sh BUILD [OUT_DIR] [STEPS]   (BUILD: e.g. build/float)
#
# STEPS (default: the specs' train.steps) applies to the teacher and the
# students alike. DISTILL_THREADS: threads for products (default 1).
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR] [STEPS]}
out=${2:-$build/distill}
steps=${3:-}
bin=$build/tapegrad
data=$here/../data/moby-dick.txt
threads=${DISTILL_THREADS:-1}
export BLIS_NUM_THREADS=$threads
start=$(date +%s)
mkdir -p "$out"
# the specs side by side, so that distilled.json finds teacher.json and
# teacher.safetensors beside it
cp "$here/../charlm/spec.json" "$out/teacher.json"
cp "$here/student.json" "$here/distilled.json" "$out/"

train() { # SPEC NAME
    echo "== train $1"
    "$bin" train "$out/$1" --data "$data" --checkpoint "$out/$2.safetensors" \
        --threads "$threads" ${steps:+--steps "$steps"} | tail -n 3
}
if [ -s "$out/teacher.safetensors" ]; then
    echo "== teacher: $out/teacher.safetensors (already trained)"
else
    train teacher.json teacher
fi
train student.json student
train distilled.json distilled

echo "== validation (the held-out 5% of $data)"
for m in teacher student distilled; do
    spec=$out/$m.json
    [ "$m" = teacher ] || spec=$out/student.json # eval ignores distill
    bpc=$("$bin" eval "$spec" --checkpoint "$out/$m.safetensors" --threads "$threads" |
        sed -n 's/^bits_per_character //p')
    printf '%-10s %s bits per character\n' "$m" "$bpc"
done

# Sampling: the same length from each, three turns each, alternating; the
# fastest of each (the least disturbed by other work on the machine).
echo "== sampling 3000 characters, 3 turns each (fastest shown)"
best() { sort -n | head -n 1; }
: > "$out/sample-times.txt"
for turn in 1 2 3; do
    for m in teacher distilled; do
        spec=$out/$m.json
        [ "$m" = teacher ] || spec=$out/student.json
        t0=$(date +%s.%N)
        "$bin" sample "$spec" --checkpoint "$out/$m.safetensors" --length 3000 --seed "$turn" \
            --threads "$threads" > "$out/sample-$m.txt"
        t1=$(date +%s.%N)
        echo "$m $t0 $t1" | awk '{ printf "%s %.3f\n", $1, $3 - $2 }' >> "$out/sample-times.txt"
    done
done
tt=$(sed -n 's/^teacher //p' "$out/sample-times.txt" | best)
ts=$(sed -n 's/^distilled //p' "$out/sample-times.txt" | best)
echo "$tt $ts" | awk '{ printf "teacher %.3f s, student %.3f s: %.1fx faster\n", $1, $2, $1 / $2 }'
echo "== distill took $(($(date +%s) - start)) s (outputs in $out)"
