#!/bin/sh
# make bench-sample: characters per second of `tapegrad sample` at batch 1
# (GEMV-bound: one row per product) on the demo's model shapes (embedding
# 32 -> LSTM 256 -> linear over a 65-character vocabulary, as
# examples/charlm/spec.json on Moby Dick), against PyTorch's equivalent
# loop (bench_torch_sample.py), by turns, ROUNDS each, median of the rounds,
# at 1 and 2 threads, with the load average. tapegrad's figure is the whole
# command's (start-up, reading the checkpoint, printing included); PyTorch's
# only its loop's, so the ratio is if anything unfair to tapegrad.
#   bench/bench_sample.sh TAPEGRAD_BINARY BENCH_RNN_BINARY
#   LENGTH=N characters per run (default 20000), ROUNDS (3), THREADS ("1 2")
set -eu
TG=$1
B=$2
PY=/usr/bin/python3
HERE=$(dirname "$0")
LENGTH=${LENGTH:-20000}
ROUNDS=${ROUNDS:-3}
THREADS=${THREADS:-"1 2"}
dir=$(mktemp -d)
trap 'rm -rf "$dir"' EXIT
load() { cut -d' ' -f1-3 /proc/loadavg; }
now() { date +%s.%N; }
median() { tr ' ' '\n' | grep . | sort -g | awk '{ v[NR] = $1 } END { print NR ? v[int((NR + 1) / 2)] : "-" }'; }
# 65 characters, as Moby Dick's text has about that many distinct ones
awk 'BEGIN { srand(1); s = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789 .";
             for (i = 0; i < 4000; i++) { printf "%s", substr(s, 1 + int(rand() * 64), 1); if (i % 60 == 59) print "" } }' \
    > "$dir/text.txt"
cat > "$dir/spec.json" <<'JSON'
{"tapegrad": 1, "task": "language_model", "input": {"type": "tokens"},
 "model": {"layers": [{"type": "embedding", "dim": 32}, {"type": "lstm", "hidden": 256},
                      {"type": "linear", "out": "vocab"}]},
 "optimizer": {"type": "adam", "lr": 0.004},
 "train": {"batch": 4, "seq_len": 16, "steps": 1, "log_every": 1, "seed": 1},
 "sample": {"length": 400, "temperature": 0.7, "prime": "The whale"}}
JSON
"$TG" train "$dir/spec.json" --data "$dir/text.txt" --checkpoint "$dir/m.safetensors" \
    --threads 1 >/dev/null 2>&1 || { echo "bench_sample: tapegrad train failed" >&2; exit 1; }
vocab=$(tr -d '\n' < "$dir/text.txt" | fold -w1 | sort -u | wc -l)
vocab=$((vocab + 1)) # the newline
arch_id=${BLIS_ARCH_TYPE:-$("$B" sgemm --threads 1 | tr ' ' '\n' | sed -n 's/^kernel_id=//p')}
have_torch=no
"$PY" -c "import torch" 2>/dev/null && have_torch=yes
echo "== sampling at batch 1: $LENGTH characters per run, median of $ROUNDS runs by turns;" \
     "vocabulary $vocab; PyTorch: $have_torch; load $(load)"
printf '%-9s %14s %14s %9s\n' threads "tg chars/s" "torch chars/s" "tg/torch"
for th in $THREADS; do
    tg=""; torch=""
    for round in $(seq "$ROUNDS"); do
        t0=$(now)
        BLIS_ARCH_TYPE=$arch_id "$TG" sample "$dir/spec.json" --checkpoint "$dir/m.safetensors" \
            --length "$LENGTH" --seed "$round" --threads "$th" >/dev/null
        t1=$(now)
        tg="$tg $(awk -v n="$LENGTH" -v a="$t0" -v b="$t1" 'BEGIN { printf "%.0f", n / (b - a) }')"
        if [ $have_torch = yes ]; then
            r=$(BLIS_ARCH_TYPE=$arch_id "$PY" "$HERE/bench_torch_sample.py" "$vocab" "$LENGTH" --threads "$th")
            torch="$torch $(echo "$r" | tr ' ' '\n' | sed -n 's/^chars_per_s=//p')"
        fi
    done
    mt=$(echo "$tg" | median); mp=$(echo "$torch" | median)
    printf '%-9s %14s %14s %9s\n' "$th" "$mt" "$mp" \
        "$(awk -v a="$mt" -v b="$mp" 'BEGIN { if (b + 0 > 0) printf "%.2f", a / b; else printf "-" }')"
done
echo "load at end: $(load)"
