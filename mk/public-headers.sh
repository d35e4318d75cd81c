#!/bin/sh
# Prints the headers tapegrad.h reaches (the ones `make install` installs),
# one path a line relative to the source tree, as the compiler finds them:
# a header that tapegrad.h stops including stops being installed.
# usage: sh mk/public-headers.sh [CC]
set -e
cc=${1:-cc}
$cc -MM -MT x tapegrad.h | sed -e 's/^x://' -e 's/\\$//' | tr ' ' '\n' | grep . |
    xargs realpath --relative-to=. | sort -u
