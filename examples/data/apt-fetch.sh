#!/bin/sh
# The first half of every Debian-package fetch script: downloads PKGs with
# apt-get download (not installed) into DIR, running apt-get update first
# if the package lists are missing (a fresh machine), and unpacks each .deb
# under DIR/root with dpkg-deb -x. NAME starts the error messages.
#
#   sh examples/data/apt-fetch.sh NAME DIR PKG...
set -eu
name=$1 dir=$2
shift 2
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    { echo "$name: apt-get and dpkg-deb are needed (Debian)" >&2; exit 1; }
if ! (cd "$dir" && apt-get download "$@" >/dev/null 2>&1); then
    if [ "$(id -u)" = 0 ]; then apt-get update -qq >/dev/null; else sudo apt-get update -qq >/dev/null; fi
    (cd "$dir" && apt-get download "$@" >/dev/null) ||
        { echo "$name: apt-get download $* failed" >&2; exit 1; }
fi
for deb in "$dir"/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
