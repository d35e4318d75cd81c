#!/bin/sh
# Runs each fuzz target for SECONDS: run.sh BUILD_DIR SECONDS TARGET...
# The corpus of a target (BUILD_DIR/corpus/<target>) starts from
# tests/fuzz/seeds/<target>, its regression inputs and, for the spec
# parser, every shipped spec; it grows across runs. Prints executions and
# findings per target; a finding (a crash, a leak, a timeout, UBSan) fails
# the run, and its input is copied to tests/fuzz/regress/<target>/ for the
# suite to replay once fixed.
set -u
dir=$1 secs=$2
shift 2
status=0
for t in "$@"; do
  corpus=$dir/corpus/$t art=$dir/artifacts/$t
  mkdir -p "$corpus" "$art"
  for src in tests/fuzz/seeds/$t tests/fuzz/regress/$t; do
    [ -d "$src" ] && cp "$src"/* "$corpus"/ 2>/dev/null
  done
  [ "$t" = spec ] && for f in examples/*/spec*.json tests/cli/fixtures/*.json; do
    cp "$f" "$corpus/$(echo "$f" | tr / _)"
  done
  log=$dir/fuzz_$t.log
  rm -f "$art"/*
  t0=$(date +%s)
  "$dir/fuzz_$t" "$corpus" -max_total_time="$secs" -timeout=60 -rss_limit_mb=2048 \
    -artifact_prefix="$art/" -print_final_stats=1 >"$log" 2>&1
  rc=$?
  took=$(( $(date +%s) - t0 ))
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log")
  found=$(ls "$art" | grep -cv '^slow-unit-')
  slow=$(ls "$art" | grep -c '^slow-unit-')
  echo "fuzz $t: ${execs:-?} executions in ${took}s, $found findings, $slow slow units (exit $rc; log $log)"
  if [ "$rc" != 0 ] || [ "$found" != 0 ]; then
    status=1
    mkdir -p "tests/fuzz/regress/$t"
    for f in "$art"/*; do
      case $f in */slow-unit-*) ;; *) cp "$f" "tests/fuzz/regress/$t/";; esac
    done
    tail -40 "$log"
  fi
done
exit $status
