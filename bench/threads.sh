#!/bin/sh
# make bench-threads: config (a) training steps on 1 and 2 threads with one
# busy neighbour process (`yes >/dev/null`, started and stopped here), under
# OpenMP's wait policies: p50 and p95 of every steady step per setting, the
# load average alongside. On 2 cores, a 2-thread team shares a core with
# the neighbour, and a thread that spins at a barrier while its partner is
# descheduled wastes its slice: the p95 column shows what each setting does
# about it. (BLIS's own barriers spin whatever OMP_WAIT_POLICY says.)
# "default" is what bench_rnn runs with when nothing is set: tapegrad's
# GOMP_SPINCOUNT=10000 (tg_wait_policy_exec); "libgomp's default" is
# GOMP_SPINCOUNT=300000, what a program that does not choose gets.
#   bench/threads.sh BENCH_RNN_BINARY      STEPS=N (default 20)
set -u
B=$1
STEPS=${STEPS:-20}
CFG=${CFG:-"lstm 256 1 64"}
load() { cut -d' ' -f1-3 /proc/loadavg; }
# "p50 p95" of a comma-separated list of ms
stats() {
    echo "$1" | tr ',' '\n' | grep . | sort -n |
        awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
                                  printf "%s %s\n", v[int((NR - 1) * 0.5 + 0.5) + 1], v[int((NR - 1) * 0.95 + 0.5) + 1] }'
}
yes >/dev/null &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT INT TERM
echo "== ($CFG) training, one busy neighbour (pid $busy), $STEPS steps each; load at start $(load)"
printf '%-36s %9s %9s %8s\n' setting "p50 ms" "p95 ms" "p95/p50"
for setting in "1 thread|1|" "2 threads, default|2|" "2 threads, libgomp's default|2|GOMP_SPINCOUNT=300000" \
               "2 threads, OMP_WAIT_POLICY=passive|2|OMP_WAIT_POLICY=passive" \
               "2 threads, OMP_WAIT_POLICY=active|2|OMP_WAIT_POLICY=active" \
               "2 threads, GOMP_SPINCOUNT=1000|2|GOMP_SPINCOUNT=1000"; do
    name=$(echo "$setting" | cut -d'|' -f1)
    th=$(echo "$setting" | cut -d'|' -f2)
    envs=$(echo "$setting" | cut -d'|' -f3)
    r=$(env $envs "$B" $CFG --threads "$th" --steps "$STEPS" </dev/null)
    set -- $(stats "$(echo "$r" | tr ' ' '\n' | sed -n 's/^ms_all=//p')")
    printf '%-36s %9s %9s %8s\n' "$name" "$1" "$2" "$(awk -v a="$2" -v b="$1" 'BEGIN { printf "%.2f", a / b }')"
done
echo "load at end: $(load)"
