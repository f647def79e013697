#!/bin/sh
# fuzz.sh SECONDS - build every tests/fuzz/fuzz_*.c with clang + libFuzzer
# (ASan + UBSan) against build-fuzz/libobstui.a and run each for SECONDS,
# starting from its seeds.  Exits non-zero on the first crash, leak or
# sanitizer report; the reproducer is left in build-fuzz/.
set -eu
cd "$(dirname "$0")/.."
secs=${1:-20}
pkgs=$(make -s --no-print-directory print-pkgs)
flags=$(pkg-config --cflags $pkgs)
libs="$(pkg-config --libs $pkgs) -lsnappy"
mkdir -p build-fuzz/bin
ran=0
for f in tests/fuzz/fuzz_*.c; do
	n=$(basename "$f" .c)
	clang -std=c11 -D_GNU_SOURCE -Wall -Wextra -Werror -Wno-unused-parameter -Isrc \
		-Ibuild-fuzz/gen $flags -O1 -g -fsanitize=fuzzer,address,undefined \
		-fno-sanitize-recover=undefined -o "build-fuzz/bin/$n" "$f" build-fuzz/libobstui.a \
		$libs -lpthread -lm
	mkdir -p "build-fuzz/corpus/$n" "tests/fuzz/seeds/$n"
	printf '== %s (%ss) ' "$n" "$secs"
	if ! (cd build-fuzz && "bin/$n" -max_total_time="$secs" -max_len=65536 \
		-rss_limit_mb=2048 -timeout=10 "corpus/$n" "../tests/fuzz/seeds/$n" \
		>"$n.log" 2>&1); then
		echo "FAILED"
		tail -40 "build-fuzz/$n.log"
		exit 1
	fi
	grep -a -o 'Done [0-9]* runs' "build-fuzz/$n.log" || echo ok
	ran=$((ran + 1))
done
echo "fuzz: $ran passed, 0 failed"
