#!/usr/bin/env bash
# Counts the instructions of the recording path and of lame -q 7 and -q 5
# encoding the same audio, under valgrind's callgrind: a repeatable measure
# of the path's cost where CPU time on a shared machine is noisy. The path
# is 10 concurrent calls of 20 s (TestPathWork: it includes making the
# capture in memory); lame encodes the same 200 s of audio (TestLameWork
# writes it).
set -euo pipefail
cd "$(dirname "$0")/.."
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT
CGO_ENABLED=0 go test -c -o "$tmp/mix.test" ./recorder/mix
(cd recorder/mix && PATHWORK_RAW="$tmp/in.raw" "$tmp/mix.test" -test.run LameWork >/dev/null)
count() { valgrind --tool=callgrind --callgrind-out-file=/dev/null "$@" 2>&1 | sed -n 's/.*Collected : //p'; }
path=$(cd recorder/mix && GODEBUG=asyncpreemptoff=1 GOMAXPROCS=1 PATHWORK=1 count "$tmp/mix.test" -test.run PathWork)
for q in 7 5; do
	lame[$q]=$(count lame --quiet -r -s 16 --bitwidth 16 --signed --little-endian -m j -b 48 --cbr -q $q "$tmp/in.raw" "$tmp/out.mp3")
done
awk -v p="$path" -v l7="${lame[7]}" -v l5="${lame[5]}" 'BEGIN {
	printf "instructions: path %.2fG, lame -q 7 %.2fG, lame -q 5 %.2fG\n", p/1e9, l7/1e9, l5/1e9
	printf "path / lame -q 7 = %.2f, path / lame -q 5 = %.2f\n", p/l7, p/l5 }'
