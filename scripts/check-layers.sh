#!/bin/sh
# check-layers.sh - the layer rules of STYLE.md, checked on the source tree.
set -eu
cd "$(dirname "$0")/.."
fail=0
bad() { echo "layer rule: $*" >&2; fail=1; }

for f in $(grep -rlE '#include *[<"]sqlite3\.h' src || true); do
	case $f in src/store/*) ;; *) bad "$f includes sqlite3.h (only src/store/ may)";; esac
done
for f in $(grep -rlE '#include *[<"]curl/curl\.h' src || true); do
	case $f in src/sync/*) ;; *) bad "$f includes curl.h (only src/sync/ may)";; esac
done
n=$(grep -rlE '#include *[<"](ncursesw?/)?n?curses\.h' src | wc -l)
[ "$n" -le 1 ] || bad "more than one file includes curses"
for f in $(grep -rlE '#include *[<"](sqlite3|zstd|microhttpd|jansson|curl/curl|zlib)\.h' src/core src/model 2>/dev/null || true); do
	bad "$f: core and model use no outside library but protobuf-c"
done
for f in src/core/*.c src/core/*.h; do
	grep -qE '#include *"(model|ingest|store|sync|api|tui|cmd)/' "$f" && bad "$f reaches above core"
done
exit $fail
