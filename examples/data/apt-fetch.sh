#!/bin/sh
# The first half of every Debian-package fetch script: downloads PKGs with
# apt-get download (not installed) into DIR, running apt-get update first
# if the package lists are missing (a fresh machine), and unpacks each .deb
# under DIR/root with dpkg-deb -x. NAME starts the error messages; when
# apt-get fails, its own output follows (the reason).
#
#   sh examples/data/apt-fetch.sh NAME DIR PKG...
set -eu
name=$1 dir=$2
shift 2
command -v apt-get >/dev/null && command -v dpkg-deb >/dev/null ||
    { echo "$name: apt-get and dpkg-deb are needed (Debian)" >&2; exit 1; }
log="$dir/apt.log"
failed() { # what failed, then apt-get's own words
    echo "$name: $1 failed; apt-get said:" >&2
    sed 's/^/  /' "$log" >&2
    exit 1
}
echo "$name: downloading the Debian package(s) $* (apt-get download; not installed)"
if ! (cd "$dir" && apt-get download "$@" >"$log" 2>&1); then
    echo "$name: updating the package lists (apt-get update) and trying again"
    if [ "$(id -u)" = 0 ]; then
        apt-get update -qq >"$log" 2>&1 || failed "apt-get update"
    else
        sudo apt-get update -qq >"$log" 2>&1 || failed "sudo apt-get update"
    fi
    (cd "$dir" && apt-get download "$@" >"$log" 2>&1) || failed "apt-get download $*"
fi
for deb in "$dir"/*.deb; do dpkg-deb -x "$deb" "$dir/root"; done
