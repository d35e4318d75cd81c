#!/bin/sh
# make bench: tapegrad and PyTorch on the same recurrent configurations, in
# the same run, with the same BLIS kernel set and thread count; prints ms per
# step, tokens/s, the ratio tapegrad/PyTorch, GFLOP/s of the model's
# products and their share of a 1024^3 SGEMM measured here, and peak RSS.
# Each run reports the median of STEPS steps after 3 warm-up steps; the two
# frameworks run by turns, ROUNDS times per configuration, and each keeps
# its best median (a shared VM slows either one now and then, by up to half).
# PyTorch runs when /usr/bin/python3 has torch; "PyTorch (default)" is
# PyTorch as a user gets it: its own thread count and BLIS's own choice of
# kernels.
#   bench/run.sh BENCH_RNN_BINARY
set -u
B=$1
PY=/usr/bin/python3
HERE=$(dirname "$0")
have_torch=no
"$PY" -c "import torch" 2>/dev/null && have_torch=yes
THREADS=${THREADS:-"1 2"}
STEPS=${STEPS:-20}
ROUNDS=${ROUNDS:-3}

info=$("$B" sgemm --threads 1)
kernels=$(echo "$info" | tr ' ' '\n' | sed -n 's/^kernels=//p')
arch_id=$(echo "$info" | tr ' ' '\n' | sed -n 's/^kernel_id=//p')
[ -n "${BLIS_ARCH_TYPE:-}" ] && arch_id=$BLIS_ARCH_TYPE
echo "BLIS kernels: $kernels (BLIS_ARCH_TYPE=$arch_id for both); PyTorch: $have_torch"
echo "ms per step: the best of $ROUNDS medians of $STEPS steps, the two frameworks taking turns"
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
faster() { awk -v a="$1" -v b="$2" 'BEGIN { exit !(a < b) }'; }

for th in $THREADS; do
    sg=0
    for round in $(seq "$ROUNDS"); do
        g=$(field "$(BLIS_ARCH_TYPE=$arch_id "$B" sgemm --threads "$th")" gflops)
        faster "$sg" "$g" && sg=$g
    done
    echo
    echo "== $th thread(s); 1024^3 SGEMM through the tape (best of $ROUNDS): $sg GFLOP/s"
    printf '%-34s %9s %10s %8s %7s %9s %9s %8s\n' config "tg ms" "tokens/s" "GFLOP/s" "%sgemm" "torch ms" "tg/torch" "RSS MB"
    for cfg in "a lstm 256 1 64" "a' lstm 256 1 64 --infer" "b lstm 512 2 64" "c gru 256 1 64" "d tanh 256 1 64" \
               "T16 lstm 256 1 16" "T64 lstm 256 1 64" "T256 lstm 256 1 256" "T1024 lstm 256 1 1024"; do
        set -- $cfg
        name=$1; shift
        steps=$STEPS
        [ "$name" = T1024 ] && steps=5
        best=""; tms="-"; ratio="-"
        for round in $(seq "$ROUNDS"); do
            r=$(BLIS_ARCH_TYPE=$arch_id "$B" "$@" --threads "$th" --steps "$steps")
            if [ -z "$best" ] || faster "$(field "$r" ms)" "$(field "$best" ms)"; then best=$r; fi
            if [ $have_torch = yes ]; then
                pr=$(BLIS_ARCH_TYPE=$arch_id "$PY" "$HERE/bench_torch.py" "$@" --threads "$th" --steps "$steps")
                if [ "$tms" = - ] || faster "$(field "$pr" ms)" "$tms"; then tms=$(field "$pr" ms); fi
            fi
        done
        ms=$(field "$best" ms); tps=$(field "$best" tokens_per_s); gf=$(field "$best" gflops); rss=$(field "$best" peak_rss_mb)
        share=$(awk -v a="$gf" -v b="$sg" 'BEGIN { printf "%.0f%%", 100 * a / b }')
        [ "$tms" = - ] || ratio=$(awk -v a="$ms" -v b="$tms" 'BEGIN { printf "%.2f", a / b }')
        printf '%-34s %9s %10s %8s %7s %9s %9s %8s\n' "($name) $*" "$ms" "$tps" "$gf" "$share" "$tms" "$ratio" "$rss"
    done
done

# Memory as a choice: config (a) at long T, keeping every step against
# recomputing segments (memory.recompute, the default k), by turns, one
# thread, the median of 2 steps after 1 (figures of memory more than time;
# the full tape at T = 16384 needs about 12 GB and is left out).
MEMORY_T=${MEMORY_T:-"1024 4096 16384"}
if [ -n "$MEMORY_T" ]; then
    echo
    echo "== memory: (a) lstm 256 1 T, full tape against --recompute (1 thread; median of 2 steps)"
    printf '%-8s %12s %12s %14s %14s %9s %9s\n' T "full ms" "recomp. ms" "full RSS MB" "recomp. RSS MB" "time x" "RSS /"
    for T in $MEMORY_T; do
        full=-; fms=-; frss=-
        if [ "$T" -le 4096 ]; then
            full=$(BLIS_ARCH_TYPE=$arch_id "$B" lstm 256 1 "$T" --threads 1 --steps 2 --warmup 1)
            fms=$(field "$full" ms); frss=$(field "$full" peak_rss_mb)
        fi
        rc=$(BLIS_ARCH_TYPE=$arch_id "$B" lstm 256 1 "$T" --threads 1 --steps 2 --warmup 1 --recompute)
        rms=$(field "$rc" ms); rrss=$(field "$rc" peak_rss_mb)
        tx=-; rx=-
        [ "$fms" = - ] || tx=$(awk -v a="$rms" -v b="$fms" 'BEGIN { printf "%.2f", a / b }')
        [ "$frss" = - ] || rx=$(awk -v a="$frss" -v b="$rrss" 'BEGIN { printf "%.1f", a / b }')
        printf '%-8s %12s %12s %14s %14s %9s %9s\n' "$T" "$fms" "$rms" "$frss" "$rrss" "$tx" "$rx"
    done
fi

echo
echo "== a user's LSTM from tape ops (bench_rnn --user: a row with .fuse) against the built-in LSTM, 1 thread, by turns"
printf '%-24s %9s %9s %8s %9s %9s %8s\n' config "lstm ms" "user ms" "ratio" "lstm MB" "user MB" "ratio"
for H in 256 128; do
    bi=""; us=""
    for round in $(seq "$ROUNDS"); do
        r=$(BLIS_ARCH_TYPE=$arch_id "$B" lstm "$H" 1 64 --threads 1 --steps "$STEPS")
        if [ -z "$bi" ] || faster "$(field "$r" ms)" "$(field "$bi" ms)"; then bi=$r; fi
        r=$(BLIS_ARCH_TYPE=$arch_id "$B" lstm "$H" 1 64 --user --threads 1 --steps "$STEPS")
        if [ -z "$us" ] || faster "$(field "$r" ms)" "$(field "$us" ms)"; then us=$r; fi
    done
    printf '%-24s %9s %9s %8s %9s %9s %8s\n' "lstm $H 1 64" "$(field "$bi" ms)" "$(field "$us" ms)" \
        "$(awk -v a="$(field "$us" ms)" -v b="$(field "$bi" ms)" 'BEGIN { printf "%.2f", a / b }')" \
        "$(field "$bi" peak_rss_mb)" "$(field "$us" peak_rss_mb)" \
        "$(awk -v a="$(field "$us" peak_rss_mb)" -v b="$(field "$bi" peak_rss_mb)" 'BEGIN { printf "%.2f", a / b }')"
done

if [ $have_torch = yes ]; then
    echo
    echo "== PyTorch (default): its own threads and BLIS's own kernel choice"
    for cfg in "a lstm 256 1 64" "a' lstm 256 1 64 --infer"; do
        set -- $cfg; name=$1; shift
        pr=$(env -u BLIS_ARCH_TYPE "$PY" "$HERE/bench_torch.py" "$@" --steps "$STEPS")
        echo "($name) $*: $pr"
    done
fi
