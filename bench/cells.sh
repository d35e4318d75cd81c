#!/bin/sh
# make bench-cells: the cells issue 16 asks to run at the built-in LSTM's
# speed, each against the built-in in the same run, and tapegrad's
# layer-norm LSTM against PyTorch's.
#   1. At config (a)'s shapes (embedding 64, batch 32, T 64, 1 thread) and
#      each HIDDEN, every --cell of bench_rnn (user: the README's LSTM from
#      tape ops; json: examples/cells/json/lstm.json; ln: layer norm;
#      peephole; zoneout 0.1; rdrop: recurrent dropout 0.25) with --versus:
#      its steps by turns with the built-in LSTM's in one process, ROUNDS
#      times. x is the p50 of every such step's ratio (the cell's ms over
#      the built-in's next to it), pooled over the rounds, with p10-p90:
#      both see the same load at the same moment, so a busy neighbour moves
#      the ratio far less than it moves ratios of separate runs. Peak RSS
#      and its ratio come from a short run of each alone; the target (issue
#      16) met or not on each.
#   2. The layer-norm LSTM against PyTorch's as its users write it
#      (bench/bench_torch_ln.py: an nn.Module cell with three nn.LayerNorm
#      in a Python loop, and under TorchScript), by turns, the speed-up
#      tapegrad has (PyTorch's p50 over tapegrad's) and its target.
#   bench/cells.sh BENCH_RNN_BINARY
#   BENCH=quick: hidden 256 only, fewer rounds and steps (about a minute
#   on an idle machine); HIDDEN, ROUNDS, STEPS, CELLS override.
set -u
B=$1
PY=/usr/bin/python3
HERE=$(dirname "$0")
JSON=$HERE/../examples/cells/json/lstm.json
if [ "${BENCH:-full}" = quick ]; then
    HIDDEN=${HIDDEN:-256}; ROUNDS=${ROUNDS:-2}; STEPS=${STEPS:-6}
else
    HIDDEN=${HIDDEN:-"256 128"}; ROUNDS=${ROUNDS:-3}; STEPS=${STEPS:-10}
fi
CELLS=${CELLS:-"user json ln peephole zoneout rdrop"}
have_torch=no
"$PY" -c "import torch" 2>/dev/null && have_torch=yes

field() { echo "$1" | tr ' ' '\n' | sed -n "s/^$2=//p"; }
load() { cut -d' ' -f1-3 /proc/loadavg; }
# the $2-quantile of the comma-separated values $1; p50, the median
q() {
    echo "$1" | tr ',' '\n' | grep . | sort -n |
        awk -v q="$2" '{ v[NR] = $1 } END { if (NR) print v[int((NR - 1) * q + 0.5) + 1]; else print "-" }'
}
p50() { q "$1" 0.5; }
three() { awk -v a="$1" 'BEGIN { if (a == "-") print a; else printf "%.3f", a }'; }
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (b + 0 > 0 && a != "-") printf "%.2f", a / b; else printf "-" }'; }
# "yes" when ratio $1 is at most $2 (or, with $3 = min, at least $2)
meets() {
    awk -v r="$1" -v t="$2" -v m="${3:-max}" 'BEGIN { if (r == "-") print "-";
        else if ((m == "max" && r + 0 <= t + 0) || (m == "min" && r + 0 >= t + 0)) print "yes";
        else print "NO" }'
}
target() {
    case $1 in user) echo 1.10 ;; json) echo 1.05 ;; ln) echo 1.20 ;; *) echo 1.15 ;; esac
}

echo "cells against the built-in LSTM: (a)'s shapes, 1 thread; each cell's steps by turns with the built-in's in one process (bench_rnn --versus), $ROUNDS rounds of $STEPS steps; x is the p50 of the steps' ratios (p10-p90 beside it); peak RSS from a run of each alone"
echo "load average at start: $(load) ($(nproc) cores)"
for H in $HIDDEN; do
    dir=$(mktemp -d)
    for round in $(seq "$ROUNDS"); do
        for c in $CELLS; do
            r=$("$B" lstm "$H" 1 64 --threads 1 --steps "$STEPS" --cell "$c" --cell-json "$JSON" \
                --versus </dev/null) || exit 1
            printf ',%s' "$(field "$r" ms_all)" >>"$dir/$c.ms"
            printf ',%s' "$(field "$r" vs_ratio_all)" >>"$dir/$c.x"
            printf ',%s' "$(field "$r" vs_ms_all)" >>"$dir/lstm.ms"
        done
    done
    for c in lstm $CELLS; do
        flag=""
        [ "$c" = lstm ] || flag="--cell $c --cell-json $JSON"
        r=$("$B" lstm "$H" 1 64 --threads 1 --steps 2 --warmup 1 $flag </dev/null) || exit 1
        field "$r" peak_rss_mb >"$dir/$c.rss"
    done
    echo
    echo "== lstm $H 1 64 (hidden $H); load $(load)"
    printf '%-9s %8s %6s %12s %7s %6s %7s %8s %8s\n' cell "wall ms" "x" "x p10-p90" "RSS MB" "x" \
        target "time ok" "RSS ok"
    br=$(cat "$dir/lstm.rss")
    for c in lstm $CELLS; do
        w=$(p50 "$(cat "$dir/$c.ms")"); m=$(cat "$dir/$c.rss"); xm=$(ratio "$m" "$br")
        x=1.000; spread=-; tg=-; ok=-; rok=-
        if [ "$c" != lstm ]; then
            x=$(three "$(p50 "$(cat "$dir/$c.x")")")
            spread="$(three "$(q "$(cat "$dir/$c.x")" 0.1)")-$(three "$(q "$(cat "$dir/$c.x")" 0.9)")"
            tg=$(target "$c"); ok=$(meets "$x" "$tg")
            [ "$c" = user ] && rok=$(meets "$xm" 1.10)
        fi
        printf '%-9s %8s %6s %12s %7s %6s %7s %8s %8s\n' "$c" "$w" "$x" "$spread" "$m" "$xm" "$tg" \
            "$ok" "$rok"
    done
    rm -r "$dir"
done

[ $have_torch = yes ] || { echo; echo "PyTorch: not found, no LN-LSTM comparison"; exit 0; }
echo
echo "== layer-norm LSTM: tapegrad (--cell ln) against PyTorch's (bench_torch_ln.py: Python loop; TorchScript), 1 thread, by turns; load $(load)"
printf '%-7s %8s %8s %9s %9s %7s %9s %9s %7s %7s %6s\n' hidden "tg wall" "tg cpu" "py wall" "py cpu" "x cpu" \
    "jit wall" "jit cpu" "x cpu" target ok
for H in $HIDDEN; do
    tw=""; tc=""; pw=""; pc=""; jw=""; jc=""; jit=yes
    for round in $(seq "$ROUNDS"); do
        r=$("$B" lstm "$H" 1 64 --threads 1 --steps "$STEPS" --cell ln </dev/null) || exit 1
        tw="$tw,$(field "$r" ms_all)"; tc="$tc,$(field "$r" cpu_all)"
        r=$("$PY" "$HERE/bench_torch_ln.py" "$H" 64 --threads 1 --steps "$STEPS" </dev/null)
        pw="$pw,$(field "$r" ms_all)"; pc="$pc,$(field "$r" cpu_all)"
        if [ $jit = yes ]; then
            r=$("$PY" "$HERE/bench_torch_ln.py" "$H" 64 --script --threads 1 --steps "$STEPS" </dev/null) || jit=no
            jw="$jw,$(field "$r" ms_all)"; jc="$jc,$(field "$r" cpu_all)"
        fi
    done
    t=$(p50 "$tc"); p=$(p50 "$pc"); j=$(p50 "$jc")
    [ $jit = yes ] || j=-
    xp=$(ratio "$p" "$t"); xj=$(ratio "$j" "$t")
    tgt=1.5; [ "$H" -le 128 ] && tgt=2.5
    printf '%-7s %8s %8s %9s %9s %7s %9s %9s %7s %7s %6s\n' "$H" "$(p50 "$tw")" "$t" "$(p50 "$pw")" "$p" "$xp" \
        "$(p50 "$jw")" "$j" "$xj" ">=$tgt" "$(meets "$xp" "$tgt" min)"
done
echo
echo "load average at end: $(load)"
