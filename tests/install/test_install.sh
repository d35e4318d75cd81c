#!/bin/sh
# make install into a temporary DESTDIR, with every directory moved from its
# default, then: the files and links are there; the README's C example builds
# with `pkg-config --cflags --libs tapegrad` alone and runs, against the
# shared library and (--static) the static one, and so does its second (a
# cell of one's own) against the shared one; the shared library exports
# the public API and nothing internal; make uninstall leaves nothing behind.
# usage: sh tests/install/test_install.sh [MAKE] [CC]   (from the source tree)
set -eu
MAKE=${1:-make}
CC=${2:-cc}
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
fail() { echo "test-install: FAIL: $*" >&2; exit 1; }
ok() { echo "test-install: ok: $*"; }

dest=$tmp/dest
set -- PREFIX=/opt/tg LIBDIR=/opt/tg/lib64 INCLUDEDIR=/opt/tg/inc MANDIR=/opt/tg/man \
    BINDIR=/opt/tg/sbin DOCDIR=/opt/tg/doc DESTDIR="$dest"
$MAKE --no-print-directory -s install "$@" >"$tmp/install.log" 2>&1 ||
    { cat "$tmp/install.log"; fail "make install"; }
root=$dest/opt/tg
major=$(sed -n 's/^#define TG_VERSION_MAJOR \([0-9]*\)$/\1/p' core/version.h)
version=$major.$(sed -n 's/^#define TG_VERSION_MINOR \([0-9]*\)$/\1/p' core/version.h)
version=$version.$(sed -n 's/^#define TG_VERSION_PATCH \([0-9]*\)$/\1/p' core/version.h)

for f in sbin/tapegrad lib64/libtapegrad.a lib64/libtapegrad.so.$version \
    lib64/pkgconfig/tapegrad.pc inc/tapegrad/tapegrad.h inc/tapegrad/core/version.h \
    man/man1/tapegrad.1 man/man3/libtapegrad.3 man/man5/tapegrad-spec.5 \
    doc/README.md doc/CHANGELOG.md doc/docs/spec.md doc/examples/readme/lstm_by_hand.c \
    doc/examples/readme/own_cell.c; do
    [ -f "$root/$f" ] || fail "$f not installed"
done
[ "$(readlink "$root/lib64/libtapegrad.so.$major")" = "libtapegrad.so.$version" ] ||
    fail "libtapegrad.so.$major is not a link to libtapegrad.so.$version"
[ "$(readlink "$root/lib64/libtapegrad.so")" = "libtapegrad.so.$major" ] ||
    fail "libtapegrad.so is not a link to libtapegrad.so.$major"
soname=$(readelf -d "$root/lib64/libtapegrad.so.$version" | sed -n 's/.*(SONAME).*\[\(.*\)\]/\1/p')
[ "$soname" = "libtapegrad.so.$major" ] || fail "soname '$soname'"
# exactly the headers the compiler says tapegrad.h reaches
(cd "$root/inc/tapegrad" && find . -type f | sed 's|^\./||' | sort) >"$tmp/installed"
sh mk/public-headers.sh "$CC" | diff - "$tmp/installed" >&2 || fail "installed headers"
ok "files, links, soname $soname, $(wc -l <"$tmp/installed") headers"

# the README example, through pkg-config only
export PKG_CONFIG_PATH="$root/lib64/pkgconfig" PKG_CONFIG_SYSROOT_DIR="$dest"
unset PKG_CONFIG_LIBDIR || true
[ "$(pkg-config --modversion tapegrad)" = "$version" ] || fail "pkg-config --modversion"
sh tests/install/readme-example.sh >"$tmp/example.c"
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror -o "$tmp/dyn" "$tmp/example.c" \
    $(pkg-config --cflags --libs tapegrad) || fail "README example (shared) does not build"
ldd "$tmp/dyn" >"$tmp/ldd" 2>&1 || true
LD_LIBRARY_PATH="$root/lib64" "$tmp/dyn" >"$tmp/dyn.out" || fail "README example (shared) failed"
LD_LIBRARY_PATH="$root/lib64" ldd "$tmp/dyn" | grep -q "libtapegrad.so.$major => $root/lib64/" ||
    fail "README example is not linked to the installed libtapegrad.so.$major"
grep -q '^step 300  loss ' "$tmp/dyn.out" || { cat "$tmp/dyn.out"; fail "README example output"; }
# --static: the private requirements are enough for the static library
libs=$(pkg-config --static --libs tapegrad | sed 's/-ltapegrad/-l:libtapegrad.a/')
# shellcheck disable=SC2086
$CC -std=c11 -o "$tmp/static" "$tmp/example.c" $(pkg-config --cflags tapegrad) $libs ||
    fail "README example (static) does not build with pkg-config --static"
! ldd "$tmp/static" | grep -q libtapegrad || fail "static build links libtapegrad.so"
"$tmp/static" >"$tmp/static.out" || fail "README example (static) failed"
cmp -s "$tmp/dyn.out" "$tmp/static.out" || fail "static and shared outputs differ"
ok "README example via pkg-config, shared and --static: $(tail -n 1 "$tmp/dyn.out")"
# the README's second example, a cell of one's own, against the shared library
sh tests/install/readme-example.sh README.md 2 >"$tmp/own_cell.c"
# shellcheck disable=SC2046
$CC -std=c11 -Wall -Wextra -Werror -o "$tmp/own_cell" "$tmp/own_cell.c" \
    $(pkg-config --cflags --libs tapegrad) || fail "README's own cell does not build"
LD_LIBRARY_PATH="$root/lib64" "$tmp/own_cell" >"$tmp/own_cell.out" || fail "README's own cell failed"
grep -q '^step 300  loss ' "$tmp/own_cell.out" || { cat "$tmp/own_cell.out"; fail "README's own cell output"; }
ok "README's own cell via pkg-config: $(tail -n 1 "$tmp/own_cell.out")"
# <tapegrad/tapegrad.h> needs nothing but the include directory itself (as
# /usr/include needs no flag at all): the headers include each other by
# relative paths
printf '#include <tapegrad/tapegrad.h>\nint main(void) { return tg_version()[0] == 0; }\n' >"$tmp/plain.c"
$CC -std=c11 -Wall -Wextra -Werror -I"$root/inc" -c -o "$tmp/plain.o" "$tmp/plain.c" ||
    fail "#include <tapegrad/tapegrad.h> with -I INCLUDEDIR alone"
# libtapegrad(3)'s example (its .EX block that includes stdio.h), unescaped
awk '/^\.EX$/ { on = 1; next } /^\.EE$/ { on = 0 } on' man/libtapegrad.3 |
    sed -n '/^#include <stdio.h>$/,$p' | sed -e 's/\\-/-/g' -e 's/\\e/\\/g' >"$tmp/man3.c"
$CC -std=c11 -Wall -Wextra -Werror -o "$tmp/man3" "$tmp/man3.c" $(pkg-config --cflags --libs tapegrad) ||
    fail "libtapegrad(3)'s example does not build"
LD_LIBRARY_PATH="$root/lib64" "$tmp/man3" >"$tmp/man3.out" || fail "libtapegrad(3)'s example failed"
grep -q "^$version: loss " "$tmp/man3.out" || fail "libtapegrad(3)'s example printed $(cat "$tmp/man3.out")"
ok "libtapegrad(3) example: $(cat "$tmp/man3.out")"

# exported symbols: exactly the functions the installed tapegrad.h declares
nm -D --defined-only "$root/lib64/libtapegrad.so.$version" | awk '{print $3}' | sort >"$tmp/exported"
if grep -v '^tg_' "$tmp/exported" | grep . >&2 || grep '^tg__' "$tmp/exported" >&2; then
    fail "the shared library exports the internal symbols above"
fi
# declared: tg_name( in the preprocessed public header (comments gone)
$CC -E -P $(pkg-config --cflags tapegrad) "$root/inc/tapegrad/tapegrad.h" |
    grep -o '\btg_[a-z0-9][a-z0-9_]*[[:space:]]*(' | tr -d ' (' | sort -u >"$tmp/declared"
if ! diff "$tmp/declared" "$tmp/exported" >"$tmp/diff"; then
    cat "$tmp/diff" >&2
    fail "exported symbols (>) differ from the functions tapegrad.h declares (<)"
fi
for f in tg_version tg_tape_new tg_backward tg_rnn_new tg_optim_adam tg_spec_load; do
    grep -qx "$f" "$tmp/exported" || fail "$f is not exported"
done
ok "$(wc -l <"$tmp/exported") symbols exported: the functions tapegrad.h declares, no more"

$MAKE --no-print-directory -s uninstall "$@" >"$tmp/uninstall.log" 2>&1 ||
    { cat "$tmp/uninstall.log"; fail "make uninstall"; }
left=$(find "$dest" ! -type d)
[ -z "$left" ] || { echo "$left" >&2; fail "make uninstall left the files above"; }
ok "make uninstall removed every file"
