#!/bin/sh
# CMUdict ("WORD  PH1 PH2 ...", alternatives as "WORD(1)  ...") to the pairs
# tapegrad train reads for task seq2seq: "WORD<TAB>PH1 PH2 ...", one line per
# pronunciation, for words made of letters and apostrophes, stress digits
# removed (the 39-phoneme set). The words come in a fixed pseudo-random
# order (a hash of the word; a word's pronunciations stay together), so the
# held-out end of the file (train.valid_fraction) is a sample of the whole
# alphabet, and no word is on both sides.
#   sh examples/g2p/pairs.sh examples/g2p/cmudict.txt > g2p-pairs.tsv
set -eu
LC_ALL=C awk '
BEGIN { for (i = 32; i < 127; i++) ord[sprintf("%c", i)] = i }
/^;/ { next }
{
    w = $1; sub(/\([0-9]+\)$/, "", w)
    if (w !~ /^[A-Z'"'"']+$/) next
    p = ""
    for (i = 2; i <= NF; i++) { ph = $i; gsub(/[0-9]/, "", ph); p = p (i > 2 ? " " : "") ph }
    h = 0
    for (i = 1; i <= length(w); i++) h = (h * 131 + ord[substr(w, i, 1)]) % 1000003
    printf "%07d\t%s\t%d\t%s\n", h, w, NR, p
}' "$1" | sort -t '	' -k1,1n -k2,2 -k3,3n | cut -f2,4
