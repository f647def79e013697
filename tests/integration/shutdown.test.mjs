// Shutdown with work in flight, under AddressSanitizer and UBSan (issue 14
// item 8): obstui built with -fsanitize=address,undefined (make asan:
// build/asan/obstui, rebuilt here only if a source changed) is filled with
// traces and metrics, then given many slow queries (TraceQL search, TraceQL
// metrics, PromQL range queries, the service graph, traces by id) and
// streaming ingest (OTLP/HTTP, OTLP/gRPC, remote write) at once, and stopped
// mid-flight by SIGTERM, or SIGINT.  It must exit 0 with no sanitizer report on
// stderr (a query answered from a closed store is a use-after-free here), and
// every span it acknowledged must be in the store afterwards.
//
// OBSTUI_ASAN_BIN names another sanitized binary (make check's
// build-asan/obstui, say); then nothing is built.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import net from 'node:net';
import { existsSync, readFileSync } from 'node:fs';
import { resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';

const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const ASAN_BIN = resolve(REPO, process.env.OBSTUI_ASAN_BIN || 'build/asan/obstui');
// the libraries read OBSTUI_BIN when first imported: import them after this
const PLAIN_BIN = resolve(REPO, process.env.OBSTUI_BIN || './obstui');
process.env.OBSTUI_BIN = ASAN_BIN;
const { startServe, tempDir, get, post, cli, describeCli } = await import('./lib/obstui.mjs');
const { burstRequest } = await import('./lib/burst.mjs');
const { encodeTraces } = await import('./lib/otlp.mjs');
const { generate, sendAll, sendWrite } = await import('./lib/promrw.mjs');
const { connect, unary, closeSession, EXPORT } = await import('./lib/grpc.mjs');

// leaks are not what this test is about (and LeakSanitizer needs ptrace)
const SAN_ENV = {
	ASAN_OPTIONS: 'detect_leaks=0:abort_on_error=0:halt_on_error=1:exitcode=66',
	UBSAN_OPTIONS: 'print_stacktrace=1:halt_on_error=1:exitcode=67',
};
const SAN_REPORT = /AddressSanitizer|UndefinedBehaviorSanitizer|runtime error:|LeakSanitizer|ThreadSanitizer|SUMMARY: /;

before(() => {
	if (process.env.OBSTUI_ASAN_BIN) {
		assert.ok(existsSync(ASAN_BIN), `OBSTUI_ASAN_BIN=${ASAN_BIN} does not exist`);
		return;
	}
	// incremental: seconds when build/asan is up to date (make test builds it first)
	const r = spawnSync('make', ['--no-print-directory', '-j2', 'asan'], { cwd: REPO, encoding: 'utf8', timeout: 900000 });
	assert.equal(r.status, 0, `make asan failed (${r.status} ${r.signal ?? ''}): ${String(r.stderr).slice(-3000)}`);
	assert.ok(existsSync(ASAN_BIN), `make asan did not make ${ASAN_BIN}`);
	assert.match(readFileSync(ASAN_BIN).subarray(0, 4).toString('latin1'), /ELF/);
}, { timeout: 900000 });

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// 'connected', or the error code of connecting to host:port
function tryConnect(addr) {
	const i = addr.lastIndexOf(':');
	return new Promise((res) => {
		const s = net.connect({ host: addr.slice(0, i), port: Number(addr.slice(i + 1)) });
		const timer = setTimeout(() => { s.destroy(); res('timeout'); }, 2000);
		s.on('connect', () => { clearTimeout(timer); s.destroy(); res('connected'); });
		s.on('error', (e) => { clearTimeout(timer); res(e.code); });
	});
}

// Traces with blocks sealed, and metric samples over the last 3 hours.
async function fill(srv) {
	const acked = [];
	for (let i = 0; i < 12; i++) {
		const b = burstRequest(100);
		const r = await post(`${srv.otlp}/v1/traces`, encodeTraces(b.req), { 'content-type': 'application/x-protobuf' });
		assert.equal(r.status, 200, `fill: ${r.status} ${r.body.toString().slice(0, 300)}`);
		acked.push(...b.tids);
	}
	const data = generate({ start: Date.now() - 3 * 3600 * 1000, points: 600, intervalMs: 15000, seed: 7 });
	await sendAll(`${srv.api}/api/v1/write`, data, { sliceMs: 30 * 60 * 1000 });
	return acked;
}

// Slow read-only requests, over and over until the server goes away.
function queryLoops(srv, acked, n, stop) {
	const now = Math.floor(Date.now() / 1000);
	const q = (s) => encodeURIComponent(s);
	const urls = [
		`/api/search?q=${q('{ span.user.id =~ ".*7.*" }')}&limit=500&start=${now - 3600}&end=${now + 60}`,
		`/api/search?q=${q('{ span.http.status_code = 500 } | count() > 0')}&limit=200`,
		`/api/search?tags=${q('service.name=cart')}&limit=1000`,
		`/api/metrics/query_range?q=${q('{ } | rate() by (resource.service.name)')}&start=${now - 3600}&end=${now + 60}&step=1s`,
		`/api/metrics/query_range?q=${q('{ } | quantile_over_time(duration, .5, .99) by (span.http.route)')}&start=${now - 600}&end=${now + 60}&step=1s`,
		`/api/v1/query_range?query=${q('sum by (job) (rate(http_requests_total[5m]))')}&start=${now - 3 * 3600}&end=${now}&step=2`,
		`/api/v1/query_range?query=${q('histogram_quantile(0.9, sum by (le) (rate(http_request_duration_seconds_bucket[10m])))')}&start=${now - 3 * 3600}&end=${now}&step=2`,
		`/api/v1/query_range?query=${q('sum by (client, server) (rate(traces_service_graph_request_total[5m]))')}&start=${now - 3600}&end=${now}&step=1`,
		`/api/service-graph?start=${now - 7 * 86400}&end=${now + 60}`,
		`/api/search/tag/${q('span.user.id')}/values`,
		'/metrics',
	];
	let done = 0;
	const lane = async (i) => {
		for (let k = i; !stop.now; k++) {
			const path = k % 4 === 3 ? `/api/v2/traces/${acked[k % acked.length]}` : urls[k % urls.length];
			try {
				await get(`${srv.api}${path}`, {}, { timeout: 60000 });
				done++;
			} catch {
				if (!srv.alive()) return;
				await sleep(20);
			}
		}
	};
	const all = Promise.all(Array.from({ length: n }, (_, i) => lane(i)));
	return { all, count: () => done };
}

// Ingest on every receiver until the server goes away: the trace ids of the
// requests answered 200 are returned (they must survive the stop).
function ingestLoops(srv, stop) {
	const acked = [];
	const httpLane = async () => {
		while (!stop.now) {
			const b = burstRequest(20);
			try {
				const r = await post(`${srv.otlp}/v1/traces`, encodeTraces(b.req), { 'content-type': 'application/x-protobuf' });
				if (r.status === 200) acked.push(...b.tids);
				else await sleep(20);
			} catch {
				if (!srv.alive()) return;
			}
		}
	};
	const grpcLane = async () => {
		let session;
		try {
			session = connect(srv.grpc);
			while (!stop.now) {
				const b = burstRequest(20);
				const r = await unary(session, EXPORT, encodeTraces(b.req));
				if (r.grpcStatus === 0) acked.push(...b.tids);
				else await sleep(20);
			}
		} catch { /* the server went away */ }
		if (session) await closeSession(session).catch(() => {});
	};
	const rwLane = async () => {
		let t = Date.now() - 60000;
		while (!stop.now) {
			const series = Array.from({ length: 50 }, (_, i) => ({
				labels: [['__name__', 'shutdown_test_gauge'], ['i', String(i)]],
				samples: [[t, i * 1.5]],
			}));
			t += 1000;
			try {
				await sendWrite(`${srv.otlp}/api/v1/write`, { series });
			} catch {
				if (!srv.alive()) return;
			}
		}
	};
	const all = Promise.all([httpLane(), httpLane(), grpcLane(), grpcLane(), rwLane()]);
	return { all, acked };
}

async function stopInFlight(signal, t) {
	const store = tempDir();
	const srv = await startServe({
		store, env: SAN_ENV, readyTimeout: 30000,
		args: ['--otlp-grpc', '127.0.0.1:0', '--seal-idle', '1s'],
	});
	assert.ok(srv.sanitized(), `${ASAN_BIN} is not built with AddressSanitizer`);
	const acked = await fill(srv);
	const stop = { now: false };
	const queries = queryLoops(srv, acked, 16, stop);
	const ingest = ingestLoops(srv, stop);
	await sleep(1500);              // let the slow queries get going
	const t0 = Date.now();
	srv.child.kill(signal);
	// step 1 of the stop: while the queries in flight finish, every listener
	// already refuses new connections
	await sleep(400);
	let refusedChecked = 0;
	for (const [name, addr] of Object.entries(srv.listeners)) {
		const r = await tryConnect(addr);
		if (!srv.alive()) break;
		assert.equal(r, 'ECONNREFUSED', `${name} (${addr}) 400 ms after ${signal}, obstui still stopping: connect gave ${r}`);
		refusedChecked++;
	}
	const exit = await srv.stop(signal, 45000);
	const stopMs = Date.now() - t0;
	stop.now = true;
	await Promise.all([queries.all, ingest.all]);
	const stderr = srv.stderr();
	const report = stderr.match(SAN_REPORT);
	assert.ok(!report, `sanitizer report on stderr after ${signal}:\n${stderr.slice(Math.max(0, report?.index - 2000), report?.index + 6000)}`);
	assert.deepEqual(exit, { code: 0, signal: null }, `${signal} with queries in flight: exit ${JSON.stringify(exit)}\n${stderr.slice(-3000)}`);
	assert.match(stderr, /stopped cleanly/, 'serve says it stopped cleanly');
	t.diagnostic(`${signal}: stopped in ${stopMs} ms; ${queries.count()} queries answered, ${ingest.acked.length} traces acknowledged during the run; ${refusedChecked} listeners seen refusing while in-flight work finished`);
	assert.ok(queries.count() > 0, 'some queries were answered before the stop');

	// what was acknowledged is there, read by the plain binary
	const all = [...acked, ...ingest.acked];
	const st = cli(['stats', '--json', '--store', store], {});
	assert.equal(st.code, 0, describeCli(['stats'], st));
	for (const tid of all.filter((_, i) => i % Math.max(1, Math.floor(all.length / 30)) === 0)) {
		const args = ['trace', tid, '--store', store, '--json'];
		const r = spawnSync(PLAIN_BIN, args, { encoding: 'utf8', timeout: 30000 });
		assert.equal(r.status, 0, `acknowledged trace ${tid} after ${signal}: ${describeCli(args, { code: r.status, stdout: r.stdout, stderr: r.stderr })}`);
	}
}

test('SIGTERM with slow queries and ingest in flight: exit 0, no sanitizer report, nothing acknowledged lost', { timeout: 60000 }, async (t) => {
	await stopInFlight('SIGTERM', t);
});

test('SIGINT to the UI-less serve with slow queries and ingest in flight: exit 0, no sanitizer report', { timeout: 60000 }, async (t) => {
	await stopInFlight('SIGINT', t);
});
