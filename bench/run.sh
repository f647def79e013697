#!/usr/bin/env bash
# bench/run.sh - obstui's ingest and query benchmark (see bench/README.md).
#
# Starts obstui on a fresh store in a temporary directory, on 127.0.0.1
# with port 0, and runs these phases against it:
#
#   load    bench/loadgen.c posts OTLP/HTTP protobuf requests of 100 spans
#           for BENCH_SECONDS; the rate counts durable acknowledgements
#           (HTTP 200) only.  obstui's CPU comes from /proc/PID/stat, its
#           peak RSS from VmHWM in /proc/PID/status.
#   fill    only when BENCH_SPANS is more than the load phase stored: more
#           of the same load until BENCH_SPANS spans are stored (bounded by
#           BENCH_FILL_SECONDS).
#   seal    wait until the sealer has moved the whole head into blocks.
#   query   trace by id for BENCH_LOOKUPS random acknowledged ids (JSON and
#           protobuf answers), then BENCH_SEARCHES runs of each search.
#   stop    SIGTERM (obstui seals what is left and exits); then the store's
#           size on disk is read with `obstui stats --json` and du.
#
# That is the main run, on OTLP/HTTP.  For OTLP/gRPC there is an ingest-only
# run: another obstui on another fresh store, the same load (same requests,
# same length) sent as gRPC Export calls, then 200 lookups of acknowledged
# traces, SIGTERM, and a check that the store holds every acknowledged
# span.  The two load phases are compared side by side (spans/s, obstui
# CPU-seconds per million spans, peak RSS).  BENCH_PROTOCOLS chooses the
# runs and their order; without http the main run is the gRPC one.
#
# Last, the UI: bench/bench_ui.c runs the terminal UI in-process on a
# pseudo-terminal and times opening a 50,000-span trace, scrolling it,
# scrolling it while it reloads, and the traces list while a node in the
# same process takes 50,000 spans/s from loadgen --rate.  It links the
# library of the build it comes from (BENCH_BUILD), not OBSTUI_BIN.
#
# Then sync: a store is filled by obstui serve and loadgen (BENCH_SYNC_SPANS,
# sealed at SIGTERM), and bench/sync_bench.mjs starts Azurite on 127.0.0.1
# (tests/integration/lib/azurite.mjs) and times `obstui push` and `obstui
# pull` of it against the Azure SDK's upload and download of the same
# bytes, then the follow cycle of --attach with 10 and 10,000 blocks on
# the remote (bench/bench_sync.c, which links BENCH_BUILD's library).
#
# Prints a markdown table on stdout and writes it, with the raw figures,
# to bench/out/results.md (results-ui.md with BENCH_UI=only, results-sync.md
# with BENCH_SYNC=only); logs of every phase stay in bench/out/.
#
# Knobs (environment):
#   BENCH_SECONDS=45        length of the load phase
#   BENCH_CONNS=32          concurrent connections of the load generator
#                           (OTLP/HTTP: one request in flight on each)
#   BENCH_PROTOCOLS="http grpc"  the runs, in this order (http, grpc or both)
#   BENCH_GRPC_STREAMS=8    gRPC calls in flight per connection
#   BENCH_GRPC_CONNS        gRPC connections (BENCH_CONNS / BENCH_GRPC_STREAMS,
#                           so that as many requests are in flight as with HTTP)
#   BENCH_GRPC_LOOKUPS=200  lookups of acknowledged traces after the gRPC load
#   BENCH_SPANS=0           spans to have stored before querying (0: what
#                           the load phase stored); 10000000 for the 10M run
#   BENCH_FILL_SECONDS=1200 upper bound on the fill phase
#   BENCH_LOOKUPS=2000      trace-by-id requests per answer format
#   BENCH_SEARCHES=50       runs of each search query
#   BENCH_SEAL_IDLE=2s      obstui --seal-idle
#   BENCH_FSYNC=0           1: obstui --fsync (durable across power loss)
#   BENCH_PERF=0            1: perf record obstui during the load phase
#                           (bench/out/perf.data, perf-report.txt)
#   BENCH_SEED=1            seed of the generated ids and data
#   BENCH_OUT=bench/out     where results and logs go
#   OBSTUI_BIN=./obstui     the binary under test (copied to bench/out/bin)
#   BENCH_LABEL             what to call it in the table (git commit)
#   BENCH_KEEP_STORE=0      1: leave the store directory for inspection
#   BENCH_BUILD=build       the build directory whose libobstui.a the tools
#                           link (make B=DIR bench sets it)
#   BENCH_UI=1              0: no UI phase; only: nothing but the UI phase
#   BENCH_UI_RUNS=20        opens of the trace per terminal size
#   BENCH_UI_FRAMES=2000    scroll keys per terminal size
#   BENCH_UI_SIZES=200x50,80x24  terminal sizes (columns x rows)
#   BENCH_UI_SECONDS=20     length of the list-under-ingest phase (0: none)
#   BENCH_UI_RATE=50000     spans/s sent during it
#   BENCH_SYNC=1            0: no sync phase; only: nothing but the sync phase
#   BENCH_SYNC_SPANS=3000000  spans in the store pushed and pulled (~160 MB
#                           of blocks)
#   BENCH_SYNC_REPS=5       timed rounds of push and pull (after a warm-up)
#   BENCH_SYNC_FOLLOW_BLOCKS=10000  blocks on the large remote (0: no follow
#                           measurement)
#   BENCH_SYNC_FOLLOW_CYCLES=20  follow cycles timed with nothing new (and
#                           BENCH_SYNC_FOLLOW_NEW=10 with one new block each)
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-bench/out}
SECONDS_LOAD=${BENCH_SECONDS:-45}
CONNS=${BENCH_CONNS:-32}
PROTOCOLS=${BENCH_PROTOCOLS:-http grpc}
GRPC_STREAMS=${BENCH_GRPC_STREAMS:-8}
GRPC_CONNS=${BENCH_GRPC_CONNS:-$((CONNS / GRPC_STREAMS > 0 ? CONNS / GRPC_STREAMS : 1))}
GRPC_LOOKUPS=${BENCH_GRPC_LOOKUPS:-200}
SPANS_WANTED=${BENCH_SPANS:-0}
FILL_SECONDS=${BENCH_FILL_SECONDS:-1200}
LOOKUPS=${BENCH_LOOKUPS:-2000}
SEARCHES=${BENCH_SEARCHES:-50}
SEAL_IDLE=${BENCH_SEAL_IDLE:-2s}
FSYNC=${BENCH_FSYNC:-0}
PERF=${BENCH_PERF:-0}
SEED=${BENCH_SEED:-1}
BUILD=${BENCH_BUILD:-build}
UI=${BENCH_UI:-1}
UI_RUNS=${BENCH_UI_RUNS:-20}
UI_FRAMES=${BENCH_UI_FRAMES:-2000}
UI_SIZES=${BENCH_UI_SIZES:-200x50,80x24}
UI_SECONDS=${BENCH_UI_SECONDS:-20}
UI_RATE=${BENCH_UI_RATE:-50000}
SYNC=${BENCH_SYNC:-1}
SYNC_SPANS=${BENCH_SYNC_SPANS:-3000000}
SYNC_REPS=${BENCH_SYNC_REPS:-5}
SYNC_FOLLOW_BLOCKS=${BENCH_SYNC_FOLLOW_BLOCKS:-10000}
SYNC_FOLLOW_CYCLES=${BENCH_SYNC_FOLLOW_CYCLES:-20}
SYNC_FOLLOW_NEW=${BENCH_SYNC_FOLLOW_NEW:-10}
if [ "$BUILD" = build ]; then BUILD_BIN=$ROOT/obstui; else BUILD_BIN=$ROOT/$BUILD/obstui; fi
BIN=${OBSTUI_BIN:-$BUILD_BIN}

log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# the main run (all phases) is the OTLP/HTTP one, or the first listed
MAIN=
protos=
for p in $PROTOCOLS; do
	case $p in
	http | grpc) ;;
	*) die "BENCH_PROTOCOLS: '$p' is neither http nor grpc" ;;
	esac
	case " $protos " in *" $p "*) continue ;; esac
	protos="${protos:+$protos }$p"
	[ -n "$MAIN" ] || MAIN=$p
done
PROTOCOLS=$protos
[ -n "$MAIN" ] || die "BENCH_PROTOCOLS is empty"
case " $PROTOCOLS " in *" http "*) MAIN=http ;; esac
proto_name() { if [ "$1" = grpc ]; then echo OTLP/gRPC; else echo OTLP/HTTP; fi; }

case $UI in
0 | 1 | only) ;;
*) die "BENCH_UI: '$UI' is not 0, 1 or only" ;;
esac
case $SYNC in
0 | 1 | only) ;;
*) die "BENCH_SYNC: '$SYNC' is not 0, 1 or only" ;;
esac
[ "$UI" != only ] || [ "$SYNC" != only ] || die "BENCH_UI=only and BENCH_SYNC=only: choose one"
# an "only" run is that phase alone
[ "$SYNC" != only ] || UI=0
[ "$UI" != only ] || SYNC=0

mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
# nothing from an earlier run may end up in this one's report (a UI-only or
# sync-only run leaves the other phases' files alone)
if [ "$UI" = only ]; then
	rm -f "$OUT"/ui.txt "$OUT"/ui.log "$OUT"/results-ui.md
elif [ "$SYNC" = only ]; then
	rm -f "$OUT"/sync*.txt "$OUT"/sync*.log "$OUT"/sync*.stdout "$OUT"/serve-sync*.* \
		"$OUT"/rss-sync*.log "$OUT"/results-sync.md
else
	rm -f "$OUT"/*.txt "$OUT"/*.log "$OUT"/*.json "$OUT"/serve*.stdout "$OUT"/results.md \
		"$OUT"/results-ui.md "$OUT"/results-sync.md "$OUT"/perf.data "$OUT"/perf.data.old
fi

# --- build --------------------------------------------------------------------
# loadgen and bench_ui link libobstui.a: the Makefile builds them (and the
# library) in $BUILD; lookup stands alone
MAKE_GOALS=("$BUILD/bench/loadgen" "$BUILD/bench/bench_ui" "$BUILD/bench/bench_sync")
[ -n "${OBSTUI_BIN:-}" ] || MAKE_GOALS+=(all)
make --no-print-directory B="$BUILD" "${MAKE_GOALS[@]}" >&2
cp "$BUILD/bench/loadgen" "$BUILD/bench/bench_ui" "$BUILD/bench/bench_sync" "$OUT/bin/"
cc -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -o "$OUT/bin/lookup" bench/lookup.c
# a copy, so that a rebuild during the run changes nothing under test
cp "$BIN" "$OUT/bin/obstui"
if [ -z "${BENCH_LABEL:-}" ]; then
	BENCH_LABEL=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
	git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || BENCH_LABEL="$BENCH_LABEL + uncommitted changes"
fi
BIN=$OUT/bin/obstui

# --- helpers ------------------------------------------------------------------
STORE=
PID=
SAMPLER=
SYNC_DIR=
cleanup() {
	if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[ -z "$STORE" ] || [ "${BENCH_KEEP_STORE:-0}" = 1 ] || rm -rf "$STORE"
	[ -z "$SYNC_DIR" ] || rm -rf "$SYNC_DIR"
}
trap cleanup EXIT

TICKS=$(getconf CLK_TCK)
# utime + stime of obstui in clock ticks (fields 14 and 15 of /proc/PID/stat,
# counted after the ")" that ends the command name)
cpu_ticks() {
	local s
	s=$(cat "/proc/$PID/stat")
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $(( ${12} + ${13} ))
}
io_bytes() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/io"; }
# "tid ticks" for every thread of obstui
thread_ticks() {
	local t s
	for t in /proc/"$PID"/task/*; do
		s=$(cat "$t/stat" 2>/dev/null) || continue
		s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s
		echo "${t##*/} $(( ${12} + ${13} ))"
	done
}
status_kb() { awk -v k="$1:" '$1 == k { print $2 }' "/proc/$PID/status"; }
# busy and total jiffies of the whole machine
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
kv() { sed -n "s/^$1=//p" "$2" | tail -1; }
json_num() { sed -n "s/.*\"$1\":\"\{0,1\}\([0-9.]*\).*/\1/p" <<<"$2"; }
per_million() { awk -v a="$1" -v n="$2" 'BEGIN { if (n + 0 == 0 || a == "") print "n/a"; else printf "%.2f", a * 1e6 / n }'; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b == 0 || a == "" || a == "n/a" || b == "n/a") print "n/a"; else printf f, a / b }'; }
stats_json() { "$BIN" stats --store "$STORE" --json 2>/dev/null; }
# "met" or "missed (...)" for value $1 against target $2, $3 ge (at least) or le (at most)
verdict() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN {
	if (v == "n/a" || v == "") { print "?"; exit }
	ok = d == "ge" ? v >= t : v <= t
	if (ok) print "met"; else if (d == "ge") printf "missed (%.0f%% of target)", 100 * v / t
	else printf "missed (%.1fx target)", v / t }'; }

# how busy the machine is (other sessions, builds, fuzzers), in % over 2 s
machine_busy_now() {
	local b0 t0 b1 t1
	read -r b0 t0 < <(machine_ticks)
	sleep 2
	read -r b1 t1 < <(machine_ticks)
	fdiv $((100 * (b1 - b0))) $((t1 - t0)) %.0f
}
idle_check() {
	idle_busy=$(machine_busy_now)
	[ "${idle_busy%%.*}" -le 10 ] 2>/dev/null ||
		log "warning: the machine is ${idle_busy}% busy before the $1 run; results will be low"
}

# Start obstui on a fresh store with the receiver of one protocol; sets PID,
# STORE, INGEST_PORT and API_PORT.  Returns 1 when obstui is up but did not
# open that receiver (a build without the gRPC receiver only warns).  $2 names
# its files in $OUT (default: the protocol), $3 is the store (default: a new
# temporary directory).
serve_start() {
	local proto=$1 tag=${2:-$1} args
	STORE=${3:-$(mktemp -d "${TMPDIR:-/tmp}/obstui-bench.XXXXXX")}
	args=(serve --store "$STORE" --api 127.0.0.1:0 --zipkin off --seal-idle "$SEAL_IDLE")
	if [ "$proto" = grpc ]; then
		args+=(--otlp-http off --otlp-grpc 127.0.0.1:0)
	else
		args+=(--otlp-http 127.0.0.1:0 --otlp-grpc off)
	fi
	[ "$FSYNC" = 1 ] && args+=(--fsync)
	"$BIN" "${args[@]}" >"$OUT/serve-$tag.stdout" 2>"$OUT/serve-$tag.log" &
	PID=$!
	for _ in $(seq 100); do
		grep -q '^ready' "$OUT/serve-$tag.stdout" 2>/dev/null && break
		kill -0 "$PID" 2>/dev/null || die "obstui exited at start: $(tail -3 "$OUT/serve-$tag.log")"
		sleep 0.1
	done
	grep -q '^ready' "$OUT/serve-$tag.stdout" || die "obstui did not say ready"
	INGEST_PORT=$(sed -n "s/^listening otlp-$proto .*:\([0-9]*\)$/\1/p" "$OUT/serve-$tag.stdout")
	API_PORT=$(sed -n 's/^listening api .*:\([0-9]*\)$/\1/p' "$OUT/serve-$tag.stdout")
	log "obstui pid $PID, otlp-$proto :${INGEST_PORT:-none}, api :$API_PORT, store $STORE"
	# RSS over time, one sample a second, for the record
	( while kill -0 "$PID" 2>/dev/null; do
		printf '%s %s\n' "$(date +%s)" "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID/status" 2>/dev/null)"
		sleep 1
	  done ) >"$OUT/rss-$tag.log" 2>/dev/null &
	SAMPLER=$!
	[ -n "$INGEST_PORT" ]
}

# SIGTERM (obstui seals what is left and exits); sets stop_secs.
serve_stop() {
	local t0 rc=0
	t0=$(date +%s.%N)
	kill -TERM "$PID"
	wait "$PID" || rc=$?
	[ "$rc" = 0 ] || die "obstui exited with $rc at SIGTERM: $(tail -5 "$OUT/serve-$1.log")"
	PID=
	kill "$SAMPLER" 2>/dev/null || true
	SAMPLER=
	stop_secs=$(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
}

store_drop() {
	if [ "${BENCH_KEEP_STORE:-0}" = 1 ]; then log "store kept: $STORE"; else rm -rf "$STORE"; fi
	STORE=
}

# loadgen's arguments for one protocol, in LG
loadgen_args() {
	if [ "$1" = grpc ]; then
		LG=(--grpc --port "$INGEST_PORT" --conns "$GRPC_CONNS" --streams "$GRPC_STREAMS")
	else
		LG=(--port "$INGEST_PORT" --conns "$CONNS")
	fi
}

# The load phase of one protocol's run: BENCH_SECONDS of loadgen against the
# obstui just started.  loadgen's figures go to load-PROTO.txt, obstui's
# (from /proc) to server-PROTO.txt, both key=value.
load_phase() {
	local proto=$1 cpu0 cpu1 mbusy0 mtotal0 mbusy1 mtotal1 wbytes0 wbytes1 rbytes0 rbytes1
	local gen_cpu busiest perf_pid=
	loadgen_args "$proto"
	log "load ($(proto_name "$proto")): $SECONDS_LOAD s, loadgen ${LG[*]}"
	cpu0=$(cpu_ticks)
	thread_ticks >"$OUT/threads0-$proto.txt"
	read -r mbusy0 mtotal0 < <(machine_ticks)
	wbytes0=$(io_bytes write_bytes)
	rbytes0=$(io_bytes read_bytes)
	if [ "$PERF" = 1 ] && [ "$proto" = "$MAIN" ]; then
		perf record -F 499 -g -p "$PID" -o "$OUT/perf.data" -- sleep "$SECONDS_LOAD" \
			>"$OUT/perf.log" 2>&1 &
		perf_pid=$!
	fi
	"$OUT/bin/loadgen" "${LG[@]}" --seconds "$SECONDS_LOAD" --seed "$SEED" --seq-start 0 \
		>"$OUT/load-$proto.txt" 2>"$OUT/load-$proto.log" ||
		die "loadgen ($proto) failed: $(tail -3 "$OUT/load-$proto.log")"
	cpu1=$(cpu_ticks)
	thread_ticks >"$OUT/threads1-$proto.txt"
	read -r mbusy1 mtotal1 < <(machine_ticks)
	wbytes1=$(io_bytes write_bytes)
	rbytes1=$(io_bytes read_bytes)
	if [ -n "$perf_pid" ]; then
		wait "$perf_pid" || true
		perf report -i "$OUT/perf.data" --no-children --percent-limit 0.5 --stdio \
			>"$OUT/perf-report.txt" 2>/dev/null || true
	fi
	kill -0 "$PID" 2>/dev/null || die "obstui died during the load: $(tail -5 "$OUT/serve-$proto.log")"
	curl -s "http://127.0.0.1:$API_PORT/metrics" >"$OUT/metrics-after-load-$proto.txt" 2>/dev/null || true
	gen_cpu=$(kv loadgen_cpu_seconds "$OUT/load-$proto.txt")
	# the busiest threads that lived through the whole load phase: the writer
	# and the sealer (created first after the main thread), not the
	# per-connection receiver threads, which start with the load
	busiest=$(awk -v t="$TICKS" -v secs="$(kv seconds "$OUT/load-$proto.txt")" '
		NR == FNR { a[$1] = $2; next }
		($1 in a) && secs > 0 { printf "%d %.0f\n", $1, 100 * ($2 - a[$1]) / t / secs }' \
		"$OUT/threads0-$proto.txt" "$OUT/threads1-$proto.txt" | sort -k2 -n -r | head -3 |
		awk '{ printf "%s%s%% (tid %s)", (NR > 1 ? ", " : ""), $2, $1 }')
	{
		echo "idle_busy_pct=$idle_busy"
		echo "obstui_cpu_load_seconds=$(fdiv $((cpu1 - cpu0)) "$TICKS" %.2f)"
		echo "vmhwm_load_kb=$(status_kb VmHWM)"
		echo "load_write_bytes=$((wbytes1 - wbytes0))"
		echo "load_read_bytes=$((rbytes1 - rbytes0))"
		echo "machine_busy_pct=$(fdiv $((100 * (mbusy1 - mbusy0))) $((mtotal1 - mtotal0)) %.0f)"
		# CPU that neither obstui nor the load generator used: other processes
		echo "other_cpu_seconds=$(awk -v m=$((mbusy1 - mbusy0)) -v o=$((cpu1 - cpu0)) -v g="$gen_cpu" \
			-v t="$TICKS" 'BEGIN { v = (m - o) / t - g; printf "%.1f", v < 0 ? 0 : v }')"
		echo "busiest_threads=$busiest"
		# the 5 s windows of the load, to show whether the rate holds or decays
		echo "windows=$(grep -o 'rate=[0-9]*' "$OUT/load-$proto.log" | cut -d= -f2 |
			awk 'NR == 1 { f = $1; m = $1 } { if ($1 < m) m = $1; l = $1 }
			     END { if (NR) printf "first %d, lowest %d, last %d", f, m, l }')"
	} >"$OUT/server-$proto.txt"
	log "load ($proto): $(kv spans_ok "$OUT/load-$proto.txt") spans in" \
		"$(kv seconds "$OUT/load-$proto.txt") s = $(kv spans_per_sec "$OUT/load-$proto.txt") spans/s;" \
		"obstui CPU $(kv obstui_cpu_load_seconds "$OUT/server-$proto.txt") s"
}

# --- the main run: load, fill, seal, query, stop --------------------------------
main_run() {
	local proto=$1 need fcpu0 fcpu1
	idle_check "$(proto_name "$proto")"
	serve_start "$proto" || die "obstui did not open its $(proto_name "$proto") receiver:" \
		"$(grep -i grpc "$OUT/serve-$proto.log" | tail -1)"
	load_phase "$proto"
	load_spans=$(kv spans_ok "$OUT/load-$proto.txt")
	stored=$load_spans
	seq_next=$(kv seq_end "$OUT/load-$proto.txt")
	failed=$(kv failed_requests "$OUT/load-$proto.txt")
	busy=$(kv busy_answers "$OUT/load-$proto.txt")

	# --- fill
	fill_rate=
	if [ "$SPANS_WANTED" -gt "$stored" ]; then
		need=$((SPANS_WANTED - stored))
		log "fill: $need more spans (at most $FILL_SECONDS s)"
		fcpu0=$(cpu_ticks)
		"$OUT/bin/loadgen" "${LG[@]}" --seconds "$FILL_SECONDS" \
			--spans "$need" --seed "$SEED" --seq-start "$seq_next" --report-every 30 \
			>"$OUT/fill.txt" 2>"$OUT/fill.log" || die "loadgen (fill) failed"
		fcpu1=$(cpu_ticks)
		kill -0 "$PID" 2>/dev/null || die "obstui died during the fill: $(tail -5 "$OUT/serve-$proto.log")"
		stored=$((stored + $(kv spans_ok "$OUT/fill.txt")))
		seq_next=$(kv seq_end "$OUT/fill.txt")
		failed=$((failed + $(kv failed_requests "$OUT/fill.txt")))
		busy=$((busy + $(kv busy_answers "$OUT/fill.txt")))
		fill_rate=$(kv spans_per_sec "$OUT/fill.txt")
		fill_secs=$(kv seconds "$OUT/fill.txt")
		fill_cpu=$(fdiv $((fcpu1 - fcpu0)) "$TICKS" %.2f)
		log "fill: now $stored spans; $fill_rate spans/s over $fill_secs s"
	fi
	hwm_kb=$(status_kb VmHWM)

	# --- seal
	log "seal: waiting for the head to empty"
	local seal_t0 head_spans st
	seal_t0=$(date +%s.%N)
	for _ in $(seq 600); do
		head_spans=$(json_num headSpans "$(stats_json)")
		[ "${head_spans:-1}" = 0 ] && break
		sleep 1
	done
	seal_wait=$(awk -v a="$seal_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
	st=$(stats_json)
	log "seal: head has ${head_spans:-?} spans after $seal_wait s; stats: $st"

	# --- query
	log "query: $LOOKUPS trace lookups per format, $SEARCHES runs per search"
	"$OUT/bin/lookup" trace --port "$API_PORT" --seed "$SEED" --seqs "0:$seq_next" \
		--n "$LOOKUPS" --warmup 20 --prefix json_ >"$OUT/lookup-json.txt" 2>>"$OUT/query.log"
	"$OUT/bin/lookup" trace --port "$API_PORT" --seed "$SEED" --seqs "0:$seq_next" \
		--n "$LOOKUPS" --warmup 20 --protobuf --prefix pb_ >"$OUT/lookup-pb.txt" 2>>"$OUT/query.log"
	local i=0 q
	for q in "${SEARCH_QUERIES[@]}"; do
		"$OUT/bin/lookup" search --port "$API_PORT" --q "$q" --n "$SEARCHES" --warmup 2 \
			--prefix "s${i}_" >"$OUT/search-$i.txt" 2>>"$OUT/query.log"
		i=$((i + 1))
	done
	hwm_kb=$(status_kb VmHWM)

	# --- stop
	serve_stop "$proto"
	main_stop_secs=$stop_secs
	st=$(stats_json)
	echo "$st" >"$OUT/stats.json"
	main_stats=$st
	spans_db=$(json_num spans "$st")
	block_bytes=$(json_num blockBytes "$st")
	db_bytes=$(json_num databaseBytes "$st")
	dir_bytes=$(du -sb "$STORE" | cut -f1)
	store_drop
}

# --- the ingest-only run of another protocol: load, a few lookups, stop -----------
# Writes its verdicts to check-PROTO.txt, or why it was skipped to skip-PROTO.txt.
side_run() {
	local proto=$1 seqs st spans
	idle_check "$(proto_name "$proto")"
	if ! serve_start "$proto"; then
		echo "this obstui has no $(proto_name "$proto") receiver ($(grep -i -m1 "$proto" \
			"$OUT/serve-$proto.log" | cut -c1-160))" >"$OUT/skip-$proto.txt"
		log "$proto: skipped: $(cat "$OUT/skip-$proto.txt")"
		serve_stop "$proto"
		store_drop
		return 0
	fi
	load_phase "$proto"
	seqs=$(kv seq_end "$OUT/load-$proto.txt")
	"$OUT/bin/lookup" trace --port "$API_PORT" --seed "$SEED" --seqs "0:$seqs" \
		--n "$GRPC_LOOKUPS" --warmup 0 --protobuf --prefix check_ \
		>"$OUT/lookup-$proto.txt" 2>>"$OUT/query.log" || true
	serve_stop "$proto"
	st=$(stats_json)
	echo "$st" >"$OUT/stats-$proto.json"
	spans=$(json_num spans "$st")
	{
		echo "stop_seconds=$stop_secs"
		echo "spans_stored=$spans"
		echo "lookups=$GRPC_LOOKUPS"
		echo "lookups_notfound=$(kv check_notfound "$OUT/lookup-$proto.txt")"
		echo "lookups_wrong=$(kv check_wrong "$OUT/lookup-$proto.txt")"
	} >"$OUT/check-$proto.txt"
	store_drop
}

SEARCH_QUERIES=(
	'{ resource.service.name = "checkout" && duration > 500ms }'
	'{ resource.service.name = "payment" && status = error }'
	'{ span.http.status_code = 500 }'
)
# --- the UI: bench_ui, with its own node and store in this process ------------------
ui_phase() {
	local args=(--runs "$UI_RUNS" --frames "$UI_FRAMES" --sizes "$UI_SIZES")
	idle_check UI
	ui_idle_busy=$idle_busy
	[ "$UI_SECONDS" = 0 ] ||
		args+=(--loadgen "$OUT/bin/loadgen" --seconds "$UI_SECONDS" --rate "$UI_RATE")
	log "ui: bench_ui ${args[*]}"
	OBSTUI_THEMES=$ROOT/assets/themes "$OUT/bin/bench_ui" "${args[@]}" >"$OUT/ui.txt" 2>"$OUT/ui.log" ||
		log "ui: bench_ui failed: $(tail -3 "$OUT/ui.log")"
}

# The UI's section of the report, from ui.txt.
ui_report() {
	local f=$OUT/ui.txt s p live ing
	echo "### Terminal UI"
	echo
	if [ ! -s "$f" ] || [ -z "$(kv ui_trace_spans "$f")" ]; then
		echo "Not measured: $(tail -1 "$OUT/ui.log" 2>/dev/null)"
		return
	fi
	echo "\`bench/bench_ui.c\` runs the UI on a pseudo-terminal (xterm-256color, UTF-8, curses'"
	echo "output read and dropped) and types as a terminal does. The trace: $(kv ui_trace_spans "$f") spans,"
	echo "$(kv ui_trace_services "$f") services, depth up to $(kv ui_trace_max_depth "$f"), $(kv ui_trace_errors "$f") errors,"
	echo "$(kv ui_trace_bytes "$f") bytes of OTLP. *Frame*: key read to frame written by curses;"
	echo "*key to screen*: key written on the pty to frame written (adds any wait for the UI thread)."
	echo "Machine $ui_idle_busy% busy just before."
	echo
	echo "| figure | result | target | |"
	echo "|---|---|---|---|"
	for s in $(kv ui_sizes "$f"); do
		p=ui_${s}_
		echo "| open the trace from the list to its first frame, $s: median / worst of $(kv ui_runs "$f") (CPU per open, all threads) | $(kv "${p}open_p50_ms" "$f") / $(kv "${p}open_max_ms" "$f") ms ($(kv "${p}open_cpu_ms" "$f") ms) | < 200 ms | $(verdict "$(kv "${p}open_p50_ms" "$f")" 200 le) (median) |"
	done
	for s in $(kv ui_sizes "$f"); do
		p=ui_${s}_
		echo "| scroll frames, $s: p50 / p99 / max of $(kv "${p}scroll_n" "$f"); key to screen p99 / max | $(kv "${p}scroll_p50_ms" "$f") / $(kv "${p}scroll_p99_ms" "$f") / $(kv "${p}scroll_max_ms" "$f") ms; $(kv "${p}scroll_from_write_p99_ms" "$f") / $(kv "${p}scroll_from_write_max_ms" "$f") ms | < 16 ms | $(verdict "$(kv "${p}scroll_p99_ms" "$f")" 16 le) (p99) |"
	done
	live=ui_live_
	[ -n "$(kv ${live}scroll_n "$f")" ] &&
		echo "| scrolling the trace while it is live ($(kv ${live}reloads "$f") reloads in $(kv ${live}seconds "$f") s, 30 keys/s): key to screen p50 / p99 / max; frame p99 | $(kv ${live}scroll_from_write_p50_ms "$f") / $(kv ${live}scroll_from_write_p99_ms "$f") / $(kv ${live}scroll_from_write_max_ms "$f") ms; $(kv ${live}scroll_p99_ms "$f") ms | < 16 ms | $(verdict "$(kv ${live}scroll_from_write_p99_ms "$f")" 16 le) (p99) |"
	ing=ui_ingest_
	if [ -n "$(kv ${ing}list_n "$f")" ]; then
		echo "| ingest during the list phase: node-accepted spans/s over $(kv ${ing}seconds "$f") s (loadgen: acknowledged/s, busy, failed) | $(kv ${ing}spans_per_s "$f") ($(kv ${ing}loadgen_spans_per_sec "$f"), $(kv ${ing}loadgen_busy_answers "$f"), $(kv ${ing}loadgen_failed_requests "$f")) | $(kv ui_ingest_rate "$f") spans/s | |"
		echo "| list frames under ingest, $(kv ui_ingest_keys_per_s "$f") keys/s: p50 / p99 / max of $(kv ${ing}list_n "$f"); key to screen p99 / max | $(kv ${ing}list_p50_ms "$f") / $(kv ${ing}list_p99_ms "$f") / $(kv ${ing}list_max_ms "$f") ms; $(kv ${ing}list_from_write_p99_ms "$f") / $(kv ${ing}list_from_write_max_ms "$f") ms | < 16 ms | $(verdict "$(kv ${ing}list_p99_ms "$f")" 16 le) (p99) |"
		echo "| list refreshes under ingest: per second; answer ready to frame written p50 / p99 / max | $(kv ${ing}list_refreshes_per_s "$f"); $(kv ${ing}refresh_p50_ms "$f") / $(kv ${ing}refresh_p99_ms "$f") / $(kv ${ing}refresh_max_ms "$f") ms | < 16 ms | $(verdict "$(kv ${ing}refresh_p99_ms "$f")" 16 le) (p99) |"
		echo "| the list's store search under ingest, p50 / p99 (fetch thread) | $(kv ${ing}list_search_p50_ms "$f") / $(kv ${ing}list_search_p99_ms "$f") ms | | |"
	fi
	echo "| the machine's CPU used by other processes during each phase | $(sed -n 's/^ui_\(.*\)_others_busy_pct=\(.*\)/\1 \2%/p' "$f" | paste -sd, - | sed 's/,/, /g') | | |"
	grep -q '^ui_failed=' "$f" && echo "| phases that failed (see ui.log) | $(sed -n 's/^ui_failed=//p' "$f" | paste -sd' ' -) | | |"
	return 0
}

# --- sync: push, pull and follow against Azurite -----------------------------------
# A store of SYNC_SPANS spans made by obstui serve and loadgen at full speed
# (sealed at SIGTERM, blocks of realistic size), a small one of ~16 blocks of
# one request each (--seal-idle 200ms, 2 requests a second) whose blocks
# bench_sync uploads to the follow remotes, then bench/sync_bench.mjs.  Its
# figures go to sync.txt (key=value), its progress to sync.log.
# sync_store DIR TAG SEAL_IDLE LOADGEN_ARGS...
sync_store() {
	local dir=$1 tag=$2 seal=$3
	shift 3
	SEAL_IDLE=$seal serve_start http "$tag" "$dir" || die "obstui did not open its OTLP/HTTP receiver"
	"$OUT/bin/loadgen" --port "$INGEST_PORT" --seed "$SEED" "$@" \
		>"$OUT/$tag-load.txt" 2>"$OUT/$tag-load.log" ||
		die "loadgen (sync store) failed: $(tail -3 "$OUT/$tag-load.log")"
	serve_stop "$tag"
	STORE=
}

sync_phase() {
	local nm=$ROOT/tests/node_modules
	idle_check sync
	sync_idle_busy=$idle_busy
	if [ ! -f "$nm/azurite/package.json" ] || [ ! -d "$nm/@azure/storage-blob" ] ||
	   ! command -v node >/dev/null; then
		echo "sync_skipped=Azurite, the Azure SDK or node is missing (make deps-test installs them)" \
			>"$OUT/sync.txt"
		log "sync: skipped: no Azurite or SDK in tests/node_modules, or no node"
		return 0
	fi
	SYNC_DIR=$(mktemp -d "${TMPDIR:-/tmp}/obstui-bench-sync.XXXXXX")
	log "sync: a store of $SYNC_SPANS spans to push and pull"
	sync_store "$SYNC_DIR/store" sync "$SEAL_IDLE" --conns "$CONNS" --spans "$SYNC_SPANS" --seconds 600
	sync_store "$SYNC_DIR/tiny" sync-tiny 200ms --conns 1 --rate 200 --seconds 8
	log "sync: bench/sync_bench.mjs: $SYNC_REPS rounds of push and pull, then follow with" \
		"$SYNC_FOLLOW_BLOCKS blocks (see sync.log)"
	node bench/sync_bench.mjs --obstui "$BIN" --tool "$OUT/bin/bench_sync" \
		--store "$SYNC_DIR/store" --template "$SYNC_DIR/tiny" --work "$SYNC_DIR/work" \
		--out "$OUT/sync.txt" --reps "$SYNC_REPS" --follow-blocks "$SYNC_FOLLOW_BLOCKS" \
		--follow-cycles "$SYNC_FOLLOW_CYCLES" --follow-new "$SYNC_FOLLOW_NEW" \
		>"$OUT/sync.stdout" 2>"$OUT/sync.log" ||
		{ log "sync: sync_bench failed: $(grep -v '^    at ' "$OUT/sync.log" | tail -3)"
		  echo "sync_failed=see sync.log" >>"$OUT/sync.txt"; }
	rm -rf "$SYNC_DIR"
	SYNC_DIR=
}

# A row comparing the large follow remote with the small one on the same Azurite.
follow_row() {
	local f=$OUT/sync.txt big b r
	big=$(kv "follow_big_$2" "$f")
	b=$(kv "follow_b_$2" "$f")
	r=$(fdiv "$big" "$b" %.2f)
	echo "| $1 | $big | $b | $r | the same (<= 1.2x) | $(awk -v r="$r" 'BEGIN {
		if (r == "n/a") print "?"; else if (r <= 1.2) print "met"; else printf "missed (%.2fx)", r }') |"
}

# The sync section of the report, from sync.txt.
sync_report() {
	local f=$OUT/sync.txt k o s a g
	echo "### Sync to blob storage (Azurite)"
	echo
	if [ -n "$(kv sync_skipped "$f")" ] || [ -z "$(kv sync_push_ratio "$f")" ]; then
		echo "Not measured: $(kv sync_skipped "$f")$(grep -v '^    at ' "$OUT/sync.log" 2>/dev/null | tail -1)"
		return 0
	fi
	echo "\`bench/sync_bench.mjs\`: one Azurite 3.35 (in memory) on 127.0.0.1; $(kv sync_blocks "$f") blocks,"
	echo "$(fdiv "$(kv sync_bytes "$f")" 1000000) MB (block bytes min / median / max: $(kv sync_block_bytes_min_median_max "$f"))."
	echo "obstui: \`obstui push\` / \`obstui pull\` (wall time of the command); SDK: @azure/storage-blob"
	echo "uploadFile + uploadData, listBlobsFlat + downloadToBuffer (meta) + downloadToFile (block),"
	echo "4 blobs in flight like obstui. Median of $(kv sync_reps "$f") rounds after a warm-up, the order"
	echo "alternating; the ratio is the median of each round's obstui / SDK. Machine $sync_idle_busy% busy before."
	echo
	echo "| figure | obstui | Azure SDK | obstui / SDK | target | |"
	echo "|---|---|---|---|---|---|"
	for k in push pull fetch; do
		case $k in
		push) o=push_obstui s=push_sdk; a="push, MB/s" ;;
		pull) o=pull_obstui s=pull_sdk; a="pull end to end (obstui: SHA-256, per-trace summaries from the block (older blocks decoded), rollups from the spans, record every trace), MB/s" ;;
		fetch) o=fetch_obstui s=pull_sdk; a="pull, raw transfer (obstui's blob client: list, GET meta and block, write; \`bench_sync fetch\`), MB/s" ;;
		esac
		echo "| $a (each round) | $(kv sync_${o}_mbps "$f") ($(kv sync_${o}_mbps_all "$f")) | $(kv sync_${s}_mbps "$f") ($(kv sync_${s}_mbps_all "$f")) | $(kv sync_${k}_ratio "$f") | >= 1.0 | $(verdict "$(kv sync_${k}_ratio "$f")" 1.0 ge) |"
	done
	for k in push pull fetch; do
		case $k in
		push) o=push_obstui s=push_sdk ;;
		pull) o=pull_obstui s=pull_sdk ;;
		fetch) o=fetch_obstui s=pull_sdk ;;
		esac
		echo "| CPU-seconds of the $k, client / Azurite | $(kv sync_${o}_cpu_seconds "$f") / $(kv sync_${o}_azurite_cpu_seconds "$f") | $(kv sync_${s}_cpu_seconds "$f") / $(kv sync_${s}_azurite_cpu_seconds "$f") | | | |"
	done
	if [ -n "$(kv follow_big_idle_p50_ms "$f")" ]; then
		echo
		echo "Follow cycle (\`bench/bench_sync.c\`): what \`--attach\` runs every 5 s, timed after the first full"
		echo "pull. The remotes' blocks are copies of one $(kv follow_template_bytes "$f")-byte block under new ids, the recent ones in the"
		echo "last hour, the others 10 an hour from 3 hours back; each new block is another small block"
		echo "(of $(kv follow_template_blocks "$f"), traces of its own). *obstui CPU*: all threads of the process, per cycle."
		echo
		echo "| remote | blocks | cycle, nothing new: p50 / p90 (obstui CPU p50) | cycle pulling one new block: p50 / p90 | full listing (every 60th cycle) p50 | requests per cycle: idle / new / full |"
		echo "|---|---|---|---|---|---|"
		for g in a big b; do
			case $g in
			a) a="10 blocks, on an Azurite holding nothing else" ;;
			big) a="$(kv follow_blocks "$f") blocks" ;;
			b) a="10 blocks, on the same Azurite after the large remote was made" ;;
			esac
			echo "| $a | $(kv follow_${g}_remote_blocks "$f") | $(kv follow_${g}_idle_p50_ms "$f") / $(kv follow_${g}_idle_p90_ms "$f") ms ($(kv follow_${g}_idle_cpu_p50_ms "$f") ms) | $(kv follow_${g}_new_p50_ms "$f") / $(kv follow_${g}_new_p90_ms "$f") ms | $(kv follow_${g}_full_p50_ms "$f") ms | $(kv follow_${g}_idle_requests "$f") / $(kv follow_${g}_new_requests "$f") / $(kv follow_${g}_full_requests "$f") |"
		done
		# the target: the same within noise.  Taken as at most 1.2x, the 10-block
		# remote measured on the same Azurite (b) against the large one
		echo
		echo "| $(kv follow_blocks "$f") against 10 blocks, on the same Azurite | large | 10 | ratio | target | |"
		echo "|---|---|---|---|---|---|"
		follow_row "cycle with nothing new, wall p50, ms" idle_p50_ms
		follow_row "the same, obstui CPU p50, ms" idle_cpu_p50_ms
		follow_row "cycle pulling one new block, wall p50, ms" new_p50_ms
		follow_row "the same, obstui CPU p50, ms" new_cpu_p50_ms
		follow_row "requests per cycle with nothing new" idle_requests
	fi
	grep -q '^sync_failed=' "$f" && echo && echo "The sync benchmark failed part way: see sync.log."
	return 0
}

if [ "$UI" != only ] && [ "$SYNC" != only ]; then
	for p in $PROTOCOLS; do
		if [ "$p" = "$MAIN" ]; then main_run "$p"; else side_run "$p"; fi
	done
fi
[ "$UI" = 0 ] || ui_phase
[ "$SYNC" = 0 ] || sync_phase
if [ "$SYNC" = only ]; then
	{
		echo "## obstui sync benchmark, $(date -u +%Y-%m-%d)"
		echo
		echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r); obstui $BENCH_LABEL; bench_sync from libobstui.a of $BUILD."
		echo
		sync_report
		echo
		echo "<details><summary>raw figures</summary>"
		echo
		echo '```'
		cat "$OUT/sync.txt"
		echo '```'
		echo "</details>"
	} | tee "$OUT/results-sync.md"
	exit 0
fi
if [ "$UI" = only ]; then
	{
		echo "## obstui UI benchmark, $(date -u +%Y-%m-%d)"
		echo
		echo "Machine: $(nproc) cores ($(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)), Linux $(uname -r); libobstui.a of $BUILD ($BENCH_LABEL)."
		echo
		ui_report
		echo
		echo "<details><summary>raw figures</summary>"
		echo
		echo '```'
		cat "$OUT/ui.txt"
		echo '```'
		echo "</details>"
	} | tee "$OUT/results-ui.md"
	exit 0
fi

# --- report -------------------------------------------------------------------
L=$OUT/load-$MAIN.txt
S=$OUT/server-$MAIN.txt
load_secs=$(kv seconds "$L")
load_rate=$(kv spans_per_sec "$L")
load_cpu=$(kv obstui_cpu_load_seconds "$S")
hwm_load_kb=$(kv vmhwm_load_kb "$S")
wire_bps=$(kv wire_bytes_per_span "$L")
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem_gb=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
rss_load_mb=$(fdiv "$hwm_load_kb" 1024 %.0f)
rss_mb=$(fdiv "$hwm_kb" 1024 %.0f)
bps_dir=$(fdiv "$dir_bytes" "$spans_db")
bps_blocks=$(fdiv "$block_bytes" "$spans_db")
spcpu=$(fdiv "$load_spans" "$load_cpu" %.0f)
j99=$(kv json_p99_ms "$OUT/lookup-json.txt")
p99=$(kv pb_p99_ms "$OUT/lookup-pb.txt")
s0_p99=$(kv s0_p99_ms "$OUT/search-0.txt")
if [ "$MAIN" = grpc ]; then
	main_conns="$GRPC_CONNS connections x $GRPC_STREAMS gRPC calls in flight"
else
	main_conns="$CONNS connections"
fi

# One row of the protocol comparison.
compare_row() {
	local p=$1 f="$OUT/load-$1.txt" g="$OUT/server-$1.txt" spans found
	if [ ! -f "$g" ]; then
		echo "| $(proto_name "$p") | not measured: $(cat "$OUT/skip-$p.txt" 2>/dev/null) | | | | | | | | |"
		return
	fi
	spans=$(kv spans_ok "$f")
	# the main run's store also holds the fill's spans
	if [ "$p" = "$MAIN" ]; then
		found="$spans_db of $stored; $(( $(kv pb_notfound "$OUT/lookup-pb.txt") + $(kv json_notfound "$OUT/lookup-json.txt") )) (wrong $(( $(kv pb_wrong "$OUT/lookup-pb.txt") + $(kv json_wrong "$OUT/lookup-json.txt") ))) of $((2 * LOOKUPS))"
	else
		found="$(kv spans_stored "$OUT/check-$p.txt") of $spans; $(kv lookups_notfound "$OUT/check-$p.txt") (wrong $(kv lookups_wrong "$OUT/check-$p.txt")) of $(kv lookups "$OUT/check-$p.txt")"
	fi
	echo "| $(proto_name "$p") | $(kv conns "$f") x $(kv streams "$f") | $(kv spans_per_sec "$f") |" \
		"$(per_million "$(kv obstui_cpu_load_seconds "$g")" "$spans") |" \
		"$(fdiv "$(kv vmhwm_load_kb "$g")" 1024 %.0f) MB |" \
		"$(kv ack_p50_ms "$f") / $(kv ack_p99_ms "$f") ms | $(kv busy_answers "$f") / $(kv failed_requests "$f") |" \
		"$(per_million "$(kv loadgen_cpu_seconds "$f")" "$spans") |" \
		"$(kv idle_busy_pct "$g")% / $(kv machine_busy_pct "$g")% | $found |"
}
# gRPC / HTTP of figure $1 of load or server file $2 ("load" or "server"), per span if $3
ratio() {
	local h g
	h=$(kv "$1" "$OUT/$2-http.txt")
	g=$(kv "$1" "$OUT/$2-grpc.txt")
	if [ -n "${3:-}" ]; then
		h=$(per_million "$h" "$(kv spans_ok "$OUT/load-http.txt")")
		g=$(per_million "$g" "$(kv spans_ok "$OUT/load-grpc.txt")")
	fi
	fdiv "$g" "$h" %.2f
}

{
echo "## obstui benchmark, $(date -u +%Y-%m-%d)"
echo
echo "Machine: $(nproc) cores ($cpu_model), ${mem_gb} GB RAM, Linux $(uname -r); load generator"
echo "on the same cores. obstui $BENCH_LABEL,"
echo "\`--seal-idle $SEAL_IDLE\`$([ "$FSYNC" = 1 ] && echo ' `--fsync`'), $(proto_name "$MAIN"), $main_conns, requests of 100 spans"
echo "(10 traces x 10 spans, 10 attributes each, $wire_bps B/span on the wire)."
echo
echo "| figure | result | target | |"
echo "|---|---|---|---|"
echo "| sustained ingest, $(proto_name "$MAIN"), durable acks ($load_secs s) | $load_rate spans/s | 200,000 spans/s | $(verdict "$load_rate" 200000 ge) |"
echo "| ingest in 5 s windows of the load, spans/s | $(kv windows "$S") | | |"
[ -n "$fill_rate" ] && echo "| ingest while filling to $stored spans ($fill_secs s) | $fill_rate spans/s | | |"
echo "| spans per obstui CPU-second (load phase) | $spcpu | (Tempo: ~37,000) | |"
echo "| obstui CPU during load | $load_cpu s of $load_secs s | | |"
echo "| busiest obstui threads during load, % of one core | $(kv busiest_threads "$S") | | |"
echo "| load generator CPU during load | $(kv loadgen_cpu_seconds "$L") s | | |"
echo "| machine CPU busy just before the run | $(kv idle_busy_pct "$S")% | | |"
echo "| machine CPU busy during load | $(kv machine_busy_pct "$S")% of $(nproc) cores ($(kv other_cpu_seconds "$S") CPU-s by other processes) | | |"
echo "| disk writes by obstui during load (/proc/PID/io) | $(fdiv "$(kv load_write_bytes "$S")" "$load_spans" %.0f) B/span ($(fdiv "$(kv load_write_bytes "$S")" 1048576 %.0f) MB) | | |"
echo "| disk reads by obstui during load | $(fdiv "$(kv load_read_bytes "$S")" "$load_spans" %.0f) B/span | | |"
echo "| peak RSS during load (VmHWM) | $rss_load_mb MB | < 300 MB | $(verdict "$rss_load_mb" 300 le) |"
echo "| peak RSS, whole run | $rss_mb MB | | |"
echo "| ack latency p50 / p99 (load) | $(kv ack_p50_ms "$L") / $(kv ack_p99_ms "$L") ms | | |"
echo "| busy answers (503, or gRPC UNAVAILABLE / RESOURCE_EXHAUSTED) / failed requests | $busy / $failed | | |"
echo "| spans stored | $spans_db | 10,000,000 for the query targets | |"
echo "| bytes per span on disk, whole store dir after sealing | $bps_dir | <= 40 | $(verdict "$bps_dir" 40 le) |"
echo "| bytes per span, block files only | $bps_blocks | | |"
echo "| database after sealing | $(fdiv "$db_bytes" 1048576) MB ($(fdiv "$db_bytes" "$spans_db") B/span) | | |"
echo "| trace by id, protobuf answer, p50 / p99 ($LOOKUPS ids) | $(kv pb_p50_ms "$OUT/lookup-pb.txt") / $p99 ms | p99 < 5 ms | $(verdict "$p99" 5 le) |"
echo "| trace by id, JSON answer, p50 / p99 | $(kv json_p50_ms "$OUT/lookup-json.txt") / $j99 ms | | |"
echo "| trace by id, not found or wrong | $(( $(kv pb_notfound "$OUT/lookup-pb.txt") + $(kv json_notfound "$OUT/lookup-json.txt") )) / $(( $(kv pb_wrong "$OUT/lookup-pb.txt") + $(kv json_wrong "$OUT/lookup-json.txt") )) | 0 | |"
i=0
for q in "${SEARCH_QUERIES[@]}"; do
	f="$OUT/search-$i.txt"
	tgt=; ver=
	[ $i = 0 ] && tgt="< 100 ms" && ver=$(verdict "$s0_p99" 100 le)
	echo "| search \`${q//|/\\|}\` limit 20, p50 / p99 ($(kv s${i}_avg_results "$f") hits) | $(kv s${i}_p50_ms "$f") / $(kv s${i}_p99_ms "$f") ms | $tgt | $ver |"
	i=$((i + 1))
done
echo "| head emptied by the sealer after load | ${seal_wait} s | | |"
echo "| shutdown (SIGTERM to exit, seals the rest) | ${main_stop_secs} s | | |"
echo
echo "### OTLP/HTTP and OTLP/gRPC, the same requests"
echo
echo "Each protocol on its own fresh store, $SECONDS_LOAD s of load with the same requests (seed $SEED);"
echo "$(proto_name "$MAIN") is the run above. CPU per million spans is obstui's utime + stime over the"
echo "load phase divided by the spans acknowledged; RSS is VmHWM after the load."
echo
echo "| protocol | connections x requests in flight each | spans/s acknowledged | obstui CPU-s per million spans | peak RSS during load | ack latency p50 / p99 | busy answers / failed requests | load generator CPU-s per million spans | machine busy before / during | spans in the store after stop, of acknowledged; trace ids not found (or wrong), of looked up |"
echo "|---|---|---|---|---|---|---|---|---|---|"
for p in $PROTOCOLS; do compare_row "$p"; done
if [ -f "$OUT/server-http.txt" ] && [ -f "$OUT/server-grpc.txt" ]; then
	echo "| gRPC / HTTP | | $(ratio spans_per_sec load) | $(ratio obstui_cpu_load_seconds server per-span) | $(ratio vmhwm_load_kb server) | | | $(ratio loadgen_cpu_seconds load per-span) | | |"
fi
echo
[ "$UI" = 0 ] || ui_report
echo
[ "$SYNC" = 0 ] || { sync_report; echo; }
echo "<details><summary>raw figures</summary>"
echo
echo '```'
cat "$L"
[ -f "$OUT/fill.txt" ] && sed 's/^/fill_/' "$OUT/fill.txt"
cat "$OUT/lookup-pb.txt" "$OUT/lookup-json.txt" "$OUT"/search-*.txt
cat "$S"
[ -n "$fill_rate" ] && echo "obstui_cpu_fill_seconds=$fill_cpu"
echo "vmhwm_kb=$hwm_kb"
echo "store_dir_bytes=$dir_bytes"
echo "stop_seconds=$main_stop_secs"
echo "stats=$main_stats"
for p in $PROTOCOLS; do
	[ "$p" = "$MAIN" ] && continue
	for f in "$OUT/load-$p.txt" "$OUT/server-$p.txt" "$OUT/check-$p.txt"; do
		[ -f "$f" ] && sed "s/^/${p}_/" "$f"
	done
	[ -f "$OUT/stats-$p.json" ] && echo "${p}_stats=$(cat "$OUT/stats-$p.json")"
done
[ -f "$OUT/ui.txt" ] && cat "$OUT/ui.txt"
[ "$SYNC" = 0 ] || [ ! -f "$OUT/sync.txt" ] || cat "$OUT/sync.txt"
echo '```'
echo "</details>"
} | tee "$OUT/results.md"
