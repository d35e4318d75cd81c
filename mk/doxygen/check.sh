#!/bin/sh
# Reads Doxygen's warning log (make docs) and fails on any warning but an
# undocumented struct, struct member, type, enum or macro: an undocumented
# function, a broken reference or a malformed comment fails the build.
# The undocumented others are counted, to be worked down.
# usage: sh mk/doxygen/check.sh build/docs/warnings.log
set -e
log=$1
tolerated='(Compound [^ ]+ is not documented|\((variable|typedef|macro definition|enumeration|enumvalue)\) of [^ ]+ [^ ]+ is not documented)'
bad=$(grep -Ev "$tolerated" "$log" | grep . || true)
if [ -n "$bad" ]; then
    printf '%s\n' "$bad" >&2
    echo "make docs: $(printf '%s\n' "$bad" | wc -l) warnings above (undocumented functions or doc errors)" >&2
    exit 1
fi
n=$(grep -Ec "$tolerated" "$log" || true)
echo "make docs: every public function documented; $n structs, members, types and macros without a comment ($log)"
