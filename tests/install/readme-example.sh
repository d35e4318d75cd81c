#!/bin/sh
# Prints one of the README's C examples (its ```c blocks: 1 the LSTM by
# hand, 2 the cell of one's own), so the tests build exactly what a reader
# copies. usage: sh tests/install/readme-example.sh [README.md] [N (1)]
awk -v want="${2:-1}" '/^```c$/ { on = 1; n++; next } /^```/ { on = 0 } on && n == want { print }
     END { if (n < want) { print "README: expected a ```c block number " want ", found " n > "/dev/stderr"; exit 1 } }' \
    "${1:-README.md}"
