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
# Prints a markdown table on stdout and writes it, with the raw figures,
# to bench/out/results.md; logs of every phase stay in bench/out/.
#
# Knobs (environment):
#   BENCH_SECONDS=45        length of the load phase
#   BENCH_CONNS=32          concurrent connections of the load generator
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
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-bench/out}
SECONDS_LOAD=${BENCH_SECONDS:-45}
CONNS=${BENCH_CONNS:-32}
SPANS_WANTED=${BENCH_SPANS:-0}
FILL_SECONDS=${BENCH_FILL_SECONDS:-1200}
LOOKUPS=${BENCH_LOOKUPS:-2000}
SEARCHES=${BENCH_SEARCHES:-50}
SEAL_IDLE=${BENCH_SEAL_IDLE:-2s}
FSYNC=${BENCH_FSYNC:-0}
PERF=${BENCH_PERF:-0}
SEED=${BENCH_SEED:-1}
BIN=${OBSTUI_BIN:-$ROOT/obstui}

mkdir -p "$OUT/bin"
OUT=$(cd "$OUT" && pwd)
# nothing from an earlier run may end up in this one's report
rm -f "$OUT"/*.txt "$OUT"/*.log "$OUT"/*.json "$OUT"/serve.stdout "$OUT"/results.md \
	"$OUT"/perf.data "$OUT"/perf.data.old
log() { printf 'bench: %s\n' "$*" >&2; }
die() { printf 'bench: %s\n' "$*" >&2; exit 1; }

# --- build --------------------------------------------------------------------
if [ ! -x "$BIN" ] || [ ! -f build/libobstui.a ]; then
	make --no-print-directory all >&2
fi
CFLAGS_BENCH=(-std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror)
# shellcheck disable=SC2046 # pkg-config prints several words on purpose
cc "${CFLAGS_BENCH[@]}" -Isrc -Ibuild/gen -o "$OUT/bin/loadgen" bench/loadgen.c \
	build/libobstui.a $(pkg-config --libs libprotobuf-c) -lpthread
cc "${CFLAGS_BENCH[@]}" -o "$OUT/bin/lookup" bench/lookup.c
# a copy, so that a rebuild during the run changes nothing under test
cp "$BIN" "$OUT/bin/obstui"
if [ -z "${BENCH_LABEL:-}" ]; then
	BENCH_LABEL=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
	git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || BENCH_LABEL="$BENCH_LABEL + uncommitted changes"
fi
BIN=$OUT/bin/obstui

# --- helpers ------------------------------------------------------------------
STORE=$(mktemp -d "${TMPDIR:-/tmp}/obstui-bench.XXXXXX")
PID=
SAMPLER=
cleanup() {
	if [ -n "$SAMPLER" ]; then kill "$SAMPLER" 2>/dev/null || true; fi
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then
		kill -TERM "$PID" 2>/dev/null || true
		wait "$PID" 2>/dev/null || true
	fi
	[ "${BENCH_KEEP_STORE:-0}" = 1 ] || rm -rf "$STORE"
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
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b == 0) print "n/a"; else printf f, a / b }'; }
stats_json() { "$BIN" stats --store "$STORE" --json 2>/dev/null; }

# how busy the machine is before we start (other sessions, builds, fuzzers)
read -r ibusy0 itotal0 < <(machine_ticks)
sleep 2
read -r ibusy1 itotal1 < <(machine_ticks)
idle_busy=$(fdiv $((100 * (ibusy1 - ibusy0))) $((itotal1 - itotal0)) %.0f)
[ "${idle_busy%%.*}" -le 10 ] 2>/dev/null ||
	log "warning: the machine is ${idle_busy}% busy before the run; results will be low"

# --- start obstui -------------------------------------------------------------
serve_args=(serve --store "$STORE" --otlp-http 127.0.0.1:0 --api 127.0.0.1:0
	--otlp-grpc off --zipkin off --seal-idle "$SEAL_IDLE")
[ "$FSYNC" = 1 ] && serve_args+=(--fsync)
"$BIN" "${serve_args[@]}" >"$OUT/serve.stdout" 2>"$OUT/serve.log" &
PID=$!
for _ in $(seq 100); do
	grep -q '^ready' "$OUT/serve.stdout" 2>/dev/null && break
	kill -0 "$PID" 2>/dev/null || die "obstui exited at start: $(tail -3 "$OUT/serve.log")"
	sleep 0.1
done
grep -q '^ready' "$OUT/serve.stdout" || die "obstui did not say ready"
OTLP_PORT=$(sed -n 's/^listening otlp-http .*:\([0-9]*\)$/\1/p' "$OUT/serve.stdout")
API_PORT=$(sed -n 's/^listening api .*:\([0-9]*\)$/\1/p' "$OUT/serve.stdout")
log "obstui pid $PID, otlp-http :$OTLP_PORT, api :$API_PORT, store $STORE"

# RSS over time, one sample a second, for the record
( while kill -0 "$PID" 2>/dev/null; do
	printf '%s %s\n' "$(date +%s)" "$(awk '$1 == "VmRSS:" { print $2 }' "/proc/$PID/status" 2>/dev/null)"
	sleep 1
  done ) >"$OUT/rss.log" 2>/dev/null &
SAMPLER=$!

# --- load ---------------------------------------------------------------------
log "load: $SECONDS_LOAD s, $CONNS connections"
cpu0=$(cpu_ticks)
thread_ticks >"$OUT/threads0.txt"
read -r mbusy0 mtotal0 < <(machine_ticks)
wbytes0=$(io_bytes write_bytes)
rbytes0=$(io_bytes read_bytes)
if [ "$PERF" = 1 ]; then
	perf record -F 499 -g -p "$PID" -o "$OUT/perf.data" -- sleep "$SECONDS_LOAD" \
		>"$OUT/perf.log" 2>&1 &
	PERF_PID=$!
fi
"$OUT/bin/loadgen" --port "$OTLP_PORT" --conns "$CONNS" --seconds "$SECONDS_LOAD" \
	--seed "$SEED" --seq-start 0 >"$OUT/load.txt" 2>"$OUT/load.log" ||
	die "loadgen failed: $(tail -3 "$OUT/load.log")"
cpu1=$(cpu_ticks)
thread_ticks >"$OUT/threads1.txt"
read -r mbusy1 mtotal1 < <(machine_ticks)
wbytes1=$(io_bytes write_bytes)
rbytes1=$(io_bytes read_bytes)
hwm_load_kb=$(status_kb VmHWM)
if [ "$PERF" = 1 ]; then
	wait "$PERF_PID" || true
	perf report -i "$OUT/perf.data" --no-children --percent-limit 0.5 --stdio \
		>"$OUT/perf-report.txt" 2>/dev/null || true
fi
kill -0 "$PID" 2>/dev/null || die "obstui died during the load: $(tail -5 "$OUT/serve.log")"
curl -s "http://127.0.0.1:$API_PORT/metrics" >"$OUT/metrics-after-load.txt" 2>/dev/null || true

load_spans=$(kv spans_ok "$OUT/load.txt")
load_secs=$(kv seconds "$OUT/load.txt")
load_rate=$(kv spans_per_sec "$OUT/load.txt")
load_cpu=$(fdiv $((cpu1 - cpu0)) "$TICKS" %.2f)
gen_cpu=$(kv loadgen_cpu_seconds "$OUT/load.txt")
machine_busy=$(fdiv $((100 * (mbusy1 - mbusy0))) $((mtotal1 - mtotal0)) %.0f)
# CPU that neither obstui nor the load generator used: other processes
other_cpu=$(awk -v m=$((mbusy1 - mbusy0)) -v o=$((cpu1 - cpu0)) -v g="$gen_cpu" -v t="$TICKS" \
	'BEGIN { v = (m - o) / t - g; printf "%.1f", v < 0 ? 0 : v }')
# the busiest threads that lived through the whole load phase: the writer
# and the sealer (created first after the main thread), not the per-connection
# threads of libmicrohttpd, which start with the load
busiest=$(awk -v t="$TICKS" -v secs="$(kv seconds "$OUT/load.txt")" '
	NR == FNR { a[$1] = $2; next }
	($1 in a) { printf "%d %.0f\n", $1, 100 * ($2 - a[$1]) / t / secs }' \
	"$OUT/threads0.txt" "$OUT/threads1.txt" | sort -k2 -n -r | head -3 |
	awk '{ printf "%s%s%% (tid %s)", (NR > 1 ? ", " : ""), $2, $1 }')
written_per_span=$(fdiv $((wbytes1 - wbytes0)) "$load_spans" %.0f)
read_per_span=$(fdiv $((rbytes1 - rbytes0)) "$load_spans" %.0f)
stored=$load_spans
# the 5 s windows of the load, to show whether the rate holds or decays
windows=$(grep -o 'rate=[0-9]*' "$OUT/load.log" | cut -d= -f2 |
	awk 'NR == 1 { f = $1; m = $1 } { if ($1 < m) m = $1; l = $1 }
	     END { if (NR) printf "first %d, lowest %d, last %d", f, m, l }')
seq_next=$(kv seq_end "$OUT/load.txt")
failed=$(kv failed_requests "$OUT/load.txt")
busy=$(kv busy_answers "$OUT/load.txt")
log "load: $load_spans spans in $load_secs s = $load_rate spans/s; obstui CPU $load_cpu s"

# --- fill ---------------------------------------------------------------------
fill_rate=
if [ "$SPANS_WANTED" -gt "$stored" ]; then
	need=$((SPANS_WANTED - stored))
	log "fill: $need more spans (at most $FILL_SECONDS s)"
	fcpu0=$(cpu_ticks)
	"$OUT/bin/loadgen" --port "$OTLP_PORT" --conns "$CONNS" --seconds "$FILL_SECONDS" \
		--spans "$need" --seed "$SEED" --seq-start "$seq_next" --report-every 30 \
		>"$OUT/fill.txt" 2>"$OUT/fill.log" || die "loadgen (fill) failed"
	fcpu1=$(cpu_ticks)
	kill -0 "$PID" 2>/dev/null || die "obstui died during the fill: $(tail -5 "$OUT/serve.log")"
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

# --- seal ---------------------------------------------------------------------
log "seal: waiting for the head to empty"
seal_t0=$(date +%s.%N)
for _ in $(seq 600); do
	head_spans=$(json_num headSpans "$(stats_json)")
	[ "${head_spans:-1}" = 0 ] && break
	sleep 1
done
seal_wait=$(awk -v a="$seal_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
st=$(stats_json)
log "seal: head has ${head_spans:-?} spans after $seal_wait s; stats: $st"

# --- query --------------------------------------------------------------------
log "query: $LOOKUPS trace lookups per format, $SEARCHES runs per search"
"$OUT/bin/lookup" trace --port "$API_PORT" --seed "$SEED" --seqs "0:$seq_next" \
	--n "$LOOKUPS" --warmup 20 --prefix json_ >"$OUT/lookup-json.txt" 2>>"$OUT/query.log"
"$OUT/bin/lookup" trace --port "$API_PORT" --seed "$SEED" --seqs "0:$seq_next" \
	--n "$LOOKUPS" --warmup 20 --protobuf --prefix pb_ >"$OUT/lookup-pb.txt" 2>>"$OUT/query.log"
SEARCH_QUERIES=(
	'{ resource.service.name = "checkout" && duration > 500ms }'
	'{ resource.service.name = "payment" && status = error }'
	'{ span.http.status_code = 500 }'
)
i=0
for q in "${SEARCH_QUERIES[@]}"; do
	"$OUT/bin/lookup" search --port "$API_PORT" --q "$q" --n "$SEARCHES" --warmup 2 \
		--prefix "s${i}_" >"$OUT/search-$i.txt" 2>>"$OUT/query.log"
	i=$((i + 1))
done
hwm_kb=$(status_kb VmHWM)

# --- stop ---------------------------------------------------------------------
stop_t0=$(date +%s.%N)
kill -TERM "$PID"
wait "$PID" || die "obstui exited with $? at SIGTERM: $(tail -5 "$OUT/serve.log")"
PID=
stop_secs=$(awk -v a="$stop_t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.1f", b - a }')
st=$(stats_json)
echo "$st" >"$OUT/stats.json"
spans_db=$(json_num spans "$st")
block_bytes=$(json_num blockBytes "$st")
db_bytes=$(json_num databaseBytes "$st")
dir_bytes=$(du -sb "$STORE" | cut -f1)
wire_bps=$(kv wire_bytes_per_span "$OUT/load.txt")

# --- report -------------------------------------------------------------------
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
mem_gb=$(awk '/^MemTotal/ { printf "%.0f", $2 / 1048576 }' /proc/meminfo)
verdict() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN {
	if (v == "n/a" || v == "") { print "?"; exit }
	ok = d == "ge" ? v >= t : v <= t
	if (ok) print "met"; else if (d == "ge") printf "missed (%.0f%% of target)", 100 * v / t
	else printf "missed (%.1fx target)", v / t }'; }
rss_load_mb=$(fdiv "$hwm_load_kb" 1024 %.0f)
rss_mb=$(fdiv "$hwm_kb" 1024 %.0f)
bps_dir=$(fdiv "$dir_bytes" "$spans_db")
bps_blocks=$(fdiv "$block_bytes" "$spans_db")
spcpu=$(fdiv "$load_spans" "$load_cpu" %.0f)
j99=$(kv json_p99_ms "$OUT/lookup-json.txt")
p99=$(kv pb_p99_ms "$OUT/lookup-pb.txt")
s0_p99=$(kv s0_p99_ms "$OUT/search-0.txt")

{
echo "## obstui benchmark, $(date -u +%Y-%m-%d)"
echo
echo "Machine: $(nproc) cores ($cpu_model), ${mem_gb} GB RAM, Linux $(uname -r); load generator"
echo "on the same cores. obstui $BENCH_LABEL,"
echo "\`--seal-idle $SEAL_IDLE\`$([ "$FSYNC" = 1 ] && echo ' `--fsync`'), $CONNS connections, requests of 100 spans"
echo "(10 traces x 10 spans, 10 attributes each, $wire_bps B/span on the wire)."
echo
echo "| figure | result | target | |"
echo "|---|---|---|---|"
echo "| sustained ingest, durable acks ($load_secs s) | $load_rate spans/s | 200,000 spans/s | $(verdict "$load_rate" 200000 ge) |"
echo "| ingest in 5 s windows of the load, spans/s | ${windows:-n/a} | | |"
[ -n "$fill_rate" ] && echo "| ingest while filling to $stored spans ($fill_secs s) | $fill_rate spans/s | | |"
echo "| spans per obstui CPU-second (load phase) | $spcpu | (Tempo: ~37,000) | |"
echo "| obstui CPU during load | $load_cpu s of $load_secs s | | |"
echo "| busiest obstui threads during load, % of one core | $busiest | | |"
echo "| load generator CPU during load | $gen_cpu s | | |"
echo "| machine CPU busy just before the run | ${idle_busy}% | | |"
echo "| machine CPU busy during load | ${machine_busy}% of $(nproc) cores ($other_cpu CPU-s by other processes) | | |"
echo "| disk writes by obstui during load (/proc/PID/io) | $written_per_span B/span ($(fdiv $((wbytes1 - wbytes0)) $((1048576)) %.0f) MB) | | |"
echo "| disk reads by obstui during load | $read_per_span B/span | | |"
echo "| peak RSS during load (VmHWM) | $rss_load_mb MB | < 300 MB | $(verdict "$rss_load_mb" 300 le) |"
echo "| peak RSS, whole run | $rss_mb MB | | |"
echo "| ack latency p50 / p99 (load) | $(kv ack_p50_ms "$OUT/load.txt") / $(kv ack_p99_ms "$OUT/load.txt") ms | | |"
echo "| 503 answers / failed requests | $busy / $failed | | |"
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
echo "| shutdown (SIGTERM to exit, seals the rest) | ${stop_secs} s | | |"
echo
echo "<details><summary>raw figures</summary>"
echo
echo '```'
cat "$OUT/load.txt"
[ -f "$OUT/fill.txt" ] && sed 's/^/fill_/' "$OUT/fill.txt"
cat "$OUT/lookup-pb.txt" "$OUT/lookup-json.txt" "$OUT"/search-*.txt
echo "obstui_cpu_load_seconds=$load_cpu"
[ -n "$fill_rate" ] && echo "obstui_cpu_fill_seconds=$fill_cpu"
echo "vmhwm_load_kb=$hwm_load_kb"
echo "load_write_bytes=$((wbytes1 - wbytes0))"
echo "load_read_bytes=$((rbytes1 - rbytes0))"
echo "other_cpu_seconds=$other_cpu"
echo "vmhwm_kb=$hwm_kb"
echo "store_dir_bytes=$dir_bytes"
echo "stats=$st"
echo '```'
echo "</details>"
} | tee "$OUT/results.md"
