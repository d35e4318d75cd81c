#!/bin/sh
# make genword: the langid data (fetched if needed), then tapegrad train
# fits the character LSTM three times: told nothing about the language
# (spec-none.json: a condition of one class), given it as the initial state
# (spec-initial_state.json) and as an input at every step
# (spec-input.json); tapegrad sample spells words in each language at two
# temperatures. If make langid has run, its GRU (tapegrad predict) judges
# which language the sampled words look like.
#
#   sh examples/genword/run.sh BUILD [OUT_DIR]     (BUILD: e.g. build/float)
set -eu
here=$(cd "$(dirname "$0")" && pwd)
build=${1:?usage: run.sh BUILD [OUT_DIR]}
out=${2:-$build/genword}
tg="$build/tapegrad"
langs="english german french spanish italian dutch polish portuguese swedish danish"
start=$(date +%s)
data="$here/../langid/data"
sh "$here/../langid/fetch.sh" "$build/examples/langid/prepare" "$data"
mkdir -p "$out"
# training words then development words: valid_fraction 0.111111 holds out the latter
cat "$data/train.tsv" "$data/dev.tsv" > "$out/traindev.tsv"
sed 's/^[^\t]*\t/any\t/' "$out/traindev.tsv" > "$out/traindev-none.tsv"
for mode in none initial_state input; do
    echo "== tapegrad train $here/spec-$mode.json"
    t0=$(date +%s)
    file="$out/traindev.tsv"
    [ $mode = none ] && file="$out/traindev-none.tsv"
    "$tg" train "$here/spec-$mode.json" --data "$file" --checkpoint "$out/$mode.safetensors" \
        > "$out/train-$mode.log"
    grep -E '^(train:|final|done)' "$out/train-$mode.log"
    echo "$mode: trained in $(($(date +%s) - t0))s"
done
# 50 words per language, mode and temperature; the first 10 are shown
# (grep -a: a word drawn byte by byte may hold a broken UTF-8 sequence)
for mode in initial_state input; do
    for temp in 0.5 1.0; do
        samples="$out/samples-$mode-$temp.tsv"
        : > "$samples"
        echo "== $mode, temperature $temp"
        for lang in $langs; do
            "$tg" sample "$here/spec-$mode.json" --checkpoint "$out/$mode.safetensors" \
                --condition $lang --count 50 --temperature $temp --seed 1 |
                sed "s/^/$lang	/" >> "$samples"
            printf '%-10s %s\n' $lang "$(grep -a "^$lang	" "$samples" | head -10 | cut -f2 | tr '\n' ' ')"
        done
        # words the training data does not have
        awk -F'\t' 'NR == FNR { seen[$2] = 1; next } { n++; if (!($2 in seen)) k++ }
            END { printf "new words: %.1f%% of %d\n", 100 * k / n, n }' "$out/traindev.tsv" "$samples"
    done
done
langid="$build/langid/langid.safetensors"
if [ -f "$langid" ]; then
    echo "== the langid GRU ($langid) reads the samples: share it assigns to the language asked for"
    for f in "$out"/samples-*.tsv; do
        grep -av '	$' "$f" > "$out/judge.tsv" || true
        cut -f2 "$out/judge.tsv" | "$tg" predict "$here/../langid/spec.json" --checkpoint "$langid" \
            --top 1 > "$out/judge-pred.tsv"
        paste "$out/judge.tsv" "$out/judge-pred.tsv" | awk -F'\t' -v f="$(basename "$f" .tsv)" '
            { split($4, a, " "); n++; if (a[1] == $1) k++ }
            END { printf "%-24s %.1f%% of %d\n", f, 100 * k / n, n }'
    done
else
    echo "(make langid first to have its GRU judge the samples)"
fi
echo "genword: total $(($(date +%s) - start))s"
