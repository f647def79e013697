#!/usr/bin/env bash
# bench/metview_bench.sh - the Metrics view and metric-sync benchmark
# (issue 13; see bench/README.md, "Metrics view and metric block sync").
#
#   ui       bench/bench_metui.c: a chart of 50 series x 5,760 points (24 h
#            at 15 s) drawn into 200x50 (target < 16 ms a frame); a store of
#            BENCH_MV_SERIES series written straight into the metric store
#            (4 h every 5 min: 2 h sealed into blocks, 2 h in the head), the
#            view's read of it (ui_source_metrics) and the listing it
#            replaced, then the real UI on a pseudo-terminal: `:metrics`
#            Enter to the first frame with the list and its counts, over all
#            time and over the last hour (target < 100 ms).
#   sync     bench/metsync_bench.mjs: metric block pull end to end (`obstui
#            pull`: list, GET, SHA-256 checks, write, open, adopt) against
#            the Azure SDK downloading the same blobs from the same Azurite;
#            target: SDK time / obstui time >= 1.0.
#
# Prints a markdown table and writes it, with the raw figures, to
# bench/out/results-metview.md; logs stay in bench/out/metview/.  Exits 1
# when a phase failed (a missed target is reported, not a failure).
#
# Knobs (environment):
#   BENCH_MV_PHASES="ui sync"   which phases
#   BENCH_MV_SERIES=100000      series in the view's store (over BENCH_MV_NAMES names)
#   BENCH_MV_NAMES=2000
#   BENCH_MV_RUNS=20            first frames timed per window (and reads of the store)
#   BENCH_MV_FRAMES=200         chart frames timed (each of plain and stacked)
#   BENCH_MV_SYNC_REPS=5        timed rounds of pull and SDK download (after a warm-up)
#   BENCH_OUT=bench/out, BENCH_BUILD=build, OBSTUI_BIN, BENCH_LABEL   as in bench/run.sh
set -euo pipefail

cd "$(dirname "$0")/.."
ROOT=$PWD
OUT=${BENCH_OUT:-bench/out}
PHASES=${BENCH_MV_PHASES:-ui sync}
SERIES=${BENCH_MV_SERIES:-100000}
NAMES=${BENCH_MV_NAMES:-2000}
RUNS=${BENCH_MV_RUNS:-20}
FRAMES=${BENCH_MV_FRAMES:-200}
SYNC_REPS=${BENCH_MV_SYNC_REPS:-5}
BUILD=${BENCH_BUILD:-build}
if [ "$BUILD" = build ]; then BUILD_BIN=$ROOT/obstui; else BUILD_BIN=$ROOT/$BUILD/obstui; fi
BIN=${OBSTUI_BIN:-$BUILD_BIN}

log() { printf 'metview_bench: %s\n' "$*" >&2; }
die() { printf 'metview_bench: %s\n' "$*" >&2; exit 1; }
has_phase() { case " $PHASES " in *" $1 "*) return 0 ;; esac; return 1; }
for p in $PHASES; do
	case $p in ui | sync) ;; *) die "BENCH_MV_PHASES: '$p' is neither ui nor sync" ;; esac
done

mkdir -p "$OUT/metview/bin"
OUT=$(cd "$OUT" && pwd)
LOGS=$OUT/metview
rm -f "$LOGS"/*.txt "$LOGS"/*.log "$OUT/results-metview.md"
R=$LOGS/metview.txt          # every figure, key=value
: >"$R"
kv() { sed -n "s/^$1=//p" "$2" | tail -1; }
busy_pct() {    # the machine's busy share over one second, from /proc/stat
	local a b
	a=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
	sleep 1
	b=$(awk '/^cpu / { t = 0; for (i = 2; i <= NF; i++) t += $i; print t - $5 - $6, t }' /proc/stat)
	awk -v a="$a" -v b="$b" 'BEGIN { split(a, x, " "); split(b, y, " ");
		d = y[2] - x[2]; printf "%.0f", (d > 0 ? 100 * (y[1] - x[1]) / d : 0) }'
}
verdict() { awk -v v="$1" -v t="$2" -v d="$3" 'BEGIN {
	if (v == "n/a" || v == "") { print "?"; exit }
	ok = d == "ge" ? v >= t : v <= t
	if (ok) print "met"; else if (d == "ge") printf "missed (%.0f%% of target)", 100 * v / t
	else printf "missed (%.1fx target)", v / t }'; }
over() { awk -v v="$1" -v t="$2" 'BEGIN { if (v != "" && (v > t)) print ", max over" }'; }

# --- build ----------------------------------------------------------------------
MAKE_GOALS=("$BUILD/bench/bench_metui")
[ -n "${OBSTUI_BIN:-}" ] || MAKE_GOALS+=(all)
make --no-print-directory B="$BUILD" "${MAKE_GOALS[@]}" >&2
cp "$BUILD/bench/bench_metui" "$LOGS/bin/"
cp "$BIN" "$LOGS/bin/obstui"   # a rebuild during the run changes nothing under test
if [ -z "${BENCH_LABEL:-}" ]; then
	BENCH_LABEL=$(git -C "$ROOT" rev-parse --short HEAD 2>/dev/null || echo '?')
	git -C "$ROOT" diff --quiet HEAD -- src 2>/dev/null || BENCH_LABEL="$BENCH_LABEL + uncommitted changes"
fi
failed=

# --- ui -------------------------------------------------------------------------
if has_phase ui; then
	echo "ui_idle_busy_pct=$(busy_pct)" >>"$R"
	log "ui: chart frames, a store of $SERIES series, the view's first frame (bench_metui)"
	if "$LOGS/bin/bench_metui" --series "$SERIES" --names "$NAMES" --runs "$RUNS" \
		--frames "$FRAMES" >"$LOGS/metui.txt" 2>"$LOGS/metui.log"; then
		cat "$LOGS/metui.txt" >>"$R"
	else
		echo "ui_failed=$(tail -1 "$LOGS/metui.log")" >>"$R"
		failed="ui"
	fi
fi

# --- sync -----------------------------------------------------------------------
if has_phase sync; then
	nm=$ROOT/tests/node_modules
	if [ ! -f "$nm/azurite/package.json" ] || [ ! -d "$nm/@azure/storage-blob" ] ||
	   ! command -v node >/dev/null; then
		echo "sync_skipped=Azurite, the Azure SDK or node is missing (make deps-test installs them)" >>"$R"
	else
		echo "sync_idle_busy_pct=$(busy_pct)" >>"$R"
		log "sync: bench/metsync_bench.mjs, $SYNC_REPS rounds of pull and SDK download"
		rc=0
		node bench/metsync_bench.mjs --obstui "$LOGS/bin/obstui" --reps "$SYNC_REPS" \
			>"$LOGS/metsync.txt" 2>"$LOGS/metsync.log" || rc=$?
		# one line may hold two figures (sdk_ms=.. sdk_mbps=..)
		tr ' ' '\n' <"$LOGS/metsync.txt" | sed -n 's/^\([a-z_]*=\)/metsync_\1/p' >>"$R"
		# exit 1 is a ratio below 1.0 (reported below); anything else failed
		if [ "$rc" != 0 ] && [ -z "$(kv metsync_ratio "$R")" ]; then
			echo "sync_failed=$(grep -v '^    at ' "$LOGS/metsync.log" | tail -1)" >>"$R"
			failed="$failed sync"
		fi
	fi
fi

# --- report ---------------------------------------------------------------------
{
echo "## Metrics view and metric block sync ($BENCH_LABEL, $(date -u +%Y-%m-%d))"
echo
echo "$(nproc) CPUs; the machine was $(kv ui_idle_busy_pct "$R")% busy before the UI phase and"
echo "$(kv sync_idle_busy_pct "$R")% before the sync phase (a shared machine: figures vary from run to run)."
echo
echo "| figure | p50 / max | | target | |"
echo "|---|---|---|---|---|"
if has_phase ui; then
	if [ -n "$(kv ui_failed "$R")" ]; then
		echo "| the Metrics view's benchmark | failed: $(kv ui_failed "$R") | | | |"
	else
		for k in chart chart_stacked; do
			p=$(kv "metui_${k}_p50_ms" "$R") m=$(kv "metui_${k}_max_ms" "$R")
			[ "$k" = chart ] && l="a chart frame: $(kv metui_chart_shape "$R"), braille, legend, cursor" ||
				l="the same, stacked"
			echo "| $l | $p / $m ms | $(kv metui_chart_n "$R") frames; the drawing thread's CPU time p50 / max $(kv "metui_${k}_cpu_p50_ms" "$R") / $(kv "metui_${k}_cpu_max_ms" "$R") ms | < 16 ms | $(verdict "$p" 16 le)$(over "$m" 16) |"
		done
		echo "| the view's store | $(kv metui_store_series "$R") series, $(kv metui_store_names "$R") names | written in $(kv metui_store_write_s "$R") s; opened in $(kv metui_store_open_ms "$R") ms (WAL replay) | | |"
		echo "| its read: names and series counts, all time (head + blocks, counted once) | $(kv metui_count_all_p50_ms "$R") / $(kv metui_count_all_max_ms "$R") ms | $(kv metui_count_all_names "$R") names, $(kv metui_count_all_series "$R") series; CPU time p50 $(kv metui_count_all_cpu_p50_ms "$R") ms | | |"
		echo "| the same, last hour (the head) | $(kv metui_count_1h_p50_ms "$R") / $(kv metui_count_1h_max_ms "$R") ms | $(kv metui_count_1h_series "$R") series; CPU time p50 $(kv metui_count_1h_cpu_p50_ms "$R") ms | | |"
		echo "| for comparison: every series' labels listed (what the view counted before) | $(kv metui_list_all_ms "$R") ms (once) | $(kv metui_list_all_series "$R") series | | |"
		if [ -n "$(kv metui_not_built "$R")" ]; then
			echo "| the Metrics view's first frame | not built: $(kv metui_not_built "$R") | | < 100 ms | |"
		fi
		for w in all 1h; do
			p=$(kv "metui_first_${w}_p50_ms" "$R") m=$(kv "metui_first_${w}_max_ms" "$R")
			[ -n "$p" ] || continue
			[ "$w" = all ] && l="all time (the UI's default)" || l="\`:since 1h\`"
			echo "| the Metrics view's first frame, $(kv metui_size "$R"), $l: \`:metrics\` Enter read to the list with counts written | $p / $m ms | $(kv "metui_first_${w}_n" "$R") runs | < 100 ms | $(verdict "$p" 100 le)$(over "$m" 100) |"
		done
	fi
fi
if has_phase sync; then
	if [ -n "$(kv sync_skipped "$R")" ]; then
		echo "| metric block pull vs the Azure SDK | not measured: $(kv sync_skipped "$R") | | >= 1.0 | |"
	elif [ -n "$(kv sync_failed "$R")" ]; then
		echo "| metric block pull vs the Azure SDK | failed: $(kv sync_failed "$R") | | >= 1.0 | |"
	else
		r=$(kv metsync_ratio "$R")
		echo "| metric block pull end to end (\`obstui pull\`: $(kv metsync_blocks "$R") blocks, $(awk -v b="$(kv metsync_bytes "$R")" 'BEGIN { printf "%.0f", b / 1e6 }') MB), median of $SYNC_REPS | $(kv metsync_obstui_ms "$R") ms, $(kv metsync_obstui_mbps "$R") MB/s | Azure SDK downloading the same blobs: $(kv metsync_sdk_ms "$R") ms, $(kv metsync_sdk_mbps "$R") MB/s | SDK time / obstui time >= 1.0 | $r: $(verdict "$r" 1.0 ge) |"
	fi
fi
echo
echo "<details><summary>raw figures</summary>"
echo
echo '```'
cat "$R"
echo '```'
echo "</details>"
} | tee "$OUT/results-metview.md"

[ -z "$failed" ] || die "failed:$failed (see $LOGS)"
exit 0
