#!/bin/sh
# make bench-memory: what train.memory buys on config (a) (LSTM 256, batch
# 32, embedding 64, 65 tokens, one thread) at long sequences: peak RSS and
# ms per training step for the full tape, per-layer recomputation
# (bench_rnn --recompute: the same gradients bit for bit) and whole-model
# recomputation (--stack-recompute: to rounding), each in its own process,
# the three by turns at each T; ratios against the full tape. Wall ms are
# noisy on a shared machine (the load average is printed); CPU ms of the
# process per step are quoted beside them.
#   bench/memory.sh BENCH_RNN_BINARY
#   TS="1024 4096 16384"  sequence lengths
#   STEPS=2 WARMUP=1      steps timed and untimed per run
#   FULL_MAX_MB=8192      the full tape is skipped where it would need more
#                         (estimated from the largest T it ran at, linearly)
set -u
B=$1
TS=${TS:-"1024 4096 16384"}
STEPS=${STEPS:-2}
WARMUP=${WARMUP:-1}
FULL_MAX_MB=${FULL_MAX_MB:-8192}
load() { cut -d' ' -f1-3 /proc/loadavg; }
# the value of key $2 in bench_rnn's line $1
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "" || b == "" || b == 0) print "-"; else printf "%.2f", a / b }'; }

echo "== config (a) LSTM 256, batch 32, 1 thread: train.memory at long T; $STEPS steps after $WARMUP; load at start $(load)"
printf '%-6s %-11s %11s %10s %10s %11s %11s\n' T memory "peak RSS MB" "ms/step" "cpu ms" "RSS full/x" "cpu x/full"
full_t=0
full_mb=0
for T in $TS; do
    est=$(awk -v mb="$full_mb" -v t0="$full_t" -v t="$T" 'BEGIN { if (t0) printf "%.0f", mb * t / t0; else print 0 }')
    frss=""
    fcpu=""
    for mode in full per-layer whole-model; do
        case $mode in
        full) flag="" ;;
        per-layer) flag="--recompute" ;;
        whole-model) flag="--stack-recompute" ;;
        esac
        if [ "$mode" = full ] && [ "$est" -gt "$FULL_MAX_MB" ]; then
            printf '%-6s %-11s %11s %10s %10s %11s %11s\n' "$T" full "(~$est)" "not run" "-" "-" "-"
            echo "       (the full tape would need about $est MB, over FULL_MAX_MB=$FULL_MAX_MB)"
            continue
        fi
        r=$("$B" lstm 256 1 "$T" --threads 1 --steps "$STEPS" --warmup "$WARMUP" $flag </dev/null)
        if [ -z "$r" ]; then
            echo "bench_rnn failed at T=$T ($mode)" >&2
            exit 1
        fi
        rss=$(field "$r" peak_rss_mb)
        ms=$(field "$r" ms)
        cpu=$(field "$r" cpu_ms)
        if [ "$mode" = full ]; then
            frss=$rss
            fcpu=$cpu
            full_t=$T
            full_mb=$rss
        fi
        printf '%-6s %-11s %11s %10s %10s %11s %11s\n' "$T" "$mode" "$rss" "$ms" "$cpu" \
            "$(ratio "$frss" "$rss")" "$(ratio "$cpu" "$fcpu")"
    done
done
echo "load at end: $(load)"
