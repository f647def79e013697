// OTLP metrics from the real OpenTelemetry JS SDK (sdk-metrics 2.12) through
// each of its three exporters (OTLP/gRPC, OTLP/HTTP JSON, OTLP/HTTP protobuf),
// with cumulative and with delta temporality, read back through obstui's
// Prometheus API and checked against the OpenTelemetry specification's
// "Prometheus and OpenMetrics Compatibility" mapping:
//
//   * names: invalid characters -> `_`, runs of `_` collapsed; the unit as a
//     word suffix (`s` -> `_seconds`, `By` -> `_bytes`, `Cel` -> `_celsius`,
//     `{...}` dropped) before the type suffix; `_total` on monotonic sums;
//   * labels: attribute keys sanitized the same way, colliding keys joined
//     with `;` in the order of the original keys; `job` =
//     service.namespace/service.name, `instance` = service.instance.id;
//     `otel_scope_name` / `otel_scope_version` on every series;
//   * target_info: one series per job/instance, value 1, labelled with the
//     other resource attributes (and job, instance, nothing else);
//   * counter -> counter, up-down counter -> gauge, observable gauge -> gauge,
//     histogram -> _bucket{le} (cumulative, +Inf last) / _sum / _count,
//     exponential histogram (a View) -> native histogram;
//   * delta sums and histograms accumulated to cumulative (obstui's DESIGN;
//     the spec allows dropping only delta exponential histograms, so those
//     are either absent or right).
// Exemplars: the JS metrics SDK 2.12 does not attach exemplars to what it
// exports (its exemplar code is not wired to the aggregators), so there is
// nothing of them to check through this SDK.
//

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { MeterProvider, PeriodicExportingMetricReader, AggregationType } from '@opentelemetry/sdk-metrics';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { diag, DiagLogLevel } from '@opentelemetry/api';
import { OTLPMetricExporter as GrpcExporter } from '@opentelemetry/exporter-metrics-otlp-grpc';
import { OTLPMetricExporter as JsonExporter, AggregationTemporalityPreference } from '@opentelemetry/exporter-metrics-otlp-http';
import { OTLPMetricExporter as ProtoExporter } from '@opentelemetry/exporter-metrics-otlp-proto';
import { startServe } from './lib/obstui.mjs';
import { promApi, pv, close, labelKey } from './lib/prom.mjs';

const exportErrors = [];
diag.setLogger({
	// the message only (the first line): a stack trace per failed export buries the point
	error: (...a) => exportErrors.push(a.map((x) => { try { return JSON.parse(x).message; } catch { return String(x?.message ?? x); } })
		.join(' ').split('\n')[0].slice(0, 300)),
	warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {},
}, DiagLogLevel.ERROR);

let srv;
before(async () => {
	srv = await startServe({ args: ['--otlp-grpc', '127.0.0.1:0'] });
	assert.ok(srv.grpc, 'obstui printed its gRPC listener');
});

const EXPORTERS = {
	grpc: (temporalityPreference) => new GrpcExporter({ url: `http://${srv.grpc}`, temporalityPreference, timeoutMillis: 10000 }),
	json: (temporalityPreference) => new JsonExporter({ url: `${srv.otlp}/v1/metrics`, temporalityPreference, timeoutMillis: 10000 }),
	proto: (temporalityPreference) => new ProtoExporter({ url: `${srv.otlp}/v1/metrics`, temporalityPreference, timeoutMillis: 10000 }),
};

// What is recorded, in two rounds with an export after each.
const ROUNDS = [
	{ requests: { GET: 3, POST: 1 }, bytes: 1500, queue: [5, -2], latency: [0.005, 0.05, 0.05, 0.5, 2], payload: [100, 300, 1234], temp: 21.5 },
	{ requests: { GET: 4, POST: 2 }, bytes: 2500, queue: [4], latency: [0.2, 5], payload: [5000, 7777], temp: 23.25 },
];
const BOUNDS = [0.01, 0.1, 1];

async function sendRounds(kind, temporality) {
	const name = `svc-${kind}-${temporality}`;
	const resource = resourceFromAttributes({
		'service.name': name,
		'service.namespace': 'shop',
		'service.instance.id': `inst-${kind}-${temporality}`,
		'deployment.environment': 'test',
		'host.name': 'host-1',
		'k8s.pod.name': 'pod-ü-1',
		'process.pid': 4242,
	});
	const pref = temporality === 'delta' ? AggregationTemporalityPreference.DELTA : AggregationTemporalityPreference.CUMULATIVE;
	const reader = new PeriodicExportingMetricReader({ exporter: EXPORTERS[kind](pref), exportIntervalMillis: 3600000, exportTimeoutMillis: 15000 });
	const provider = new MeterProvider({
		resource,
		readers: [reader],
		views: [{ instrumentName: 'payload.size', aggregation: { type: AggregationType.EXPONENTIAL_HISTOGRAM, options: { maxSize: 160 } } }],
	});
	const meter = provider.getMeter('oracle.scope', '1.2.3');
	const requests = meter.createCounter('http.server.requests', { unit: '{request}', description: 'Requests served.' });
	const bytes = meter.createCounter('bytes.sent', { unit: 'By', description: 'Bytes sent.' });
	const weird = meter.createCounter('weird-name..with//slashes', { description: 'A name to sanitize.' });
	const queue = meter.createUpDownCounter('queue.length', { unit: '{item}', description: 'Items queued.' });
	const latency = meter.createHistogram('http.server.duration', { unit: 's', description: 'Request latency.', advice: { explicitBucketBoundaries: BOUNDS } });
	const payload = meter.createHistogram('payload.size', { unit: 'By', description: 'Payload sizes.' });
	const temp = meter.createObservableGauge('cpu.temperature', { unit: 'Cel', description: 'CPU temperature.' });
	let round = 0;
	temp.addCallback((r) => r.observe(ROUNDS[round].temp, { core: '0' }));
	for (round = 0; round < ROUNDS.length; round++) {
		const R = ROUNDS[round];
		for (const [method, n] of Object.entries(R.requests)) for (let i = 0; i < n; i++) requests.add(1, { method, 'http.route': '/a' });
		bytes.add(R.bytes);
		weird.add(1, { 'a.b': 'dot', a_b: 'underscore' });
		for (const v of R.queue) queue.add(v, { queue: 'q1' });
		for (const v of R.latency) latency.record(v, { route: '/a' });
		for (const v of R.payload) payload.record(v);
		await reader.forceFlush();
		await new Promise((r) => setTimeout(r, 50));
	}
	round = ROUNDS.length - 1;
	await provider.shutdown().catch(() => {});
	return { name, job: `shop/${name}`, instance: `inst-${kind}-${temporality}`, resource };
}

const sum = (xs) => xs.reduce((a, b) => a + b, 0);
const total = (f) => sum(ROUNDS.map(f));

async function instant(expr) {
	const r = await promApi(srv.api, '/api/v1/query', { query: expr, time: (Date.now() / 1000).toFixed(3) });
	assert.equal(r.status, 200, `${expr}: ${r.text.slice(0, 400)}`);
	return r.json.data.result;
}

// exactly one series; its labels and value
async function one(expr) {
	const res = await instant(expr);
	assert.equal(res.length, 1, `${expr}: want one series, got ${JSON.stringify(res).slice(0, 600)}`);
	return res[0];
}

for (const kind of Object.keys(EXPORTERS)) {
	for (const temporality of ['cumulative', 'delta']) {
		test(`SDK metrics via ${kind} (${temporality}) map to Prometheus series as the spec says`, { timeout: 60000 }, async () => {
			exportErrors.length = 0;
			const { job, instance, resource } = await sendRounds(kind, temporality);
			assert.deepEqual(exportErrors, [], 'the exporter reported errors');
			const sel = `job="${job}",instance="${instance}"`;
			const scope = { otel_scope_name: 'oracle.scope', otel_scope_version: '1.2.3' };
			const base = { job, instance, ...scope };

			// monotonic sums: counters with _total (and the unit word before it)
			const reqs = await instant(`http_server_requests_total{${sel}}`);
			assert.deepEqual(reqs.map((s) => labelKey(s.metric)).sort(), ['GET', 'POST'].map((m) => labelKey({ __name__: 'http_server_requests_total', ...base, method: m, http_route: '/a' })).sort(), 'requests: names and labels');
			for (const s of reqs) assert.equal(pv(s.value[1]), total((R) => R.requests[s.metric.method]), `requests ${s.metric.method}: accumulated over both exports`);
			const b = await one(`bytes_sent_bytes_total{${sel}}`);
			assert.deepEqual(b.metric, { __name__: 'bytes_sent_bytes_total', ...base });
			assert.equal(pv(b.value[1]), total((R) => R.bytes));
			const w = await one(`weird_name_with_slashes_total{${sel}}`);
			assert.deepEqual(w.metric, { __name__: 'weird_name_with_slashes_total', ...base, a_b: 'dot;underscore' }, 'sanitized name; colliding keys joined in key order');
			assert.equal(pv(w.value[1]), ROUNDS.length);

			// non-monotonic sum -> gauge, no _total
			const q = await one(`queue_length{${sel}}`);
			assert.deepEqual(q.metric, { __name__: 'queue_length', ...base, queue: 'q1' });
			assert.equal(pv(q.value[1]), total((R) => sum(R.queue)));
			assert.deepEqual(await instant(`queue_length_total{${sel}}`), [], 'an up-down counter is not a counter');

			// observable gauge: the last observation
			const t = await one(`cpu_temperature_celsius{${sel}}`);
			assert.deepEqual(t.metric, { __name__: 'cpu_temperature_celsius', ...base, core: '0' });
			assert.equal(pv(t.value[1]), ROUNDS[ROUNDS.length - 1].temp);

			// explicit-bucket histogram -> classic histogram series
			const all = ROUNDS.flatMap((R) => R.latency);
			const buckets = await instant(`http_server_duration_seconds_bucket{${sel}}`);
			const les = [...BOUNDS.map(String), '+Inf'];
			assert.deepEqual(buckets.map((s) => s.metric.le).sort(), [...les].sort(), 'one _bucket per bound and +Inf');
			for (const s of buckets) {
				assert.deepEqual(s.metric, { __name__: 'http_server_duration_seconds_bucket', ...base, route: '/a', le: s.metric.le });
				const le = s.metric.le === '+Inf' ? Infinity : Number(s.metric.le);
				assert.equal(pv(s.value[1]), all.filter((x) => x <= le).length, `cumulative count at le=${s.metric.le}`);
			}
			const hc = await one(`http_server_duration_seconds_count{${sel}}`);
			assert.deepEqual(hc.metric, { __name__: 'http_server_duration_seconds_count', ...base, route: '/a' });
			assert.equal(pv(hc.value[1]), all.length);
			const hs = await one(`http_server_duration_seconds_sum{${sel}}`);
			assert.ok(close(pv(hs.value[1]), sum(all), 1e-9), `sum ${hs.value[1]} vs ${sum(all)}`);
			const p50 = await one(`histogram_quantile(0.5, http_server_duration_seconds_bucket{${sel}})`);
			assert.ok(close(pv(p50.value[1]), 0.1 + 0.9 * (3.5 - 3) / (5 - 3), 1e-9), `histogram_quantile over the buckets: ${p50.value[1]}`);

			// exponential histogram -> native histogram
			const vals = ROUNDS.flatMap((R) => R.payload);
			const nh = await instant(`payload_size_bytes{${sel}}`);
			if (temporality === 'delta' && nh.length === 0) {
				// the spec's choice for delta exponential histograms: dropped
			} else {
				assert.equal(nh.length, 1, `one native histogram series: ${JSON.stringify(nh).slice(0, 400)}`);
				assert.deepEqual(nh[0].metric, { __name__: 'payload_size_bytes', ...base });
				const h = nh[0].histogram?.[1];
				assert.ok(h, `a native histogram sample, not a float: ${JSON.stringify(nh[0]).slice(0, 300)}`);
				assert.equal(pv(h.count), vals.length);
				assert.ok(close(pv(h.sum), sum(vals), 1e-9));
				let n = 0;
				for (const [rule, lo, hi, c] of h.buckets) {
					assert.equal(rule, 0, 'positive buckets are open on the left');
					const want = vals.filter((x) => x > pv(lo) && x <= pv(hi)).length;
					assert.equal(pv(c), want, `bucket (${lo}, ${hi}]`);
					n += want;
				}
				assert.equal(n, vals.length, 'every value in a bucket');
				assert.equal(pv((await one(`histogram_count(payload_size_bytes{${sel}})`)).value[1]), vals.length);
			}
			assert.deepEqual(await instant(`{__name__=~"payload_size_bytes_(bucket|count|sum)",${sel}}`), [], 'no classic series for an exponential histogram');

			// resource: target_info, one per job/instance, the other attributes as labels
			const ti = await one(`target_info{${sel}}`);
			const want = { __name__: 'target_info', job, instance };
			for (const [k, v] of Object.entries(resource.attributes)) {
				if (['service.name', 'service.namespace', 'service.instance.id'].includes(k)) continue;
				want[k.replace(/[^a-zA-Z0-9_]/g, '_').replace(/_+/g, '_')] = String(v);
			}
			assert.deepEqual(ti.metric, want, 'target_info labels');
			assert.equal(pv(ti.value[1]), 1);
		});
	}
}

// The family name is the series name less the histogram's suffixes (as
// the Collector's remote-write exporter names it); the unit is the spec's
// Prometheus word (a SHOULD) or the OTLP unit as sent.
test('metadata of SDK metrics: type, unit and description', { timeout: 30000 }, async () => {
	for (const [metric, type, units, help] of [
		['http_server_requests_total', 'counter', ['', '{request}'], 'Requests served.'],
		['bytes_sent_bytes_total', 'counter', ['bytes', 'By'], 'Bytes sent.'],
		['queue_length', 'gauge', ['', '{item}'], 'Items queued.'],
		['cpu_temperature_celsius', 'gauge', ['celsius', 'Cel'], 'CPU temperature.'],
		['http_server_duration_seconds', 'histogram', ['seconds', 's'], 'Request latency.'],
	]) {
		const r = await promApi(srv.api, '/api/v1/metadata', { metric });
		assert.equal(r.status, 200, r.text);
		const md = r.json.data[metric];
		assert.ok(Array.isArray(md) && md.length === 1, `one metadata entry for ${metric}: ${r.text.slice(0, 300)}`);
		assert.equal(md[0].type, type, `type of ${metric}`);
		assert.equal(md[0].help, help, `help of ${metric}`);
		assert.ok(units.includes(md[0].unit), `unit of ${metric}: ${JSON.stringify(md[0].unit)}, want one of ${JSON.stringify(units)}`);
	}
});
