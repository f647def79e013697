#!/bin/sh
# run-integration.sh - the integration tests: the real obstui binary on
# loopback, driven by the OpenTelemetry JS SDK, curl-like raw requests and the
# CLI.  Run from anywhere; uses $OBSTUI_BIN (default ./obstui at the repo root).
#
#   tests/run-integration.sh                       every test file
#   tests/run-integration.sh tests/integration/cli.test.mjs   some of them
#
# Needs Node.js >= 20.11 (scripts/deps.sh test puts one in tests/.node when
# the system's is older; it is used first), zstd, and the npm packages in
# tests/ (scripts/deps.sh test installs them from tests/package-lock.json).  The whole run is bounded
# by OBSTUI_IT_TIMEOUT seconds (default 1500).
set -eu
cd "$(dirname "$0")/.."

OBSTUI_BIN=${OBSTUI_BIN:-./obstui}
case $OBSTUI_BIN in /*) ;; *) OBSTUI_BIN=$(pwd)/$OBSTUI_BIN ;; esac
export OBSTUI_BIN
[ -x tests/.node/bin/node ] && PATH=$(pwd)/tests/.node/bin:$PATH && export PATH
if [ ! -x "$OBSTUI_BIN" ]; then
	echo "run-integration: no obstui binary at $OBSTUI_BIN (run make, or set OBSTUI_BIN)" >&2
	exit 1
fi
if [ ! -d tests/node_modules/@opentelemetry/exporter-trace-otlp-grpc ] || [ ! -d tests/node_modules/azurite ] ||
	[ ! -d tests/node_modules/@opentelemetry/sdk-metrics ] ||
	[ ! -d tests/node_modules/@azure/storage-blob ]; then
	echo "run-integration: npm packages missing; installing from tests/package-lock.json" >&2
	(cd tests && npm ci --no-audit --no-fund --loglevel=error)
fi

if [ $# -gt 0 ]; then
	set -- "$@"
else
	set -- tests/integration/*.test.mjs
	set -- "$@" tests/tui/*.test.mjs
fi

# --test-concurrency=1: one file at a time, so timings and RSS are the
# binary's own; each test has its own timeout, the run has this one.
exec timeout --kill-after=10 "${OBSTUI_IT_TIMEOUT:-1500}" \
	node --test --test-concurrency=1 --test-timeout=120000 "$@"
