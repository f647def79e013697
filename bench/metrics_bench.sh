#!/usr/bin/env bash
# bench/metrics_bench.sh - the metrics benchmark: Prometheus remote write
# ingest and PromQL range queries, obstui side by side with Prometheus 2.42
# and VictoriaMetrics 1.79 (see bench/README.md, "Metrics").
#
#   bench/metrics_bench.sh [--series N] [--points P] [--duration S]
#                          [--conns C] [--peers prometheus,victoria,obstui]
#
# One peer at a time, each on a fresh temp dir on 127.0.0.1:
#   start    Prometheus --web.enable-remote-write-receiver (and the admin API
#            for its snapshot), victoria-metrics -httpListenAddr, or
#            obstui serve with port-0 listeners.
#   ingest   bench/rwgen sends the same stream to each (N series of a
#            Kubernetes-like cluster, P samples each at 15 s, timestamps in
#            the past hours, C connections, at most S seconds).  Figures:
#            samples/s acknowledged, CPU-seconds of the server per million
#            samples (utime+stime from /proc/PID/stat around the ingest).
#   query    a fixed set of range queries over 1 h and 24 h windows ending
#            at the data's end (rate, sum by, histogram_quantile, topk, a
#            selective rate), each asked BENCH_QUERY_REPS times; the median
#            latency.  An answer that is not 200 "success" is "err".
#   seal     Prometheus: a TSDB snapshot (head written as a block), its
#            size; VictoriaMetrics: /internal/force_flush, the data dir's
#            size; obstui: SIGTERM (it seals its heads), the store's size.
#            Bytes per acknowledged sample.  Peak RSS is VmHWM, read just
#            before the stop.
# Then a Markdown table with obstui/peer ratios, also written to
# bench/out/results-metrics.md.  Everything is bounded: each server start
# by 60 s, the ingest by --duration, each query by 120 s.
set -euo pipefail
cd "$(dirname "$0")/.."

SERIES=100000
POINTS=80
DURATION=150
CONNS=4
PEERS=prometheus,victoria,obstui
while [ $# -gt 0 ]; do
	case $1 in
	--series) SERIES=$2; shift 2 ;;
	--points) POINTS=$2; shift 2 ;;
	--duration) DURATION=$2; shift 2 ;;
	--conns) CONNS=$2; shift 2 ;;
	--peers) PEERS=$2; shift 2 ;;
	*) echo "usage: $0 [--series N] [--points P] [--duration S] [--conns C] [--peers LIST]" >&2; exit 2 ;;
	esac
done
B=${BENCH_BUILD:-build}
OUT=${BENCH_OUT:-bench/out}
REPS=${BENCH_QUERY_REPS:-3}
PROMETHEUS=${PROMETHEUS_BIN:-/usr/bin/prometheus}
VM=${VICTORIA_METRICS_BIN:-/usr/bin/victoria-metrics}
OBSTUI=${OBSTUI_BIN:-./obstui}
mkdir -p "$OUT" "$B/bench"
RWGEN=$B/bench/rwgen
if [ ! -x "$RWGEN" ] || [ bench/rwgen.c -nt "$RWGEN" ] || [ bench/bench.h -nt "$RWGEN" ]; then
	${CC:-cc} -std=c11 -D_GNU_SOURCE -O2 -g -Wall -Wextra -Werror -Wno-unused-parameter -Ibench \
		-o "$RWGEN" bench/rwgen.c -lsnappy -lpthread -lm
fi
TICK=$(getconf CLK_TCK)
WORK=$(mktemp -d /tmp/obstui-metrics-bench.XXXXXX)
PID=
cleanup() {
	if [ -n "$PID" ] && kill -0 "$PID" 2>/dev/null; then kill -KILL "$PID" 2>/dev/null || true; fi
	rm -rf "$WORK"
}
trap cleanup EXIT

NOW_MS=$(($(date +%s) * 1000))
START_MS=$(( (NOW_MS - POINTS * 15000 - 300000) / 60000 * 60000 ))
END_S=$(( (START_MS + (POINTS - 1) * 15000) / 1000 + 1 ))

free_port() { node -e 'const s=require("net").createServer().listen(0,"127.0.0.1",()=>{console.log(s.address().port);s.close()})'; }
stat_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $5 + $6 + $7 + $8 + $9, $5 + $6 }' /proc/stat; } # total idle
cpu_ticks() { awk '{ sub(/^.*\) /, ""); print $12 + $13 }' "/proc/$1/stat"; }
vmhwm_mib() { awk '/VmHWM/ { printf "%.0f", $2 / 1024 }' "/proc/$1/status"; }
wait_http() { # url seconds
	local i
	for i in $(seq 1 $(($2 * 10))); do
		curl -sf -o /dev/null --max-time 2 "$1" && return 0
		kill -0 "$PID" 2>/dev/null || return 1
		sleep 0.1
	done
	return 1
}

QUERIES=(
	'sum(rate(http_requests_total[5m]))'
	'sum by (namespace) (rate(http_requests_total{code=~"5.."}[5m]))'
	'histogram_quantile(0.99, sum by (le, namespace) (rate(http_request_duration_seconds_bucket[5m])))'
	'topk(10, sum by (pod) (container_memory_working_set_bytes))'
	'rate(container_cpu_usage_seconds_total{namespace="ns-7"}[5m])'
)
QNAMES=(rate-sum sum-by-ns hist-p99 topk-pods selective-rate)

# query_ms API_BASE EXPR WINDOW_S STEP_S -> median ms, or "err"
query_ms() {
	local base=$1 q=$2 win=$3 step=$4 i t code times=()
	for i in $(seq 1 "$REPS"); do
		t=$(curl -s -o "$WORK/q.json" -w '%{http_code} %{time_total}' --max-time 120 "$base/api/v1/query_range" \
			--data-urlencode "query=$q" --data-urlencode "start=$((END_S - win))" \
			--data-urlencode "end=$END_S" --data-urlencode "step=$step" || echo "000 0")
		code=${t%% *}
		if [ "$code" != 200 ] || ! grep -q '"status":"success"' "$WORK/q.json"; then echo err; return; fi
		times+=("$(awk -v s="${t#* }" 'BEGIN { printf "%.1f", s * 1000 }')")
	done
	printf '%s\n' "${times[@]}" | sort -n | awk '{ a[NR] = $1 } END { print a[int((NR + 1) / 2)] }'
}

declare -A R # R[peer.key] = value

stop_pid() { # the server of this phase, if it is still there
	if [ -n "$PID" ]; then kill -KILL "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; PID=; fi
}

run_peer() {
	local peer=$1 dir=$WORK/$1 port write api store_size stdout
	mkdir -p "$dir"
	echo "== $peer" >&2
	case $peer in
	prometheus) [ -x "$PROMETHEUS" ] || { R[$peer.note]="not installed ($PROMETHEUS)"; return; } ;;
	victoria) [ -x "$VM" ] || { R[$peer.note]="not installed ($VM)"; return; } ;;
	obstui) ;;
	*) echo "metrics_bench: unknown peer $peer (prometheus, victoria, obstui)" >&2; exit 2 ;;
	esac
	case $peer in
	prometheus)
		port=$(free_port)
		printf 'global:\n  scrape_interval: 15s\n' > "$dir/prometheus.yml"
		"$PROMETHEUS" --config.file="$dir/prometheus.yml" --storage.tsdb.path="$dir/data" \
			--storage.tsdb.retention.time=30d --web.listen-address="127.0.0.1:$port" \
			--web.enable-remote-write-receiver --web.enable-admin-api --log.level=warn \
			>"$dir/log" 2>&1 &
		PID=$!
		api=http://127.0.0.1:$port; write=$api/api/v1/write
		wait_http "$api/-/ready" 60 || { R[$peer.note]="did not start (see its log)"; stop_pid; return; }
		;;
	victoria)
		port=$(free_port)
		"$VM" -storageDataPath="$dir/data" -retentionPeriod=100y -httpListenAddr="127.0.0.1:$port" \
			-search.latencyOffset=0s -search.disableCache -loggerLevel=ERROR >"$dir/log" 2>&1 &
		PID=$!
		api=http://127.0.0.1:$port; write=$api/api/v1/write
		wait_http "$api/health" 60 || { R[$peer.note]="did not start (see its log)"; stop_pid; return; }
		;;
	obstui)
		if [ ! -x "$OBSTUI" ]; then R[$peer.note]="no binary at $OBSTUI"; return; fi
		stdout=$dir/stdout
		"$OBSTUI" serve --store "$dir/store" --otlp-http 127.0.0.1:0 --api 127.0.0.1:0 \
			--otlp-grpc off --zipkin off >"$stdout" 2>"$dir/log" &
		PID=$!
		for _ in $(seq 1 600); do grep -q '^ready' "$stdout" 2>/dev/null && break; sleep 0.1; done
		grep -q '^ready' "$stdout" || { R[$peer.note]="did not start (see its log)"; stop_pid; return; }
		write=http://$(sed -n 's/^listening otlp-http \([^ ]*\).*$/\1/p' "$stdout")/api/v1/write
		api=http://$(sed -n 's/^listening api \([^ ]*\).*$/\1/p' "$stdout")
		;;
	esac
	local c0 c1 m0 m1 secs
	c0=$(cpu_ticks "$PID")
	m0=$(stat_ticks)
	"$RWGEN" --url "$write" --series "$SERIES" --points "$POINTS" --start-ms "$START_MS" \
		--conns "$CONNS" --duration "$DURATION" >"$dir/rwgen.out" 2>"$dir/rwgen.err" || true
	c1=$(cpu_ticks "$PID")
	m1=$(stat_ticks)
	secs=$(sed -n 's/^seconds=//p' "$dir/rwgen.out")
	# cores busy with anything but the server during the ingest (rwgen included)
	R[$peer.others]=$(awk -v a="$m0" -v b="$m1" -v d=$((c1 - c0)) -v t="$TICK" -v s="${secs:-0}" 'BEGIN {
		split(a, x, " "); split(b, y, " ");
		if (s > 0) printf "%.2f", ((y[1] - x[1]) - (y[2] - x[2]) - d) / t / s; else print "n/a" }')
	local acked rate complete
	acked=$(sed -n 's/^samples_acked=//p' "$dir/rwgen.out"); acked=${acked:-0}
	rate=$(sed -n 's/^samples_per_s=//p' "$dir/rwgen.out")
	complete=$(sed -n 's/^complete=//p' "$dir/rwgen.out")
	R[$peer.acked]=$acked
	R[$peer.rate]=${rate:-0}
	R[$peer.complete]=$([ "${complete:-0}" = 1 ] && echo yes || echo no)
	R[$peer.cpu]=$(awk -v d=$((c1 - c0)) -v t="$TICK" -v n="$acked" 'BEGIN { if (n > 0) printf "%.2f", d / t / (n / 1e6); else print "n/a" }')
	if [ "$acked" = 0 ]; then
		R[$peer.note]="ingest failed: $(head -n 1 "$dir/rwgen.err" | head -c 200 | tr '|' ' ')"
		R[$peer.rate]=n/a
	fi
	local qi w win step
	for qi in "${!QUERIES[@]}"; do
		for w in 1h 24h; do
			if [ $w = 1h ]; then win=3600; step=15; else win=86400; step=60; fi
			R[$peer.q$qi.$w]=$(query_ms "$api" "${QUERIES[$qi]}" $win $step)
		done
	done
	R[$peer.rss]=$(vmhwm_mib "$PID")
	case $peer in
	prometheus)
		local snap
		snap=$(curl -s -X POST --max-time 300 "$api/api/v1/admin/tsdb/snapshot" | sed -n 's/.*"name":"\([^"]*\)".*/\1/p')
		store_size=$(du -sb "$dir/data/snapshots/$snap" 2>/dev/null | cut -f1)
		kill -TERM "$PID"
		;;
	victoria)
		curl -s --max-time 120 "$api/internal/force_flush" >/dev/null || true
		sleep 3
		store_size=$(du -sb "$dir/data" | cut -f1)
		kill -TERM "$PID"
		;;
	obstui)
		kill -TERM "$PID"
		;;
	esac
	for _ in $(seq 1 600); do kill -0 "$PID" 2>/dev/null || break; sleep 0.1; done
	kill -KILL "$PID" 2>/dev/null || true
	wait "$PID" 2>/dev/null || true
	PID=
	[ "$peer" = obstui ] && store_size=$(du -sb "$dir/store" | cut -f1)
	R[$peer.bps]=$(awk -v b="${store_size:-0}" -v n="$acked" 'BEGIN { if (n > 0 && b > 0) printf "%.2f", b / n; else print "n/a" }')
	rm -rf "$dir/data" "$dir/store"
}

IFS=, read -r -a PEER_LIST <<<"$PEERS"
for p in "${PEER_LIST[@]}"; do run_peer "$p"; done

# --- the table ---------------------------------------------------------------------------
ratio() { # obstui-value peer-value; no ratio when obstui's ingest failed
	[ -z "${R[obstui.note]:-}" ] || { echo -; return; }
	awk -v a="$1" -v b="$2" 'BEGIN { if (a ~ /^[0-9.]+$/ && b ~ /^[0-9.]+$/ && b > 0) printf "%.2f", a / b; else print "-" }'
}
has() { case ",$PEERS," in *",$1,"*) return 0 ;; esac; return 1; }
{
	echo "## Metrics: remote write ingest and PromQL range queries"
	echo
	echo "$(date -u '+%Y-%m-%d %H:%M UTC'), $(nproc) cores; ${SERIES} series requested, ${POINTS} samples each at 15 s" \
		"($(awk -v p="$POINTS" 'BEGIN { printf "%.1f", p * 15 / 3600 }') h of data), $CONNS connections, ingest bounded by ${DURATION} s;" \
		"queries end at the data's end, median of $REPS, 1 h at step 15 s, 24 h at step 60 s."
	echo
	hdr="| figure |"; sep="|---|"
	for p in "${PEER_LIST[@]}"; do hdr="$hdr $p |"; sep="$sep---:|"; done
	for p in prometheus victoria; do if has obstui && has $p; then hdr="$hdr obstui/$p |"; sep="$sep---:|"; fi; done
	echo "$hdr"; echo "$sep"
	row() { # label key
		local line="| $1 |" p
		for p in "${PEER_LIST[@]}"; do line="$line ${R[$p.$2]:-n/a} |"; done
		for p in prometheus victoria; do if has obstui && has $p; then line="$line $(ratio "${R[obstui.$2]:-}" "${R[$p.$2]:-}") |"; fi; done
		echo "$line"
	}
	row "samples acknowledged" acked
	row "every sample acknowledged" complete
	row "samples/s acknowledged" rate
	row "CPU-s per million samples" cpu
	row "other processes' CPU during the ingest (cores, rwgen included)" others
	row "peak RSS MiB (VmHWM)" rss
	row "bytes/sample on disk after seal" bps
	for qi in "${!QUERIES[@]}"; do
		row "query ${QNAMES[$qi]} 1 h (ms)" "q$qi.1h"
		row "query ${QNAMES[$qi]} 24 h (ms)" "q$qi.24h"
	done
	echo
	for qi in "${!QUERIES[@]}"; do echo "- ${QNAMES[$qi]}: \`${QUERIES[$qi]}\`"; done
	for p in "${PEER_LIST[@]}"; do if [ -n "${R[$p.note]:-}" ]; then echo "- $p: ${R[$p.note]}"; fi; done
	echo
	echo "Bytes on disk: Prometheus = a TSDB snapshot of the head (one block); VictoriaMetrics = its data"
	echo "directory after /internal/force_flush; obstui = its store after SIGTERM (heads sealed)."
} | tee "$OUT/results-metrics.md"
