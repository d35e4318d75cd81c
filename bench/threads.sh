#!/bin/sh
# make bench-threads: config (a) training steps on 1 and 2 threads, first
# on the machine as it is, then beside one busy neighbour process
# (`yes >/dev/null`, started and stopped here): p50 and p95 of every steady
# step per setting, the thread counts the steps ran at ("teams", count:steps)
# and the load average alongside.
# On 2 cores, a 2-thread team shares a core with the neighbour, and a
# thread that spins at a barrier while its partner is descheduled wastes
# its slice; BLIS's own barriers spin whatever OMP_WAIT_POLICY says.
# "default" is what tapegrad train and bench_rnn do when nothing is set:
# --threads 2 is a ceiling and before each step tg_threads_auto takes as
# many threads as there are cores no other process runs on
# (core/threads_auto.c), under tapegrad's GOMP_SPINCOUNT=10000
# (tg_wait_policy_exec). The "fixed 2" rows keep the team at 2
# (TAPEGRAD_FIXED_THREADS=1) under OpenMP's wait policies, to show the
# collapse the default avoids; "libgomp's default" is GOMP_SPINCOUNT=300000,
# what a program that does not choose gets.
#   bench/threads.sh BENCH_RNN_BINARY      STEPS=N (default 20)
set -u
B=$1
STEPS=${STEPS:-20}
CFG=${CFG:-"lstm 256 1 64"}
load() { cut -d' ' -f1-4 /proc/loadavg; }
# "p50 p95" of a comma-separated list of ms
stats() {
    echo "$1" | tr ',' '\n' | grep . | sort -n |
        awk '{ v[NR] = $1 } END { if (!NR) { print "- -"; exit }
                                  printf "%s %s\n", v[int((NR - 1) * 0.5 + 0.5) + 1], v[int((NR - 1) * 0.95 + 0.5) + 1] }'
}
# one row per "name|threads|environment" argument
rows() {
    printf '%-38s %9s %9s %8s  %s\n' setting "p50 ms" "p95 ms" "p95/p50" teams
    for setting in "$@"; do
        name=$(echo "$setting" | cut -d'|' -f1)
        th=$(echo "$setting" | cut -d'|' -f2)
        envs=$(echo "$setting" | cut -d'|' -f3)
        r=$(env $envs "$B" $CFG --threads "$th" --steps "$STEPS" </dev/null)
        teams=$(echo "$r" | tr ' ' '\n' | sed -n 's/^teams=//p')
        set -- $(stats "$(echo "$r" | tr ' ' '\n' | sed -n 's/^ms_all=//p')")
        printf '%-38s %9s %9s %8s  %s\n' "$name" "$1" "$2" \
            "$(awk -v a="$2" -v b="$1" 'BEGIN { printf "%.2f", a / b }')" "$teams"
    done
}
F=TAPEGRAD_FIXED_THREADS=1
echo "== ($CFG) training, no neighbour of ours, $STEPS steps each; load at start $(load)"
rows "1 thread|1|" "2 threads, default (load-aware)|2|"
yes >/dev/null &
busy=$!
trap 'kill $busy 2>/dev/null' EXIT INT TERM
echo "== the same beside one busy neighbour (pid $busy); load at start $(load)"
rows "1 thread|1|" "2 threads, default (load-aware)|2|" \
     "fixed 2, GOMP_SPINCOUNT=10000|2|$F" \
     "fixed 2, libgomp's default|2|$F GOMP_SPINCOUNT=300000" \
     "fixed 2, OMP_WAIT_POLICY=passive|2|$F OMP_WAIT_POLICY=passive" \
     "fixed 2, OMP_WAIT_POLICY=active|2|$F OMP_WAIT_POLICY=active" \
     "fixed 2, GOMP_SPINCOUNT=1000|2|$F GOMP_SPINCOUNT=1000"
echo "load at end: $(load)"
