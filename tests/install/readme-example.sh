#!/bin/sh
# Prints the README's C example (its one ```c block), so the tests build
# exactly what a reader copies. usage: sh tests/install/readme-example.sh [README.md]
awk '/^```c$/ { on = 1; n++; next } /^```/ { on = 0 } on { print }
     END { if (n != 1) { print "README: expected one ```c block, found " n > "/dev/stderr"; exit 1 } }' \
    "${1:-README.md}"
