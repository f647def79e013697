#!/bin/sh
# check-layers.sh - the layer rules of STYLE.md and DESIGN.md section 7,
# checked on the source tree: which folder of src/ may include which, and
# which outside libraries only one folder may use.
set -eu
cd "$(dirname "$0")/.."
fail=0
bad() { echo "layer rule: $*" >&2; fail=1; }

# The include edges allowed between folders of src/ (a folder may always
# include itself).  "gen" is the code protoc-c generates from proto/; it is
# part of the model.
allowed() {
	case $1 in
	core)   echo "" ;;
	model)  echo "core gen google opentelemetry" ;;
	codec)  echo "core model gen google opentelemetry" ;;
	net)    echo "core" ;;
	ingest) echo "core model codec net store gen google opentelemetry" ;;
	store)  echo "core model codec gen google opentelemetry" ;;
	sync)   echo "core model codec store" ;;
	api)    echo "core model codec net store" ;;
	tui)    echo "core model codec" ;;
	demo)   echo "core model codec" ;;
	cmd)    echo "core model codec net ingest store sync api tui demo gen google opentelemetry" ;;
	*)      echo "?" ;;
	esac
}

for dir in src/*/; do
	from=$(basename "$dir")
	ok=$(allowed "$from")
	if [ "$ok" = "?" ]; then
		bad "src/$from/ is not in the table of check-layers.sh"
		continue
	fi
	for f in $(find "$dir" -name '*.[ch]'); do
		for to in $(sed -n 's|^#include *"\([a-z_]*\)/.*|\1|p' "$f" | sort -u); do
			[ "$to" = "$from" ] && continue
			case " $ok " in *" $to "*) ;; *) bad "$f includes $to/ ($from/ may include: ${ok:-nothing})" ;; esac
		done
	done
done

for f in $(grep -rlE '#include *[<"]sqlite3\.h' src || true); do
	case $f in src/store/*) ;; *) bad "$f includes sqlite3.h (only src/store/ may)";; esac
done
for f in $(grep -rlE '#include *[<"]curl/curl\.h' src || true); do
	case $f in src/sync/*) ;; *) bad "$f includes curl.h (only src/sync/ may)";; esac
done
for f in $(grep -rlE '#include *[<"](microhttpd|nghttp2/nghttp2|openssl/ssl)\.h' src || true); do
	case $f in src/net/*) ;; *) bad "$f includes a transport library (only src/net/ may)";; esac
done
n=$(grep -rlE '#include *[<"](ncursesw?/)?n?curses\.h' src | wc -l)
[ "$n" -le 1 ] || bad "more than one file includes curses"
for f in $(grep -rlE '#include *[<"](sqlite3|zstd|microhttpd|jansson|curl/curl|zlib)\.h' src/core src/model 2>/dev/null || true); do
	bad "$f: core and model use no outside library but protobuf-c"
done
# untrusted protobuf goes through codec/otlp_pb.c's guarded decode only
for f in $(grep -rlE 'protobuf_c_message_unpack|__unpack *\(' src || true); do
	case $f in src/codec/otlp_pb.c) ;; *) bad "$f unpacks protobuf itself (use otlp_pb_decode)";; esac
done
[ $fail = 0 ] && echo "layers: ok"
exit $fail
