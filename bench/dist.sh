#!/bin/sh
# make bench-dist: data-parallel training figures for configuration (a)
# (embedding 64, LSTM 256, vocabulary 65, T 64, Adam, global batch 64):
# tokens/s of 1 process x 2 threads against 2 processes x 1 thread (mpirun),
# by turns, ROUNDS times each (a shared machine slows either one now and
# then), with 1 process x 1 thread for reference; and from the 2-process runs the gradient bytes each rank sends per
# step, the time per step from the first bucket's start to the last sum and
# the part of it waited for after backward. The text is generated (65
# distinct bytes), so nothing is fetched.
#   bench/dist.sh TAPEGRAD_BINARY_BUILT_WITH_MPI
set -eu
B=$1
STEPS=${STEPS:-40}
ROUNDS=${ROUNDS:-3}
MPIRUN=${MPIRUN:-mpirun --oversubscribe}
# buckets of 256 KB: the 1.4 MB of gradients in 6, so sums start during backward
export TAPEGRAD_BUCKET_KB=${TAPEGRAD_BUCKET_KB:-256}
[ "$(id -u)" = 0 ] && export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
DIR=$(mktemp -d)
trap 'rm -rf "$DIR"' EXIT
# 2 MB of words over a 65-symbol alphabet (64 printable bytes and newline)
awk 'BEGIN { srand(1); a = "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789 .,;:!?";
  for (i = 0; i < 2000000; i++) { printf "%s", substr(a, 1 + int(rand() * 64), 1);
  if (i % 80 == 79) printf "\n" } }' > "$DIR/text.txt"
cat > "$DIR/a.json" <<JSON
{"tapegrad": 1, "task": "language_model", "input": {"type": "tokens"},
 "model": {"layers": [{"type": "embedding", "dim": 64}, {"type": "lstm", "hidden": 256},
   {"type": "linear", "out": "vocab"}]},
 "optimizer": {"type": "adam", "lr": 0.002, "clip_norm": 5},
 "train": {"batch": 64, "seq_len": 64, "steps": $STEPS, "eval_every": 0, "checkpoint_every": 0,
   "log_every": $STEPS, "valid_fraction": 0.01, "seed": 1}}
JSON
rate() { sed -n 's/.* \([0-9]*\) tok\/s.*/\1/p' "$1" | tail -1; }
echo "configuration (a), global batch 64, $STEPS steps per run, $ROUNDS rounds; load: $(cut -d' ' -f1-3 /proc/loadavg)"
best1=0 best2=0 best0=0
for r in $(seq "$ROUNDS"); do
  "$B" train "$DIR/a.json" --data "$DIR/text.txt" --checkpoint "$DIR/ref.safetensors" --threads 1 > "$DIR/ref.out" 2>&1
  TAPEGRAD_FIXED_THREADS=1 "$B" train "$DIR/a.json" --data "$DIR/text.txt" --checkpoint "$DIR/one.safetensors" --threads 2 > "$DIR/one.out" 2>&1
  $MPIRUN -x TAPEGRAD_BUCKET_KB -np 2 "$B" train "$DIR/a.json" --data "$DIR/text.txt" --checkpoint "$DIR/two.safetensors" --threads 1 > "$DIR/two.out" 2>&1
  z=$(rate "$DIR/ref.out") a=$(rate "$DIR/one.out") b=$(rate "$DIR/two.out")
  echo "round $r: 1 process x 1 thread $z tok/s; 1 x 2 threads $a tok/s; 2 processes x 1 thread $b tok/s"
  [ "$z" -gt "$best0" ] && best0=$z
  [ "$a" -gt "$best1" ] && best1=$a
  [ "$b" -gt "$best2" ] && best2=$b
  grep '^exchange:' "$DIR/two.out"
done
echo "best: 1 x 1 thread $best0 tok/s, 1 x 2 threads $best1 tok/s, 2 x 1 thread $best2 tok/s; load: $(cut -d' ' -f1-3 /proc/loadavg)"
