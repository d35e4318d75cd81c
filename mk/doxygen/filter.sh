#!/bin/sh
# Doxygen's INPUT_FILTER (mk/doxygen/Doxyfile): the headers' plain comments
# become documentation without rewriting them.
# - The header's first comment documents the file.
# - A comment on its own line documents what follows it. When siblings
#   follow, declarations of the same shape that differ only in their last
#   name part (tg_add, tg_sub, ...; tg_optim_sgd(..., tg_sgd_options),
#   tg_optim_adagrad(..., tg_adagrad_options)) and whose last name part the
#   comment mentions ("exp, log, tanh"), they form a member group and the
#   comment documents each (DISTRIBUTE_GROUP_DOC), as the house writes one
#   comment for a family.
# - A comment after code on the same line documents that line.
# - "---- section ----" rulers stay plain comments.
# - In documentation, <word> and #word are text, not HTML or links.
# - The whole file goes into the chapter (group) of its path
#   (mk/doxygen/groups.dox).
# usage: sh mk/doxygen/filter.sh HEADER
f=$1
case $f in
*core/safetensors.h) group=checkpoints ;;
*spec*.h | */spec/* | */model/* | *core/jsoncheck.h) group=spec ;;
*core/*) group=tensors ;;
*autograd/*) group=tape ;;
*nn/*) group=nn ;;
*optim/*) group=optim ;;
*dist/*) group=dist ;;
*) group= ;;
esac
[ -z "$group" ] || printf '/** \\addtogroup %s\n * @{ */\n' "$group"
awk '
    function text(s) { gsub(/</, "\\<", s); gsub(/>/, "\\>", s); gsub(/#/, "\\#", s); return s }
    function flush(   i) { for (i = 0; i < nbuf; i++) print buf[i]; nbuf = 0 }
    function joined(   i, s) { s = ""; for (i = 0; i < nbuf; i++) s = s " " buf[i]; return s }
    function is_decl(s) { return s ~ /^[a-z][a-z0-9_ ]*[ *]tg_[a-z0-9_]+\(/ && s !~ /^typedef/ }
    # a declaration with its name made X, and its name'"'"'s last part
    # elsewhere: siblings look alike
    function last_part(s,   part) {
        match(s, /tg_[a-z0-9_]+\(/); part = substr(s, RSTART, RLENGTH - 1)
        sub(/.*_/, "", part); return part
    }
    function shape(s,   name, part) {
        match(s, /tg_[a-z0-9_]+\(/); name = substr(s, RSTART, RLENGTH - 1)
        part = last_part(s)
        sub(name "\\(", "X(", s); gsub(part, "X", s); return s
    }
    function sibling(s) {
        return is_decl(s) && shape(s) == run_shape && index(tolower(comment), last_part(s))
    }
    # a doc comment waiting to see what follows it
    waiting {
        waiting = 0
        if (is_decl($0)) { decl = $0; run_shape = shape($0); comment = joined(); next }
        flush()
    }
    # the declaration after a doc comment: a group if a sibling follows
    decl != "" {
        if (sibling($0)) {
            print "/**@{*/"; flush(); print decl; print; in_run = 1
        } else {
            flush(); print decl
        }
        decl = ""
        if (in_run) next
    }
    in_run && !sibling($0) { print "/**@}*/"; in_run = 0 }
    in_run { print; next }
    in_comment {
        line = text($0); buf[nbuf++] = line
        if ($0 ~ /\*\//) { in_comment = 0; if (doc) waiting = 1; else flush() }
        next
    }
    NR == 1 && /^\/\* / { sub(/^\/\* /, "/** \\file\n * "); start_comment($0, 0); next }
    /^[ \t]*\/\* *---/ { start_comment($0, 0); next }
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
    END { flush(); if (decl != "") print decl; if (in_run) print "/**@}*/" }
' "$f"
[ -z "$group" ] || printf '/** @} */\n'
