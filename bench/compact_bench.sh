#!/usr/bin/env bash
# compact_bench.sh - bytes per span on disk before and after `obstui compact`
# (a phase of make bench; BENCH_COMPACT=0 skips it there).
#
#   1. obstui serve on a fresh store (--seal-idle 2s; the background
#      compactor runs as in production), loadgen sends BENCH_COMPACT_SPANS
#      (1,000,000) of the benchmark's spans (10-span traces, 10 attributes a
#      span), the head empties, SIGTERM;
#   2. "as served": the store directory (blocks, obstui.db and its WAL);
#   3. obstui compact merges every block it can (store/compact.c) and the
#      figures are taken again: the recorded blocks (obstui stats blockBytes)
#      plus the database.  The replaced files wait out a 5-minute grace for
#      readers still in them and are then deleted: they are not counted.
#
# Writes bench/out/compact.txt (key=value) and prints a markdown table.
set -euo pipefail

BUILD=${BENCH_BUILD:-build}
OUT=${BENCH_OUT:-bench/out}
SPANS=${BENCH_COMPACT_SPANS:-1000000}
BIN=${OBSTUI_BIN:-./obstui}
mkdir -p "$OUT"
make -s "$BUILD/bench/loadgen" >/dev/null
log() { printf 'compact bench: %s\n' "$*" >&2; }
die() { log "$*"; exit 1; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b == 0) print "n/a"; else printf f, a / b }'; }
# a number of the traces part of obstui stats --json (before its "metrics")
json_num() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9.]*\).*/\1/p" <<<"${2%%,\"metrics\"*}"; }

STORE=$(mktemp -d "${TMPDIR:-/tmp}/obstui-compact-bench.XXXXXX")
PID=
cleanup() {
	[ -n "$PID" ] && kill "$PID" 2>/dev/null || true
	[ "${BENCH_KEEP_STORE:-0}" = 1 ] || rm -rf "$STORE"
}
trap cleanup EXIT

"$BIN" serve --store "$STORE" --otlp-http 127.0.0.1:0 --otlp-grpc off --zipkin off \
	--api 127.0.0.1:0 --seal-idle 2s >"$OUT/compact-serve.stdout" 2>"$OUT/compact-serve.log" &
PID=$!
for _ in $(seq 100); do
	grep -q '^ready' "$OUT/compact-serve.stdout" 2>/dev/null && break
	kill -0 "$PID" 2>/dev/null || die "obstui exited at start: $(tail -3 "$OUT/compact-serve.log")"
	sleep 0.1
done
PORT=$(sed -n 's/^listening otlp-http .*:\([0-9]*\)$/\1/p' "$OUT/compact-serve.stdout")
[ -n "$PORT" ] || die "obstui did not say where it listens"
log "loadgen: $SPANS spans to :$PORT"
"$BUILD/bench/loadgen" --port "$PORT" --conns 8 --spans "$SPANS" --seed 1 \
	>"$OUT/compact-load.txt" 2>"$OUT/compact-load.log" || die "loadgen failed"
for _ in $(seq 300); do
	st=$("$BIN" stats --store "$STORE" --json 2>/dev/null || true)
	[ "$(json_num headSpans "$st")" = 0 ] && break
	sleep 1
done
# CPU of the compactor thread and of the whole process while serving (ticks)
compact_ticks=0
for t in /proc/"$PID"/task/*; do
	[ "$(cat "$t/comm" 2>/dev/null)" = obstui-compact ] || continue
	s=$(cat "$t/stat"); s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	compact_ticks=$(( ${12} + ${13} ))
done
s=$(cat /proc/"$PID"/stat); s=${s##*) }
# shellcheck disable=SC2086
set -- $s
proc_ticks=$(( ${12} + ${13} ))
kill -TERM "$PID"
wait "$PID" || die "obstui exited badly at SIGTERM: $(tail -3 "$OUT/compact-serve.log")"
PID=
st=$("$BIN" stats --store "$STORE" --json)
spans=$(json_num spans "$st")
blocks0=$(json_num blocks "$st")
block0=$(json_num blockBytes "$st")
db0=$(json_num databaseBytes "$st")
dir0=$(du -sb --exclude=metrics "$STORE" | cut -f1)

log "compact: $blocks0 blocks, $spans spans"
t0=$(date +%s.%N)
res=$(/usr/bin/env time -f 'cpu=%U %S maxrss_kb=%M' -o "$OUT/compact-time.txt" \
	"$BIN" compact --json --store "$STORE")
t1=$(date +%s.%N)
st=$("$BIN" stats --store "$STORE" --json)
blocks1=$(json_num blocks "$st")
block1=$(json_num blockBytes "$st")
db1=$(json_num databaseBytes "$st")
# pages SQLite freed (the sources' rows) stay in the file until the
# writer's maintenance gives them back; counted apart when sqlite3 is here
free1=0
if command -v sqlite3 >/dev/null; then
	free1=$(sqlite3 "file:$STORE/obstui.db?mode=ro" 'SELECT freelist_count * page_size FROM pragma_freelist_count(), pragma_page_size()' 2>/dev/null || echo 0)
fi
live1=$((db1 - free1))
secs=$(awk -v a="$t0" -v b="$t1" 'BEGIN { printf "%.1f", b - a }')
cpu=$(awk '{ split($1, a, "="); print a[2] + $2 }' "$OUT/compact-time.txt")
rss=$(sed -n 's/.*maxrss_kb=\([0-9]*\).*/\1/p' "$OUT/compact-time.txt")

{
	echo "spans=$spans"
	echo "blocks_before=$blocks0"
	echo "dir_bytes_before=$dir0"
	echo "block_bytes_before=$block0"
	echo "db_bytes_before=$db0"
	echo "blocks_after=$blocks1"
	echo "block_bytes_after=$block1"
	echo "db_bytes_after=$db1"
	echo "db_free_bytes_after=$free1"
	echo "compact_seconds=$secs"
	echo "compact_cpu_seconds=$cpu"
	echo "compact_maxrss_kb=$rss"
	echo "serve_cpu_ticks=$proc_ticks"
	echo "serve_compactor_cpu_ticks=$compact_ticks"
	echo "compact_result=$res"
} >"$OUT/compact.txt"

echo "### Compaction: bytes per span ($spans spans of the benchmark's payload)"
echo
echo "| figure | result | target |"
echo "|---|---|---|"
echo "| as served (background compaction on): store dir, B/span | $(fdiv "$dir0" "$spans") ($blocks0 blocks: $(fdiv "$block0" "$spans"); SQLite $(fdiv "$db0" "$spans")) | |"
echo "| after \`obstui compact\`: blocks + SQLite, B/span | **$(fdiv $((block1 + live1)) "$spans")** ($blocks1 blocks: $(fdiv "$block1" "$spans"); SQLite $(fdiv "$live1" "$spans") in use, $(fdiv "$db1" "$spans") with its free pages) | <= 40 |"
echo "| \`obstui compact\` time / CPU / peak RSS | $secs s / $cpu s / $(fdiv "$rss" 1024 %.0f) MB | |"
echo "| background compactor's share of obstui's CPU while serving the load | $(fdiv $((100 * compact_ticks)) "$proc_ticks")% ($compact_ticks of $proc_ticks ticks) | at most 25 % of one core |"
