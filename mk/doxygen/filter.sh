#!/bin/sh
# Doxygen's INPUT_FILTER (mk/doxygen/Doxyfile): the headers' plain comments
# become documentation without rewriting them.
# - The header's first comment documents the file.
# - A comment on its own line documents what follows it; when a run of
#   function declarations follows (up to a blank line), the run becomes a
#   member group, so the comment documents each of them
#   (DISTRIBUTE_GROUP_DOC), as the house writes one comment for tg_add,
#   tg_sub, ...
# - A comment after code on the same line documents that line (a member).
# - "---- section ----" rulers stay plain comments.
# - In documentation, <word> and #word are text, not HTML or links.
# - The whole file goes into the chapter (group) of its path
#   (mk/doxygen/groups.dox).
# usage: sh mk/doxygen/filter.sh HEADER
f=$1
case $f in
*core/safetensors.h) group=checkpoints ;;
*nn/spec.h | *optim/spec.h | *core/jsoncheck.h) group=spec ;;
*core/*) group=tensors ;;
*autograd/*) group=tape ;;
*nn/*) group=nn ;;
*optim/*) group=optim ;;
*) group= ;;
esac
[ -z "$group" ] || printf '/** \\addtogroup %s\n * @{ */\n' "$group"
awk '
    function text(s) { gsub(/</, "\\<", s); gsub(/>/, "\\>", s); gsub(/#/, "\\#", s); return s }
    function flush(   i) { for (i = 0; i < nbuf; i++) print buf[i]; nbuf = 0 }
    function is_decl(s) { return s ~ /^[a-z][a-z0-9_ ]*[ *]tg_[a-z0-9_]+\(/ && s !~ /^typedef/ }
    # a doc comment waiting to see what follows it
    waiting {
        if (is_decl($0)) { print "/**@{*/"; flush(); print; waiting = 0; in_run = 1; next }
        flush(); waiting = 0
    }
    in_run && (/^$/ || /^[ \t]*\/\*/ || /^#/) { print "/**@}*/"; in_run = 0 }
    in_comment {
        line = text($0); buf[nbuf++] = line
        if ($0 ~ /\*\//) { in_comment = 0; if (doc) waiting = 1; else flush() }
        next
    }
    NR == 1 && /^\/\* / { sub(/^\/\* /, "/** \\file\n * "); start_comment($0, 0); next }
    /^[ \t]*\/\* *-{3,}/ { start_comment($0, 0); next }
    /^[ \t]*\/\*([^*]|$)/ { sub(/\/\*/, "/**"); start_comment($0, 1); next }
    /[^ \t].*\/\* / && !/^[ \t]*\*/ {
        i = index($0, "/* "); print substr($0, 1, i - 1) "/**< " text(substr($0, i + 3)); next
    }
    { print }
    function start_comment(s, is_doc) {
        doc = is_doc; nbuf = 0
        buf[nbuf++] = is_doc ? text(s) : s
        if (s ~ /\*\//) { if (doc) waiting = 1; else flush() } else in_comment = 1
    }
    END { flush(); if (in_run) print "/**@}*/" }
' "$f"
[ -z "$group" ] || printf '/** @} */\n'
