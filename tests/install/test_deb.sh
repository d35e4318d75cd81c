#!/bin/sh
# The Debian packages, as CI checks them: build libtapegrad0,
# libtapegrad-dev and tapegrad from a clean checkout of HEAD with
# dpkg-buildpackage (tests skipped: CI runs them), run lintian (an error
# fails; warnings are shown), install the packages with apt-get, build the
# README's C example with pkg-config against the installed package and run
# it, then remove the packages. Needs root (or sudo) for apt-get.
# usage: sh tests/install/test_deb.sh   (from the source tree, a git checkout)
set -eu
SUDO=""
[ "$(id -u)" = 0 ] || SUDO="sudo"
tmp=$(mktemp -d)
installed=""
cleanup() {
    [ -z "$installed" ] || $SUDO apt-get remove -y -qq $installed >/dev/null 2>&1 || true
    rm -rf "$tmp"
}
trap cleanup EXIT
fail() { echo "test-deb: FAIL: $*" >&2; exit 1; }
start=$(date +%s)
took() { echo "$(($(date +%s) - start)) s"; }

git clone -q --no-local . "$tmp/src"
git -C "$tmp/src" checkout -q "$(git rev-parse HEAD)"
(cd "$tmp/src" && DEB_BUILD_OPTIONS="nocheck parallel=2" dpkg-buildpackage -us -uc -b \
    >"$tmp/build.log" 2>&1) || { tail -n 40 "$tmp/build.log"; fail "dpkg-buildpackage"; }
echo "test-deb: ok: built $(cd "$tmp" && ls ./*.deb | grep -v dbgsym | tr '\n' ' ')($(took))"

lintian --tag-display-limit 0 "$tmp"/*.changes >"$tmp/lintian.log" 2>&1 || true
grep -v '^N:' "$tmp/lintian.log" | grep -v 'running with root privileges' || true
! grep -q '^E:' "$tmp/lintian.log" || fail "lintian reports errors"
echo "test-deb: ok: lintian, no errors ($(grep -c '^W:' "$tmp/lintian.log" || true) warnings; $(took))"

debs=$(cd "$tmp" && ls ./libtapegrad0_*.deb ./libtapegrad-dev_*.deb ./tapegrad_*.deb)
installed="libtapegrad0 libtapegrad-dev tapegrad"
(cd "$tmp" && $SUDO env DEBIAN_FRONTEND=noninteractive apt-get install -y -qq $debs \
    >"$tmp/apt.log" 2>&1) || { cat "$tmp/apt.log"; fail "apt-get install"; }
sh tests/install/readme-example.sh >"$tmp/example.c"
# a clean environment: nothing from the source tree, the system's pkg-config
env -i PATH=/usr/bin:/bin sh -c \
    "cd '$tmp' && cc -std=c11 -Wall -Wextra -Werror -o example example.c \$(pkg-config --cflags --libs tapegrad) && ./example" \
    >"$tmp/example.out" || fail "README example against the installed package"
grep -q '^step 300  loss ' "$tmp/example.out" || fail "README example output"
ldd "$tmp/example" | grep -Eq 'libtapegrad.so.0 => (/usr)?/lib/' || fail "not linked to the package's library"
tapegrad --version | head -n 1 | grep -q "^tapegrad " || fail "tapegrad --version"
man -w tapegrad tapegrad-spec libtapegrad >/dev/null 2>&1 || [ -f /usr/share/man/man1/tapegrad.1.gz ] ||
    fail "man pages not installed"
echo "test-deb: ok: installed; README example via pkg-config: $(tail -n 1 "$tmp/example.out"); $(tapegrad --version | head -n 1) ($(took))"
