#!/usr/bin/env bash
# bench/svcgraph_bench.sh - the span-analytics benchmark (issue 12): what
# the service-graph rollups cost on ingest, and how fast the service graph,
# Grafana's service-map queries, TraceQL metrics and the Services view
# answer over a store of 10 million spans (see bench/README.md, "Service
# graph and span metrics").
#
#   cost     two obstui serve on two fresh stores, one with the rollups and
#            one with OBSTUI_NO_ROLLUPS=1, both --seal-idle 2s, loaded in
#            turn by bench/loadgen.c: BENCH_SG_ROUNDS rounds of
#            BENCH_SG_ROUND_SECONDS each, the order alternating from round
#            to round.  Each turn: loadgen, then wait until the head is
#            sealed (obstui_store_head_bytes and queue depth 0 on /metrics),
#            so the sealing, where the rollups are made, is inside the
#            measured window.  Figures per server, summed over its turns:
#            spans acknowledged; spans/s over the load; spans/s over load +
#            drain (ingest throughput to sealed blocks); obstui CPU-seconds
#            (utime + stime from /proc/PID/stat) per million spans over load
#            + drain.  Target: with rollups >= 90 % of without.
#   fill     a third obstui on a fresh store; loadgen --spans BENCH_SG_SPANS
#            --spread 604800 --spread-ordered (trace starts spread over the
#            last 7 days, the oldest sent first, so blocks are sealed in time
#            order as a week of live ingest makes them; BENCH_SG_ORDER=random
#            spreads each trace anywhere in the week instead, so that every
#            block covers the whole week), then
#            wait until sealed; then BENCH_SG_RECENT spans with no spread (a
#            live system's last minutes: Prometheus-style series end 15
#            minutes after their last event) and wait again.
#   query    bench/svcgraph_queries.mjs: /api/service-graph for the last 1 h
#            and 7 d, Grafana's 8 service-map queries for $__range 1h and 7d,
#            the service table's topk and histogram_quantile, TraceQL metrics
#            `{ } | rate() by (resource.service.name)` over 1 h; p50 and max
#            of BENCH_SG_REPS, every answer checked against what loadgen sent.
#   ui       the server stops (SIGTERM); bench/bench_sgui.c opens the store
#            as obstui does and runs the real UI on a pseudo-terminal: Tab
#            from the traces list, the first frame with the service graph
#            drawn, BENCH_SG_REPS times ("not built" when Tab opens no
#            Services view).
#
# Prints a markdown table and writes it, with the raw figures, to
# bench/out/results-svcgraph.md; logs stay in bench/out/svcgraph/.  Exits 1
# when an answer was wrong (or the rollups were on in both cost servers, or
# off in both, or the view's benchmark failed).  Servers listen on 127.0.0.1 port 0; every wait
# is bounded; the stores are removed at the end (BENCH_KEEP_STORE=1 keeps
# them).
#
# Knobs (environment):
#   BENCH_SG_SPANS=10000000       spans in the query store (before the recent ones)
#   BENCH_SG_RECENT=50000         spans sent after the fill with no spread
#   BENCH_SG_SPREAD=604800        seconds the fill's trace starts spread over
#   BENCH_SG_ORDER=ordered        ordered (time order, as live ingest) or random
#   BENCH_SG_ROUNDS=3             cost: rounds (each server loaded once a round)
#   BENCH_SG_ROUND_SECONDS=20     cost: load per turn
#   BENCH_SG_REPS=20              timed repetitions of each query (after a warm-up)
#   BENCH_SG_METRICS_REPS=5       of the TraceQL metrics query
#   BENCH_SG_PHASES="cost fill"   cost, fill (with query and ui), or both
#   BENCH_SG_COST_SWITCH=rollups  cost: what the second server goes without:
#                                 rollups (OBSTUI_NO_ROLLUPS=1) or compaction
#                                 (OBSTUI_NO_COMPACT=1: trace and metric blocks
#                                 never merged; make bench-compact-cost); with
#                                 compaction the table adds the compactor
#                                 thread's share of obstui's CPU
#   BENCH_SG_FILL_SECONDS=1800    bound on the fill
#   BENCH_SG_SEAL_SECONDS=1800    bound on each wait for sealing
#   BENCH_CONNS=32                loadgen connections
#   BENCH_SEAL_IDLE=2s            obstui --seal-idle
#   BENCH_SEED=1, BENCH_OUT=bench/out, BENCH_BUILD=build, OBSTUI_BIN,
#   BENCH_LABEL, BENCH_KEEP_STORE   as in bench/run.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-bench/out}
SPANS=${BENCH_SG_SPANS:-10000000}
RECENT=${BENCH_SG_RECENT:-50000}
SPREAD=${BENCH_SG_SPREAD:-604800}
ORDER=${BENCH_SG_ORDER:-ordered}
ROUNDS=${BENCH_SG_ROUNDS:-3}
ROUND_SECONDS=${BENCH_SG_ROUND_SECONDS:-20}
REPS=${BENCH_SG_REPS:-20}
METRICS_REPS=${BENCH_SG_METRICS_REPS:-5}
PHASES=${BENCH_SG_PHASES:-cost fill}
SWITCH=${BENCH_SG_COST_SWITCH:-rollups}
case $SWITCH in
rollups) OFF_ENV=OBSTUI_NO_ROLLUPS=1 ;;
compaction) OFF_ENV=OBSTUI_NO_COMPACT=1 ;;
*) echo "svcgraph_bench: BENCH_SG_COST_SWITCH: '$SWITCH' is neither rollups nor compaction" >&2; exit 1 ;;
esac
FILL_SECONDS=${BENCH_SG_FILL_SECONDS:-1800}
SEAL_SECONDS=${BENCH_SG_SEAL_SECONDS:-1800}
CONNS=${BENCH_CONNS:-32}
SEAL_IDLE=${BENCH_SEAL_IDLE:-2s}
SEED=${BENCH_SEED:-1}
BUILD=${BENCH_BUILD:-build}
if [ "$BUILD" = build ]; then BUILD_BIN=$ROOT/obstui; else BUILD_BIN=$ROOT/$BUILD/obstui; fi
BIN=${OBSTUI_BIN:-$BUILD_BIN}

log() { printf 'svcgraph_bench: %s\n' "$*" >&2; }
die() { printf 'svcgraph_bench: %s\n' "$*" >&2; exit 1; }

for p in $PHASES; do
	case $p in cost | fill) ;; *) die "BENCH_SG_PHASES: '$p' is neither cost nor fill" ;; esac
done
case $ORDER in
ordered) SPREAD_ARGS=(--spread "$SPREAD" --spread-ordered) ;;
random) SPREAD_ARGS=(--spread "$SPREAD") ;;
*) die "BENCH_SG_ORDER: '$ORDER' is neither ordered nor random" ;;
esac
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }

mkdir -p "$OUT/svcgraph/bin"
OUT=$(cd "$OUT" && pwd)
LOGS=$OUT/svcgraph
rm -f "$LOGS"/*.txt "$LOGS"/*.log "$LOGS"/*.stdout "$OUT/results-svcgraph.md"
R=$LOGS/svcgraph.txt         # every figure, key=value
: >"$R"
put() { echo "$1=$2" >>"$R"; }
kv() { sed -n "s/^$1=//p" "$2" | tail -1; }

# --- build ----------------------------------------------------------------------
# loadgen and bench_sgui link libobstui.a of $BUILD (bench_sgui runs the UI,
# so it times the view of that build)
MAKE_GOALS=("$BUILD/bench/loadgen" "$BUILD/bench/bench_sgui")
[ -n "${OBSTUI_BIN:-}" ] || MAKE_GOALS+=(all)
make --no-print-directory B="$BUILD" "${MAKE_GOALS[@]}" >&2
cp "$BUILD/bench/loadgen" "$BUILD/bench/bench_sgui" "$LOGS/bin/"
cp "$BIN" "$LOGS/bin/obstui"   # a rebuild during the run changes nothing under test
if [ -z "${BENCH_LABEL:-}" ]; then
	BENCH_LABEL=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
	git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || BENCH_LABEL="$BENCH_LABEL + uncommitted changes"
fi
BIN=$LOGS/bin/obstui
LOADGEN=$LOGS/bin/loadgen

# --- servers ------------------------------------------------------------------------
# Each server has a tag; these arrays hold its pid, store, ports and sampler.
declare -A PID_OF STORE_OF OTLP_OF API_OF
cleanup() {
	local t
	for t in "${!PID_OF[@]}"; do
		if kill -0 "${PID_OF[$t]}" 2>/dev/null; then
			kill -TERM "${PID_OF[$t]}" 2>/dev/null || true
			wait "${PID_OF[$t]}" 2>/dev/null || true
		fi
	done
	for t in "${!STORE_OF[@]}"; do
		[ "${BENCH_KEEP_STORE:-0}" = 1 ] || rm -rf "${STORE_OF[$t]}"
	done
}
trap cleanup EXIT

TICKS=$(getconf CLK_TCK)
cpu_ticks() { # utime + stime of pid $1
	local s
	s=$(cat "/proc/$1/stat")
	s=${s##*) }
	# shellcheck disable=SC2086
	set -- $s
	echo $(( ${12} + ${13} ))
}
thread_ticks() { # utime + stime of the threads of pid $1 named $2
	local f s n=0
	for f in /proc/"$1"/task/*; do
		[ "$(cat "$f/comm" 2>/dev/null)" = "$2" ] || continue
		s=$(cat "$f/stat")
		s=${s##*) }
		# shellcheck disable=SC2086
		set -- $s
		n=$((n + ${12} + ${13}))
	done
	echo "$n"
}
metric_of() { # TAG NAME: the value of an unlabelled metric on the server's /metrics
	curl -s --max-time 10 "http://127.0.0.1:${API_OF[$1]}/metrics" |
		awk -v n="$2" '$1 == n { printf "%d", $2; f = 1 } END { if (!f) print 0 }'
}
machine_ticks() { awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat; }
fdiv() { awk -v a="$1" -v b="$2" -v f="${3:-%.1f}" 'BEGIN { if (b == 0 || a == "" || b == "" || a == "n/a" || b == "n/a") print "n/a"; else printf f, a / b }'; }
now_ns() { date +%s%N; }
secs_since() { awk -v a="$1" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }'; }
machine_busy_now() {
	local b0 t0 b1 t1
	read -r b0 t0 < <(machine_ticks)
	sleep 2
	read -r b1 t1 < <(machine_ticks)
	fdiv $((100 * (b1 - b0))) $((t1 - t0)) %.0f
}

# serve_start TAG [ENV=VALUE...]: obstui serve on a fresh store
serve_start() {
	local tag=$1 store pid
	shift
	store=$(mktemp -d "${TMPDIR:-/tmp}/obstui-sgbench-$tag.XXXXXX")
	STORE_OF[$tag]=$store
	env "$@" "$BIN" serve --store "$store" --api 127.0.0.1:0 --otlp-http 127.0.0.1:0 \
		--otlp-grpc off --zipkin off --seal-idle "$SEAL_IDLE" \
		>"$LOGS/serve-$tag.stdout" 2>"$LOGS/serve-$tag.log" &
	pid=$!
	PID_OF[$tag]=$pid
	for _ in $(seq 300); do
		grep -q '^ready' "$LOGS/serve-$tag.stdout" 2>/dev/null && break
		kill -0 "$pid" 2>/dev/null || die "obstui ($tag) exited at start: $(tail -3 "$LOGS/serve-$tag.log")"
		sleep 0.1
	done
	grep -q '^ready' "$LOGS/serve-$tag.stdout" || die "obstui ($tag) did not say ready"
	OTLP_OF[$tag]=$(sed -n 's/^listening otlp-http .*:\([0-9]*\)$/\1/p' "$LOGS/serve-$tag.stdout")
	API_OF[$tag]=$(sed -n 's/^listening api .*:\([0-9]*\)$/\1/p' "$LOGS/serve-$tag.stdout")
	log "obstui ($tag${*:+, $*}) pid $pid, otlp-http :${OTLP_OF[$tag]}, api :${API_OF[$tag]}, store $store"
}

serve_stop() { # TAG [keep]: SIGTERM (seals the rest), then drop the store unless keep
	local tag=$1 rc=0
	kill -TERM "${PID_OF[$tag]}"
	wait "${PID_OF[$tag]}" || rc=$?
	[ "$rc" = 0 ] || log "warning: obstui ($tag) exited with $rc: $(tail -3 "$LOGS/serve-$tag.log")"
	unset "PID_OF[$tag]"
	[ "${2:-}" != keep ] || return 0
	if [ "${BENCH_KEEP_STORE:-0}" = 1 ]; then log "store kept: ${STORE_OF[$tag]}"; else rm -rf "${STORE_OF[$tag]}"; fi
	unset "STORE_OF[$tag]"
}

metric() { # TAG NAME: a sample of obstui's own /metrics
	curl -s --max-time 10 "http://127.0.0.1:${API_OF[$1]}/metrics" | awk -v n="$2" '$1 == n { print $2 }'
}

# wait_sealed TAG: until the head is empty and nothing is queued (bounded);
# returns 1 when it did not happen in SEAL_SECONDS
wait_sealed() {
	local tag=$1 deadline m
	deadline=$(( $(date +%s) + SEAL_SECONDS ))
	while [ "$(date +%s)" -lt "$deadline" ]; do
		kill -0 "${PID_OF[$tag]}" 2>/dev/null || die "obstui ($tag) died: $(tail -3 "$LOGS/serve-$tag.log")"
		m=$(curl -s --max-time 10 "http://127.0.0.1:${API_OF[$tag]}/metrics" |
			awk '$1 == "obstui_store_head_bytes" || $1 == "obstui_store_queue_depth" { s += $2; n++ }
			     END { print (n == 2 ? s : -1) }')
		[ "$m" = 0 ] && return 0
		sleep 0.2
	done
	return 1
}

# --- cost: ingest with and without the rollups ----------------------------------------
declare -A SEQ_NEXT ACC
cost_turn() { # TAG ROUND
	local tag=$1 round=$2 pid c0 c1 t0 load_s drain_s spans mb0 mt0 mb1 mt1
	pid=${PID_OF[$tag]}
	read -r mb0 mt0 < <(machine_ticks)
	c0=$(cpu_ticks "$pid")
	t0=$(now_ns)
	"$LOADGEN" --port "${OTLP_OF[$tag]}" --conns "$CONNS" --seconds "$ROUND_SECONDS" \
		--seed "$SEED" --seq-start "${SEQ_NEXT[$tag]}" \
		>"$LOGS/cost-$tag-$round.txt" 2>"$LOGS/cost-$tag-$round.log" ||
		die "loadgen ($tag, round $round) failed: $(tail -3 "$LOGS/cost-$tag-$round.log")"
	load_s=$(kv seconds "$LOGS/cost-$tag-$round.txt")
	local t1
	t1=$(now_ns)
	wait_sealed "$tag" || die "obstui ($tag) did not seal its head within $SEAL_SECONDS s"
	drain_s=$(awk -v a="$t1" -v b="$(now_ns)" 'BEGIN { printf "%.2f", (b - a) / 1e9 }')
	c1=$(cpu_ticks "$pid")
	read -r mb1 mt1 < <(machine_ticks)
	spans=$(kv spans_ok "$LOGS/cost-$tag-$round.txt")
	SEQ_NEXT[$tag]=$(kv seq_end "$LOGS/cost-$tag-$round.txt")
	ACC[$tag.spans]=$(( ${ACC[$tag.spans]:-0} + spans ))
	ACC[$tag.ticks]=$(( ${ACC[$tag.ticks]:-0} + c1 - c0 ))
	ACC[$tag.load]=$(awk -v a="${ACC[$tag.load]:-0}" -v b="$load_s" 'BEGIN { print a + b }')
	ACC[$tag.drain]=$(awk -v a="${ACC[$tag.drain]:-0}" -v b="$drain_s" 'BEGIN { print a + b }')
	ACC[$tag.busy]=$(( ${ACC[$tag.busy]:-0} + mb1 - mb0 ))
	ACC[$tag.total]=$(( ${ACC[$tag.total]:-0} + mt1 - mt0 ))
	ACC[$tag.other]=$(( ${ACC[$tag.other]:-0} + (mb1 - mb0) - (c1 - c0) ))
	ACC[$tag.failed]=$(( ${ACC[$tag.failed]:-0} + $(kv failed_requests "$LOGS/cost-$tag-$round.txt") ))
	ACC[$tag.busyans]=$(( ${ACC[$tag.busyans]:-0} + $(kv busy_answers "$LOGS/cost-$tag-$round.txt") ))
	ACC[$tag.rounds]="${ACC[$tag.rounds]:+${ACC[$tag.rounds]}, }$(kv spans_per_sec "$LOGS/cost-$tag-$round.txt")"
	ACC[$tag.e2e_rounds]="${ACC[$tag.e2e_rounds]:+${ACC[$tag.e2e_rounds]}, }$(fdiv "$spans" "$(awk -v a="$load_s" -v b="$drain_s" 'BEGIN { print a + b }')" %.0f)"
	ACC[$tag.drains]="${ACC[$tag.drains]:+${ACC[$tag.drains]}, }$drain_s"
	log "cost: $tag round $round: $spans spans, load ${load_s} s + drain ${drain_s} s," \
		"obstui CPU $(fdiv $((c1 - c0)) "$TICKS" %.1f) s"
}

cost_phase() {
	local r
	put cost_idle_busy_pct "$(machine_busy_now)"
	serve_start with
	serve_start without "$OFF_ENV"
	SEQ_NEXT[with]=0
	SEQ_NEXT[without]=0
	for r in $(seq "$ROUNDS"); do
		if [ $((r % 2)) = 1 ]; then
			cost_turn with "$r"
			cost_turn without "$r"
		else
			cost_turn without "$r"
			cost_turn with "$r"
		fi
	done
	local t now
	now=$(date +%s)
	for t in with without; do
		put "cost_${t}_spans" "${ACC[$t.spans]}"
		put "cost_${t}_load_seconds" "${ACC[$t.load]}"
		put "cost_${t}_drain_seconds" "${ACC[$t.drain]}"
		put "cost_${t}_cpu_seconds" "$(fdiv "${ACC[$t.ticks]}" "$TICKS" %.2f)"
		put "cost_${t}_load_spans_per_sec" "$(fdiv "${ACC[$t.spans]}" "${ACC[$t.load]}" %.0f)"
		put "cost_${t}_spans_per_sec" "$(fdiv "${ACC[$t.spans]}" "$(awk -v a="${ACC[$t.load]}" -v b="${ACC[$t.drain]}" 'BEGIN { print a + b }')" %.0f)"
		put "cost_${t}_cpu_per_mspans" "$(awk -v c="${ACC[$t.ticks]}" -v t="$TICKS" -v n="${ACC[$t.spans]}" 'BEGIN { if (n > 0) printf "%.2f", c / t / (n / 1e6); else print "n/a" }')"
		put "cost_${t}_machine_busy_pct" "$(fdiv $((100 * ACC[$t.busy])) "${ACC[$t.total]}" %.0f)"
		put "cost_${t}_other_cpu_seconds" "$(fdiv "${ACC[$t.other]}" "$TICKS" %.1f)"
		put "cost_${t}_failed_requests" "${ACC[$t.failed]}"
		put "cost_${t}_busy_answers" "${ACC[$t.busyans]}"
		put "cost_${t}_rounds_load_spans_per_sec" "${ACC[$t.rounds]}"
		put "cost_${t}_rounds_spans_per_sec" "${ACC[$t.e2e_rounds]}"
		put "cost_${t}_rounds_drain_seconds" "${ACC[$t.drains]}"
		# the rollups are there, or not: the last hour's service graph
		curl -s --max-time 60 "http://127.0.0.1:${API_OF[$t]}/api/service-graph?start=$((now - 3600))&end=$now" \
			>"$LOGS/cost-$t-graph.json" || true
		put "cost_${t}_graph_edges" "$(grep -o '"client"' "$LOGS/cost-$t-graph.json" | wc -l)"
	done
	put cost_throughput_ratio "$(fdiv "$(kv cost_with_spans_per_sec "$R")" "$(kv cost_without_spans_per_sec "$R")" %.3f)"
	put cost_load_ratio "$(fdiv "$(kv cost_with_load_spans_per_sec "$R")" "$(kv cost_without_load_spans_per_sec "$R")" %.3f)"
	# spans per CPU-second, with / without (the inverse of the CPU per span ratio)
	put cost_cpu_ratio "$(fdiv "$(kv cost_without_cpu_per_mspans "$R")" "$(kv cost_with_cpu_per_mspans "$R")" %.3f)"
	# the comparison means something only if the switch worked
	if [ "$SWITCH" = compaction ]; then
		for t in with without; do
			put "cost_${t}_compacted" "$(metric_of "$t" obstui_store_compacted_blocks_total)"
			put "cost_${t}_blocks" "$(metric_of "$t" obstui_store_blocks)"
		done
		put cost_compactor_cpu_seconds "$(fdiv "$(thread_ticks "${PID_OF[with]}" obstui-compact)" "$TICKS" %.2f)"
		put cost_compactor_share_pct "$(fdiv $((100 * $(thread_ticks "${PID_OF[with]}" obstui-compact))) "$(cpu_ticks "${PID_OF[with]}")" %.1f)"
		if [ "$(kv cost_with_compacted "$R")" -gt 0 ] && [ "$(kv cost_without_compacted "$R")" = 0 ]; then
			put cost_check ok
		else
			put cost_check "WRONG: the server with compaction merged $(kv cost_with_compacted "$R") blocks, the one without $(kv cost_without_compacted "$R")"
		fi
	elif [ "$(kv cost_with_graph_edges "$R")" -gt 0 ] && [ "$(kv cost_without_graph_edges "$R")" = 0 ]; then
		put cost_check ok
	else
		put cost_check "WRONG: the server with rollups has $(kv cost_with_graph_edges "$R") edges, the one without $(kv cost_without_graph_edges "$R")"
	fi
	serve_stop with
	serve_stop without
}

# --- fill and query ---------------------------------------------------------------------
fill_phase() {
	local t0 t1 c0 c1 pid
	put fill_idle_busy_pct "$(machine_busy_now)"
	serve_start fill
	pid=${PID_OF[fill]}
	log "fill: $SPANS spans over $SPREAD s of span times, $ORDER (at most $FILL_SECONDS s)"
	c0=$(cpu_ticks "$pid")
	t0=$(now_ns)
	"$LOADGEN" --port "${OTLP_OF[fill]}" --conns "$CONNS" --seconds "$FILL_SECONDS" \
		--spans "$SPANS" "${SPREAD_ARGS[@]}" --seed "$SEED" --seq-start 0 --report-every 10 \
		>"$LOGS/fill.txt" 2>"$LOGS/fill.log" || die "loadgen (fill) failed: $(tail -3 "$LOGS/fill.log")"
	log "fill: $(kv spans_ok "$LOGS/fill.txt") spans at $(kv spans_per_sec "$LOGS/fill.txt") spans/s; waiting for the seal"
	t1=$(now_ns)
	wait_sealed fill || die "the fill was not sealed within $SEAL_SECONDS s"
	put fill_seal_seconds "$(secs_since "$t1")"
	c1=$(cpu_ticks "$pid")
	put fill_spans "$(kv spans_ok "$LOGS/fill.txt")"
	put fill_spans_per_sec "$(kv spans_per_sec "$LOGS/fill.txt")"
	put fill_seconds "$(kv seconds "$LOGS/fill.txt")"
	put fill_busy_answers "$(kv busy_answers "$LOGS/fill.txt")"
	put fill_failed_requests "$(kv failed_requests "$LOGS/fill.txt")"
	put fill_cpu_per_mspans "$(awk -v c=$((c1 - c0)) -v t="$TICKS" -v n="$(kv spans_ok "$LOGS/fill.txt")" 'BEGIN { if (n > 0) printf "%.2f", c / t / (n / 1e6); else print "n/a" }')"
	log "fill: sealed after $(kv fill_seal_seconds "$R") s; $RECENT recent spans"
	"$LOADGEN" --port "${OTLP_OF[fill]}" --conns 4 --seconds 120 --spans "$RECENT" \
		--seed "$SEED" --seq-start "$(kv seq_end "$LOGS/fill.txt")" \
		>"$LOGS/recent.txt" 2>"$LOGS/recent.log" || die "loadgen (recent) failed"
	wait_sealed fill || die "the recent spans were not sealed within $SEAL_SECONDS s"
	put store_spans "$(metric fill obstui_store_spans)"
	put store_blocks "$(metric fill obstui_store_blocks)"
	put store_block_bytes "$(metric fill obstui_store_block_bytes)"
	put store_database_bytes "$(metric fill obstui_store_database_bytes)"
	put store_rollup_rows "$(sqlite3 -readonly "${STORE_OF[fill]}/obstui.db" 'SELECT count(*) FROM sg_roll' 2>/dev/null || echo n/a)"
}

query_phase() {
	local traces pairs dbs rc=0
	traces=$(( $(kv traces_sent "$LOGS/fill.txt") + $(kv traces_sent "$LOGS/recent.txt") ))
	pairs=$(( $(kv rpc_pairs_sent "$LOGS/fill.txt") + $(kv rpc_pairs_sent "$LOGS/recent.txt") ))
	dbs=$(( $(kv db_calls_sent "$LOGS/fill.txt") + $(kv db_calls_sent "$LOGS/recent.txt") ))
	put sent_traces "$traces"
	put sent_rpc_pairs "$pairs"
	put sent_db_calls "$dbs"
	put query_idle_busy_pct "$(machine_busy_now)"
	log "query: $REPS repetitions of each query ($METRICS_REPS of TraceQL metrics)"
	node bench/svcgraph_queries.mjs --port "${API_OF[fill]}" --out "$LOGS/queries.txt" \
		--reps "$REPS" --metrics-reps "$METRICS_REPS" --traces "$traces" --rpc-pairs "$pairs" \
		--db-calls "$dbs" --spread "$SPREAD" --recent-traces "$(kv traces_sent "$LOGS/recent.txt")" \
		2>"$LOGS/queries.log" || rc=$?
	cat "$LOGS/queries.txt" >>"$R" 2>/dev/null || true
	[ "$rc" = 0 ] || log "query: $(kv checks_failed "$LOGS/queries.txt") answers were wrong (see $LOGS/queries.log)"
	put vmhwm_kb "$(awk '$1 == "VmHWM:" { print $2 }' "/proc/${PID_OF[fill]}/status")"
}

ui_phase() {
	# the Services view on the same store, opened in bench_sgui's process as
	# obstui opens it (so the server must have let go of it)
	local nb
	log "ui: the Services view's first frame, $REPS times (bench_sgui)"
	"$LOGS/bin/bench_sgui" --store "${STORE_OF[fill]}" --runs "$REPS" --size 200x50 \
		--timeout 600 >"$LOGS/ui.txt" 2>"$LOGS/ui.log" ||
		{ put ui_services_check "WRONG: bench_sgui failed: $(grep -v '^ *$' "$LOGS/ui.log" | tail -1)"; return 0; }
	sed 's/^/ui_/' "$LOGS/ui.txt" >>"$R"
	nb=$(kv services_not_built "$LOGS/ui.txt")
	if [ -n "$nb" ]; then
		put ui_services_check "not built: ${nb%%  *}"
	elif [ -z "$(kv services_first_p50_ms "$LOGS/ui.txt")" ]; then
		put ui_services_check "WRONG: no figures from bench_sgui"
	fi
}

if has_phase cost; then cost_phase; fi
if has_phase fill; then
	fill_phase
	query_phase
	serve_stop fill keep
	ui_phase
	if [ "${BENCH_KEEP_STORE:-0}" = 1 ]; then log "store kept: ${STORE_OF[fill]}"; else rm -rf "${STORE_OF[fill]}"; fi
	unset "STORE_OF[fill]"
fi

# --- report -----------------------------------------------------------------------------
# "met" or "missed (...)" for value $1 against target $2, $3 ge (at least) or le (at most)
verdict() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN {
	if (v == "n/a" || v == "") { print "?"; exit }
	ok = d == "ge" ? v >= t : v <= t
	if (ok) print "met"; else if (d == "ge") printf "missed (%.0f%% of target)", 100 * v / t
	else printf "missed (%.1fx target)", v / t }'; }
# a query's row: LABEL NAME TARGET_MS
qrow() {
	local c p50 max
	c=$(kv "$2_check" "$R")
	case $c in
	"not built"*) echo "| $1 | $c | | ${3:+< $3 ms} | not built |"; return ;;
	"") echo "| $1 | not measured | | ${3:+< $3 ms} | |"; return ;;
	esac
	p50=$(kv "$2_p50_ms" "$R")
	max=$(kv "$2_max_ms" "$R")
	if [ "$c" != ok ]; then
		echo "| $1 | ${p50:-n/a} / ${max:-n/a} ms | ${c//|/\\|} | ${3:+< $3 ms} | wrong answer |"
		return
	fi
	echo "| $1 | $p50 / $max ms | $4 | ${3:+< $3 ms} | ${3:+$(verdict "$p50" "$3" le)$(over "$max" "$3")} |"
}
over() { awk -v m="$1" -v t="$2" 'BEGIN { if (m != "" && m > t) printf " (max over)" }'; }
sum_p50() { # NAME... : the p50s added up (n/a if one is missing)
	local n s=0 v
	for n in "$@"; do
		v=$(kv "${n}_p50_ms" "$R")
		[ -n "$v" ] || { echo n/a; return; }
		s=$(awk -v a="$s" -v b="$v" 'BEGIN { print a + b }')
	done
	printf '%.1f\n' "$s"
}
sum_max() {
	local n s=0 v
	for n in "$@"; do
		v=$(kv "${n}_max_ms" "$R")
		[ -n "$v" ] || { echo n/a; return; }
		s=$(awk -v a="$s" -v b="$v" 'BEGIN { print a + b }')
	done
	printf '%.1f\n' "$s"
}
cpu_model=$(sed -n 's/^model name[[:space:]]*: //p' /proc/cpuinfo | head -1)
{
echo "## obstui span-analytics benchmark, $(date -u +%Y-%m-%d)"
echo
echo "Machine: $(nproc) cores ($cpu_model), Linux $(uname -r); load generator on the same cores."
echo "obstui $BENCH_LABEL, \`serve --seal-idle $SEAL_IDLE\`, OTLP/HTTP from bench/loadgen.c ($CONNS connections,"
echo "requests of 10 traces x 10 spans, 6 services)."
if has_phase cost; then
	echo
	if [ "$SWITCH" = compaction ]; then
	echo "### Compaction's cost: ingest with and without background compaction, same run"
	echo
	echo "Two servers on two fresh stores (one with \`OBSTUI_NO_COMPACT=1\`), loaded in turn: $ROUNDS rounds of"
	echo "$ROUND_SECONDS s each, the order alternating; each turn ends when the head is sealed, so *throughput*"
	echo "is spans / (load + drain) and CPU is obstui's over both. Machine $(kv cost_idle_busy_pct "$R")% busy before."
	echo
	echo "| figure | with compaction | without | with / without | target | |"
	echo "|---|---|---|---|---|---|"
	echo "| spans acknowledged | $(kv cost_with_spans "$R") | $(kv cost_without_spans "$R") | | | |"
	echo "| ingest throughput to sealed blocks, spans/s (per round) | $(kv cost_with_spans_per_sec "$R") ($(kv cost_with_rounds_spans_per_sec "$R")) | $(kv cost_without_spans_per_sec "$R") ($(kv cost_without_rounds_spans_per_sec "$R")) | $(kv cost_throughput_ratio "$R") | >= 0.90 | $(verdict "$(kv cost_throughput_ratio "$R")" 0.90 ge) |"
	echo "| spans/s acknowledged during the load (per round) | $(kv cost_with_load_spans_per_sec "$R") ($(kv cost_with_rounds_load_spans_per_sec "$R")) | $(kv cost_without_load_spans_per_sec "$R") ($(kv cost_without_rounds_load_spans_per_sec "$R")) | $(kv cost_load_ratio "$R") | | |"
	echo "| obstui CPU-s per million spans, load + drain | $(kv cost_with_cpu_per_mspans "$R") | $(kv cost_without_cpu_per_mspans "$R") | $(kv cost_cpu_ratio "$R") (spans per CPU-s) | | |"
	echo "| the trace compactor thread's CPU, share of obstui's | $(kv cost_compactor_cpu_seconds "$R") s, $(kv cost_compactor_share_pct "$R")% | | | <= 25% of a core | |"
	echo "| merged blocks written / blocks at the end | $(kv cost_with_compacted "$R") / $(kv cost_with_blocks "$R") | $(kv cost_without_compacted "$R") / $(kv cost_without_blocks "$R") | | > 0 / 0 merged | $(kv cost_check "$R") |"
	echo "| busy answers (503, retried) / failed requests | $(kv cost_with_busy_answers "$R") / $(kv cost_with_failed_requests "$R") | $(kv cost_without_busy_answers "$R") / $(kv cost_without_failed_requests "$R") | | | |"
	echo "| machine busy during the turns; CPU-s of other processes (loadgen included) | $(kv cost_with_machine_busy_pct "$R")%; $(kv cost_with_other_cpu_seconds "$R") | $(kv cost_without_machine_busy_pct "$R")%; $(kv cost_without_other_cpu_seconds "$R") | | | |"
	else
	echo "### Rollup upkeep: ingest with and without the rollups, same run"
	echo
	echo "Two servers on two fresh stores (one with \`OBSTUI_NO_ROLLUPS=1\`), loaded in turn: $ROUNDS rounds of"
	echo "$ROUND_SECONDS s each, the order alternating; each turn ends when the head is sealed (the rollups are"
	echo "made at sealing), so *throughput* is spans / (load + drain) and CPU is obstui's over both."
	echo "Machine $(kv cost_idle_busy_pct "$R")% busy before."
	echo
	echo "| figure | with rollups | without | with / without | target | |"
	echo "|---|---|---|---|---|---|"
	echo "| spans acknowledged | $(kv cost_with_spans "$R") | $(kv cost_without_spans "$R") | | | |"
	echo "| ingest throughput to sealed blocks, spans/s (per round) | $(kv cost_with_spans_per_sec "$R") ($(kv cost_with_rounds_spans_per_sec "$R")) | $(kv cost_without_spans_per_sec "$R") ($(kv cost_without_rounds_spans_per_sec "$R")) | $(kv cost_throughput_ratio "$R") | >= 0.90 | $(verdict "$(kv cost_throughput_ratio "$R")" 0.90 ge) |"
	echo "| spans/s acknowledged during the load (per round) | $(kv cost_with_load_spans_per_sec "$R") ($(kv cost_with_rounds_load_spans_per_sec "$R")) | $(kv cost_without_load_spans_per_sec "$R") ($(kv cost_without_rounds_load_spans_per_sec "$R")) | $(kv cost_load_ratio "$R") | | |"
	echo "| obstui CPU-s per million spans, load + drain | $(kv cost_with_cpu_per_mspans "$R") | $(kv cost_without_cpu_per_mspans "$R") | $(kv cost_cpu_ratio "$R") (spans per CPU-s) | >= 0.90 | $(verdict "$(kv cost_cpu_ratio "$R")" 0.90 ge) |"
	echo "| drain after each turn, s | $(kv cost_with_rounds_drain_seconds "$R") | $(kv cost_without_rounds_drain_seconds "$R") | | | |"
	echo "| busy answers (503, retried) / failed requests | $(kv cost_with_busy_answers "$R") / $(kv cost_with_failed_requests "$R") | $(kv cost_without_busy_answers "$R") / $(kv cost_without_failed_requests "$R") | | | |"
	echo "| machine busy during the turns; CPU-s of other processes (loadgen included) | $(kv cost_with_machine_busy_pct "$R")%; $(kv cost_with_other_cpu_seconds "$R") | $(kv cost_without_machine_busy_pct "$R")%; $(kv cost_without_other_cpu_seconds "$R") | | | |"
	echo "| service-graph edges in the last hour (rollups on / off) | $(kv cost_with_graph_edges "$R") | $(kv cost_without_graph_edges "$R") | | > 0 / 0 | $(kv cost_check "$R") |"
	fi
fi
if has_phase fill; then
	echo
	echo "### Queries over $(kv store_spans "$R") spans spread over $(awk -v s="$SPREAD" 'BEGIN { printf "%g", s / 86400 }') days"
	echo
	if [ "$ORDER" = ordered ]; then
		echo "Spans sent in time order, oldest first (\`--spread-ordered\`): the blocks are sealed in time order, as a"
		echo "week of live ingest leaves them."
	else
		echo "Each trace anywhere in the week (\`BENCH_SG_ORDER=random\`): every sealed block covers the whole week."
	fi
	echo "Filled by loadgen ${SPREAD_ARGS[*]} at $(kv fill_spans_per_sec "$R") spans/s ($(kv fill_seconds "$R") s, $(kv fill_busy_answers "$R") busy answers retried), sealed"
	echo "$(kv fill_seal_seconds "$R") s after the load; then $RECENT spans of the last seconds. $(kv store_blocks "$R") blocks,"
	echo "$(fdiv "$(kv store_database_bytes "$R")" 1048576 %.0f) MB of SQLite ($(kv store_rollup_rows "$R") rollup rows). Each query: one keep-alive connection,"
	echo "a warm-up, then $REPS times (TraceQL metrics $METRICS_REPS), time = now; p50 / max. Every answer is checked"
	echo "against what was sent (bench/svcgraph_queries.mjs). Machine $(kv query_idle_busy_pct "$R")% busy before."
	echo
	echo "| query | p50 / max | answer | target | |"
	echo "|---|---|---|---|---|"
	qrow "\`GET /api/service-graph\`, last 1 h" sg_1h 50 "$(kv sg_1h_edges "$R") edges, user -> frontend $(kv sg_1h_user_edge "$R")"
	qrow "\`GET /api/service-graph\`, last 7 d" sg_7d 50 "$(kv sg_7d_edges "$R") edges, user -> frontend $(kv sg_7d_user_edge "$R") of $(kv sent_traces "$R") traces"
	for w in 1h 7d; do
		for m in total:traces_service_graph_request_total failed:traces_service_graph_request_failed_total \
			ssum:traces_service_graph_request_server_seconds_sum bucket:traces_service_graph_request_server_seconds_bucket; do
			s=${m%%:*} n=${m#*:}
			qrow "Grafana, \$__range=$w: \`sum by (client, server) (rate(${n}[$w]))\`" "gm_${w}_${s}_sum" 50 "$(kv "gm_${w}_${s}_sum_series" "$R") series"
			qrow "Grafana: \`group by (client, connection_type, server) ($n)\`" "gm_${w}_${s}_grp" 50 "$(kv "gm_${w}_${s}_grp_series" "$R") series"
		done
		names=()
		for s in total failed ssum bucket; do names+=("gm_${w}_${s}_sum" "gm_${w}_${s}_grp"); done
		tp=$(sum_p50 "${names[@]}")
		tm=$(sum_max "${names[@]}")
		echo "| Grafana's service map, \$__range=$w: the 8 queries one after the other | $tp / $tm ms (sum of p50s / of maxima) | | | |"
		qrow "service table, \$__range=$w: \`topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind=\"SPAN_KIND_SERVER\"}[$w])) by (span_name))\`" "tab_${w}_topk" "" "top: $(kv "tab_${w}_top_name" "$R")"
		qrow "service table, \$__range=$w: \`histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_name=~\"...\"}[$w])) by (le))\`" "tab_${w}_p90" "" "p90 $(kv "tab_${w}_p90_seconds" "$R") s"
	done
	qrow "TraceQL metrics \`{ } \| rate() by (resource.service.name)\`, last 1 h, step 60 s" tqlm_1h 1000 "$(kv tqlm_1h_series "$R") series, $(kv tqlm_1h_spans "$R") spans"
	c=$(kv ui_services_check "$R")
	tl=$(kv ui_services_title "$R" | sed 's/^ *obstui Services *//; s/  *? help *$//; s/   */, /g')
	if [ -n "$c" ]; then
		echo "| the Services view's first frame (\`:services\`), 200x50 | $c | | < 100 ms | ${c%%:*} |"
	else
		f=$(kv ui_services_first_p50_ms "$R")
		m=$(kv ui_services_first_max_ms "$R")
		echo "| the Services view's first frame: Tab read to the frame with the graph written, 200x50 | $f / $m ms | ${tl//|/\\|} | < 100 ms | $(verdict "$f" 100 le)$(over "$m" 100) |"
	fi
	echo
	echo "A row's verdict is on its median (\"max over\" when the worst repetition is over the target too)."
	echo "Grafana sends the 8 service-map queries at once; the total is their serial cost. The \`group by\`"
	echo "queries do not depend on \$__range (the same query, asked again for each window)."
fi
echo
echo "<details><summary>raw figures</summary>"
echo
echo '```'
cat "$R"
echo '```'
echo "</details>"
} | tee "$OUT/results-svcgraph.md"

if [ -n "$(kv checks_failed "$R")" ] && [ "$(kv checks_failed "$R")" != 0 ]; then
	die "$(kv checks_failed "$R") answers were wrong (see above and $LOGS/queries.log)"
fi
case $(kv cost_check "$R") in WRONG*) die "cost: $(kv cost_check "$R")" ;; esac
case $(kv ui_services_check "$R") in WRONG*) die "ui: $(kv ui_services_check "$R")" ;; esac
exit 0
