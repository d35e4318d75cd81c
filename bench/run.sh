#!/bin/sh
# make bench: tapegrad and PyTorch on the same recurrent configurations, in
# the same run, with the same BLIS kernel set and thread count.
# The two frameworks run by turns, ROUNDS times per configuration, and every
# steady step of every round is pooled: the table gives the median (p50) and
# p90 of all of them, so a shared machine's slow moments show as a wide p90
# instead of being picked away. For training configurations tapegrad also
# replays each step's own BLIS products through bare BLIS right after the
# step (bench_rnn --floor): "floor" is the median of those replays and
# "x floor" the step's p50 over it; "faults" is minor page faults per
# steady step. The load average is printed with every section: a figure
# taken at load 2 on 2 cores is not one taken on an idle machine.
# PyTorch runs when /usr/bin/python3 has torch; "PyTorch (default)" is
# PyTorch as a user gets it: its own thread count and BLIS's own choice of
# kernels.
#   bench/run.sh BENCH_RNN_BINARY
#   BENCH=quick: fewer configurations, steps and rounds (under 3 minutes);
#   BENCH=full (make bench's default): everything.
set -u
B=$1
PY=/usr/bin/python3
HERE=$(dirname "$0")
BENCH=${BENCH:-full}
have_torch=no
"$PY" -c "import torch" 2>/dev/null && have_torch=yes
if [ "$BENCH" = quick ]; then
    CONFIGS=${CONFIGS:-"a lstm 256 1 64|a' lstm 256 1 64 --infer|c gru 256 1 64"}
    STEPS=${STEPS:-8}; ROUNDS=${ROUNDS:-2}; MEMORY_T=${MEMORY_T-1024}; USER_H=${USER_H:-256}
else
    CONFIGS=${CONFIGS:-"a lstm 256 1 64|a' lstm 256 1 64 --infer|b lstm 512 2 64|c gru 256 1 64|d tanh 256 1 64|T16 lstm 256 1 16|T64 lstm 256 1 64|T256 lstm 256 1 256|T1024 lstm 256 1 1024"}
    STEPS=${STEPS:-20}; ROUNDS=${ROUNDS:-3}; MEMORY_T=${MEMORY_T-"1024 4096 16384"}; USER_H=${USER_H:-"256 128"}
fi
THREADS=${THREADS:-"1 2"}

info=$("$B" sgemm --threads 1)
kernels=$(echo "$info" | tr ' ' '\n' | sed -n 's/^kernels=//p')
arch_id=$(echo "$info" | tr ' ' '\n' | sed -n 's/^kernel_id=//p')
[ -n "${BLIS_ARCH_TYPE:-}" ] && arch_id=$BLIS_ARCH_TYPE
field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# "p50 p90" of a comma-separated list of ms
stats() {
    echo "$1" | tr ',' '\n' | grep . | sort -n |
        awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
                                  printf "%s %s\n", v[int((NR - 1) * 0.5 + 0.5) + 1], v[int((NR - 1) * 0.9 + 0.5) + 1] }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else printf "-" }'; }
echo "BLIS kernels: $kernels (BLIS_ARCH_TYPE=$arch_id for both); PyTorch: $have_torch; BENCH=$BENCH"
echo "ms per step: p50 and p90 of every steady step of $ROUNDS rounds of $STEPS steps, the two frameworks by turns"
echo "load average at start: $(load) ($(nproc) cores)"

for th in $THREADS; do
    sg=""
    for round in $(seq "$ROUNDS"); do
        sg="$sg,$(field "$(BLIS_ARCH_TYPE=$arch_id "$B" sgemm --threads "$th")" gflops)"
    done
    set -- $(stats "$sg")
    echo
    echo "== $th thread(s); 1024^3 SGEMM through the tape (median of $ROUNDS): $1 GFLOP/s; load $(load)"
    sg=$1
    printf '%-30s %8s %8s %8s %7s %7s %8s %8s %9s %9s %7s %7s\n' config "tg p50" "tg p90" "floor" "x floor" faults \
        "GFLOP/s" "%sgemm" "torch p50" "torch p90" "tg/torch" "RSS MB"
    echo "$CONFIGS" | tr '|' '\n' | while read -r cfg; do
        set -- $cfg
        name=$1; shift
        steps=$STEPS
        [ "$name" = T1024 ] && steps=5
        fl=--floor
        case " $* " in *" --infer "*) fl= ;; esac
        tg=""; torch=""; floors=""; r=""
        for round in $(seq "$ROUNDS"); do
            # the thread count of the row, even on a busy machine (bench_rnn would
            # otherwise take fewer, as tapegrad train does: core/threads_auto.c)
            r=$(TAPEGRAD_FIXED_THREADS=1 BLIS_ARCH_TYPE=$arch_id "$B" "$@" $fl --threads "$th" --steps "$steps" </dev/null)
            tg="$tg,$(field "$r" ms_all)"
            floors="$floors,$(field "$r" floor_ms)"
            if [ $have_torch = yes ]; then
                pr=$(BLIS_ARCH_TYPE=$arch_id "$PY" "$HERE/bench_torch.py" "$@" --threads "$th" --steps "$steps" </dev/null)
                torch="$torch,$(field "$pr" ms_all)"
            fi
        done
        set -- $(stats "$tg"); tp50=$1; tp90=$2
        set -- $(stats "$torch"); pp50=$1; pp90=$2
        set -- $(stats "$floors"); fm=$1
        # GFLOP/s at the pooled median, from the last round's figures
        gf=$(awk -v g="$(field "$r" gflops)" -v m="$(field "$r" ms)" -v p="$tp50" 'BEGIN { printf "%.1f", g * m / p }')
        share=$(awk -v a="$gf" -v b="$sg" 'BEGIN { printf "%.0f%%", 100 * a / b }')
        printf '%-30s %8s %8s %8s %7s %7s %8s %8s %9s %9s %7s %7s\n' "($name) $(echo "$cfg" | cut -d' ' -f2-)" \
            "$tp50" "$tp90" "$fm" "$(ratio "$tp50" "$fm")" "$(field "$r" faults_per_step)" "$gf" "$share" \
            "$pp50" "$pp90" "$(ratio "$tp50" "$pp50")" "$(field "$r" peak_rss_mb)"
    done
done

# Memory as a choice: config (a) at long T, keeping every step against
# recomputing segments (memory.recompute, the default k), by turns, one
# thread, the median of 2 steps after 1 (figures of memory more than time;
# the full tape at T = 16384 needs about 12 GB and is left out).
if [ -n "$MEMORY_T" ]; then
    echo
    echo "== memory: (a) lstm 256 1 T, full tape against --recompute (1 thread; median of 2 steps); load $(load)"
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
echo "== a user's LSTM from tape ops (bench_rnn --user: a row with .fuse) against the built-in LSTM, 1 thread, by turns, pooled p50; load $(load)"
printf '%-24s %9s %9s %8s %9s %9s %8s\n' config "lstm ms" "user ms" "ratio" "lstm MB" "user MB" "ratio"
for H in $USER_H; do
    bi=""; us=""; rb=""; ru=""
    for round in $(seq "$ROUNDS"); do
        rb=$(BLIS_ARCH_TYPE=$arch_id "$B" lstm "$H" 1 64 --threads 1 --steps "$STEPS")
        bi="$bi,$(field "$rb" ms_all)"
        ru=$(BLIS_ARCH_TYPE=$arch_id "$B" lstm "$H" 1 64 --user --threads 1 --steps "$STEPS")
        us="$us,$(field "$ru" ms_all)"
    done
    set -- $(stats "$bi"); bm=$1
    set -- $(stats "$us"); um=$1
    printf '%-24s %9s %9s %8s %9s %9s %8s\n' "lstm $H 1 64" "$bm" "$um" "$(ratio "$um" "$bm")" \
        "$(field "$rb" peak_rss_mb)" "$(field "$ru" peak_rss_mb)" \
        "$(ratio "$(field "$ru" peak_rss_mb)" "$(field "$rb" peak_rss_mb)")"
done

if [ $have_torch = yes ]; then
    echo
    echo "== PyTorch (default): its own threads and BLIS's own kernel choice; load $(load)"
    for cfg in "a lstm 256 1 64" "a' lstm 256 1 64 --infer"; do
        set -- $cfg; name=$1; shift
        pr=$(env -u BLIS_ARCH_TYPE "$PY" "$HERE/bench_torch.py" "$@" --steps "$STEPS")
        echo "($name) $*: $(echo "$pr" | sed 's/ ms_all=.*//')"
    done
fi
echo
echo "load average at end: $(load)"
