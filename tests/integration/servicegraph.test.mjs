// The service graph and span metrics end to end (issue 12): a trace set made
// with the real OpenTelemetry JS SDK (lib/sgtraces.mjs mainSet: client/server
// pairs across services, a messaging pair, database calls by every naming
// rule, peer.service calls, root server spans with and without a peer,
// messaging sides without a partner, failures on either side, an unpaired
// client and an unpaired server; and, raw, what the SDK cannot send: kind
// UNSPECIFIED, spans ending before they start) goes to `obstui serve
// --seal-idle 1s`; the expectations are worked out from the spans put on the
// wire (lib/sgmodel.mjs, Tempo's pairing rules), and then:
//   - GET /api/service-graph answers those nodes, edges, counts, failures,
//     latency quantiles (within 5 %) and unpaired sides, for the whole data
//     and for one minute of it; a window without the data is empty; bad
//     start/end are 400;
//   - the Prometheus API serves Tempo's series (names, labels, buckets) with
//     exact instant values, raw samples as the materialisation contract says
//     (lib/sgmodel.mjs samplesOf), Grafana's service-map and service-table
//     queries, word for word, answer what Prometheus would over those samples
//     (1h, 3600s, 7d), query_range on minute steps, series/labels endpoints;
//   - the side a virtual edge lacks: null in the API, observed as 0 in the
//     histograms as Tempo does (its own test; the others leave it out);
//   - the test's own arithmetic agrees with a real Prometheus 2.42.
// Split, out-of-order, sealed and pulled spans: servicegraph-late.test.mjs.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { startServe, get, post, waitFor } from './lib/obstui.mjs';
import { startPrometheus, PROMETHEUS_BIN } from './lib/prom.mjs';
import { sendWrite } from './lib/promrw.mjs';
import { startRecordingProxy } from './lib/proxy.mjs';
import { captured, PROTO_CT } from './lib/traces.mjs';
import { encodeTraces } from './lib/otlp.mjs';
import { takeExportErrors } from './lib/sdk.mjs';
import { Services, mainSet, rawOddities } from './lib/sgtraces.mjs';
import {
	flatSpans, serviceGraph, spanMetrics, apiGraph, promSeries, diffApiGraph, samplesOf, instantValue, extrapolatedRate,
	edgeKey, SG_BUCKETS, SM_BUCKETS, sumRateBy, histQuantileOfRates, overSteps,
} from './lib/sgmodel.mjs';
import {
	pollGraph, serviceGraphApi, waitSealedMore, promQuery, promRange, promApiData, diffVector, diffMatrix, report, evalTime,
} from './lib/sgcheck.mjs';
import { serviceMapCases, serviceTableCases, sevenDayCase } from './lib/sgqueries.mjs';

const T30 = { timeout: 30000 };
let srv;
let proxy;
const S = {}; // the set sent and what follows from it

before(async () => {
	srv = await startServe({ args: ['--seal-idle', '1s'] });
	proxy = await startRecordingProxy(srv.otlp);
});
after(async () => { await proxy?.close(); });

// The edges whose one side was never measured (virtual nodes), by side.
function missingSides(g) {
	const out = [];
	for (const e of g.edges.values()) {
		for (const side of ['server', 'client'])
			if (e.events.every((x) => x[`${side}Sec`] === null)) out.push({ edge: e, side });
	}
	return out;
}

test('the trace set: sent with the OpenTelemetry SDK, expectations worked out from the spans on the wire', T30, async () => {
	const now = Date.now();
	S.t0 = now - 5 * 60000;
	const sv = new Services(proxy.url);
	mainSet(sv, S.t0);
	await sv.flush();
	await sv.shutdown();
	const raw = await post(`${proxy.url}/v1/traces`, encodeTraces(rawOddities(S.t0)), PROTO_CT);
	assert.equal(raw.status, 200, `the raw request: ${raw.status} ${raw.body.toString().slice(0, 300)}`);
	assert.deepEqual(takeExportErrors(), [], 'the SDK exporter reported errors');
	S.sent = captured(proxy.records, { expectEncoding: 'proto' });
	S.spans = flatSpans(S.sent);
	S.g = serviceGraph(S.spans);
	S.m = spanMetrics(S.spans);
	S.missing = missingSides(S.g);
	S.start = Math.floor(S.t0 / 1000) - 600;
	S.end = Math.ceil(now / 1000) + 120;
	S.lastEvent = Math.max(...S.spans.map((s) => Number(s.endNs / 1000000n)));

	// the set is what it says it is (a guard on the builder and the model)
	const e = (c, s, t) => S.g.edges.get(edgeKey(c, s, t));
	const n = (c, s, t) => e(c, s, t)?.events.length;
	const f = (c, s, t) => e(c, s, t)?.events.filter((x) => x.failed).length;
	assert.equal(S.sent.size, S.spans.length);
	assert.deepEqual([n('frontend', 'cart', ''), f('frontend', 'cart', '')], [20, 3], 'pairs, failing on either side');
	assert.deepEqual([n('user', 'frontend', 'virtual_node'), f('user', 'frontend', 'virtual_node')], [20, 1]);
	assert.equal(n('k8s-probe', 'frontend', 'virtual_node'), 6, 'root server spans with peer.service');
	assert.deepEqual([n('user', 'gateway', 'virtual_node'), f('user', 'gateway', 'virtual_node')], [3, 1]);
	assert.deepEqual([n('cart', 'billing', 'messaging_system'), f('cart', 'billing', 'messaging_system')], [10, 1]);
	assert.deepEqual([n('billing', 'stripe', 'virtual_node'), f('billing', 'stripe', 'virtual_node')], [10, 1]);
	assert.deepEqual([n('cart', 'pg-main', 'database'), f('cart', 'pg-main', 'database')], [20, 1], 'server.address');
	assert.equal(n('billing', 'ledger', 'database'), 4, 'db.namespace as the name');
	assert.equal(n('sessions', '10.1.2.3:6379', 'database'), 3, 'network.peer.address:port, db attribute on the resource');
	assert.equal(n('sessions', '10.1.2.4', 'database'), 2, 'network.peer.address');
	assert.equal(n('inventory', 'stock-db', 'database'), 3, 'peer.service first');
	assert.equal(n('inventory', 'itemsdb', 'database'), 2, 'db.name before db.system');
	assert.equal(n('cart', 'inventory', ''), 5);
	assert.deepEqual([n('cart', 'audit-bus', 'virtual_node'), n('user', 'billing', 'virtual_node'), f('user', 'billing', 'virtual_node')], [3, 3, 1],
		'messaging sides without a partner');
	assert.deepEqual([n('user', 'legacy', 'virtual_node'), e('user', 'legacy', 'virtual_node')?.events[0].serverSec], [2, 0],
		'a span ending before it starts: latency 0');
	assert.ok(S.spans.some((x) => x.kind === 0), 'a span of kind UNSPECIFIED');
	assert.deepEqual([n('reporting', 'dwh.internal', 'database'), f('reporting', 'dwh.internal', 'database'), n('reporting', 'dwh-primary', 'database'),
		n('archiver', 'archive', 'database')], [2, 1, 1, 3], 'database attributes on the resource');
	assert.equal(S.g.edges.size, 19);
	assert.deepEqual(S.g.unpairedSides.map((s) => s.name).sort(), ['GET /quote', 'GET /recommendations', 'GET /restock']);
	assert.deepEqual(S.missing.map((x) => `${x.edge.client}->${x.edge.server}:${x.side}`).sort(),
		['billing->stripe:server', 'cart->audit-bus:server', 'k8s-probe->frontend:client', 'user->billing:client', 'user->frontend:client',
			'user->gateway:client', 'user->legacy:client']);
	assert.ok(S.lastEvent < now, 'every span ended before now');

	// rollups are made when traces are sealed
	await waitSealedMore(srv.store, 0);
	S.sealed = true;
});

function need() {
	assert.ok(S.g && S.sealed, 'the trace set was not sent and sealed (see the first test)');
}

// (the latency of a side no span measured: the 'virtual edges' test)
test('GET /api/service-graph: nodes, edges, requests, failures, p50/p95 and unpaired sides equal the model', T30, async () => {
	need();
	const { got, diffs } = await pollGraph(srv, apiGraph(S.g, { skipUnmeasured: true }), S.start, S.end);
	assert.deepEqual(diffs, [], `${report(diffs)}\nanswer: ${JSON.stringify(got).slice(0, 3000)}`);
	// the node of a service that is only a client: requests 0, nothing measured
	const sessions = got.nodes.find((x) => x.id === 'sessions');
	assert.deepEqual([sessions.requests, sessions.failed, sessions.p50Ms, sessions.p95Ms], [0, 0, null, null]);
});

test('GET /api/service-graph: a one-minute window holds the edges whose time (the later end of their sides) falls in it', T30, async () => {
	need();
	// a minute that holds some of the edges, not all
	const sliceOf = (b) => {
		const edges = new Map();
		for (const [k, e] of S.g.edges) {
			const events = e.events.filter((x) => x.tMs >= b && x.tMs < b + 60000);
			if (events.length) edges.set(k, { ...e, events });
		}
		return { edges, unpaired: S.g.unpaired };
	};
	const minutes = [...new Set([...S.g.edges.values()].flatMap((e) => e.events.map((x) => Math.floor(x.tMs / 60000) * 60000)))];
	const cands = minutes.map((b) => [b, sliceOf(b)]).filter(([, x]) => x.edges.size >= 3 && x.edges.size < S.g.edges.size);
	assert.ok(cands.length, 'test bug: no minute holds some of the edges but not all');
	const [b, sub] = cands[0];
	const exp = apiGraph(sub, { skipUnmeasured: true });
	delete exp.unpaired; // which window an unpaired side belongs to is not specified
	const got = await serviceGraphApi(srv, b / 1000, b / 1000 + 59);
	const diffs = diffApiGraph(got, exp);
	assert.deepEqual(diffs, [], `window [${b / 1000}, ${b / 1000 + 59}]: ${report(diffs)}`);
});

test('GET /api/service-graph: a window without the data is empty; bad start/end are 400', T30, async () => {
	need();
	const before = Math.floor(S.t0 / 1000) - 3 * 86400;
	const g = await serviceGraphApi(srv, before, before + 86400);
	assert.deepEqual([g.nodes, g.edges], [[], []], `a window two days before the data: ${JSON.stringify(g).slice(0, 500)}`);
	if ('unpaired' in g) assert.equal(g.unpaired, 0, 'unpaired sides in a window without spans');
	const after = Math.ceil(Date.now() / 1000) + 3600;
	const h = await serviceGraphApi(srv, after, after + 600);
	assert.deepEqual([h.nodes, h.edges], [[], []], 'a window after the data');

	for (const q of [`start=abc&end=${S.end}`, `start=${S.start}&end=12x`, `start=${S.start}&end=${S.start - 60}`,
		`start=-5&end=${S.end}`, `start=${S.start}&end=99999999999999999999`]) {
		const r = await get(`${srv.api}/api/service-graph?${q}`);
		assert.equal(r.status, 400, `/api/service-graph?${q}: ${r.status} ${r.body.toString().slice(0, 200)}`);
	}
});

// --- Prometheus ------------------------------------------------------------------------------

// When the series are there (bounded), and the evaluation time (evalTime).
async function promReady() {
	need();
	if (S.T) return S.T;
	const series = promSeries(S.g, S.m);
	const total = [...S.g.edges.values()].reduce((a, e) => a + e.events.length, 0);
	const calls = S.spans.length;
	await waitFor('the service-graph and span-metrics series', async () => {
		const t = Date.now();
		const a = await promQuery(srv, 'sum(traces_service_graph_request_total)', t);
		const b = await promQuery(srv, 'sum(traces_spanmetrics_calls_total)', t);
		return Number(a.result[0]?.value[1]) === total && Number(b.result[0]?.value[1]) === calls;
	}, { timeout: 15000, interval: 300 }).catch(() => {});
	const T = evalTime();
	assert.ok(T > S.lastEvent, 'test bug: the evaluation time is not after every span');
	S.T = T;
	S.seriesTempo = series;
	S.seriesMeasured = promSeries(S.g, S.m, { latencyMissing: null });
	return T;
}

// Is this series the histogram of a side no span measured?
function isMissingSide(labels) {
	const m = /^traces_service_graph_request_(server|client)_seconds_(bucket|sum|count)$/.exec(labels.__name__ ?? '');
	if (!m) return false;
	return S.missing.some(({ edge, side }) => side === m[1] && edge.client === labels.client && edge.server === labels.server
		&& edge.connectionType === (labels.connection_type ?? ''));
}

const byName = (list, name) => list.filter((s) => s.labels.__name__ === name);
const NAMES = ['traces_service_graph_request_total', 'traces_service_graph_request_failed_total',
	'traces_service_graph_request_server_seconds_bucket', 'traces_service_graph_request_server_seconds_sum',
	'traces_service_graph_request_server_seconds_count', 'traces_service_graph_request_client_seconds_bucket',
	'traces_service_graph_request_client_seconds_sum', 'traces_service_graph_request_client_seconds_count',
	'traces_spanmetrics_calls_total', 'traces_spanmetrics_latency_bucket', 'traces_spanmetrics_latency_sum',
	'traces_spanmetrics_latency_count'];

// A failed_total series of an edge that never failed: Tempo has none; 0 would do no harm.
const zeroFailed = (metric, v) => metric.__name__ === 'traces_service_graph_request_failed_total' && v === 0;

test('Prometheus: Tempo\'s series, labels and buckets, with exact values at an instant after the data', T30, async () => {
	const T = await promReady();
	const diffs = [];
	for (const name of NAMES) {
		const exp = new Map(byName(S.seriesMeasured, name).map((s) => [s, { labels: s.labels, value: instantValue(s, T) }]));
		const data = await promQuery(srv, name, T);
		diffs.push(...diffVector(`${name} @${T}`, data, exp, { rel: 1e-9, ignore: isMissingSide, allowExtra: zeroFailed }));
	}
	// the bucket bounds, as Tempo writes them
	const les = async (name) => new Set((await promQuery(srv, name, T)).result.map((r) => r.metric.le));
	assert.deepEqual([...await les('traces_service_graph_request_server_seconds_bucket{client="frontend",server="cart"}')].sort(),
		[...SG_BUCKETS.map(String), '+Inf'].sort(), 'service graph le values');
	assert.deepEqual([...await les('traces_spanmetrics_latency_bucket{service="cart",span_name="POST /cart",status_code="STATUS_CODE_OK"}')].sort(),
		[...SM_BUCKETS.map(String), '+Inf'].sort(), 'span metrics le values');
	assert.deepEqual(diffs, [], report(diffs));
});

test('Prometheus: raw samples (X[1h]) sit where the materialisation contract puts them', T30, async () => {
	const T = await promReady();
	const diffs = [];
	for (const name of ['traces_service_graph_request_total', 'traces_service_graph_request_failed_total',
		'traces_service_graph_request_server_seconds_sum', 'traces_spanmetrics_calls_total', 'traces_spanmetrics_latency_sum']) {
		const exp = new Map(byName(S.seriesMeasured, name).map((s) => [s, { labels: s.labels, samples: samplesOf(s, T) }]));
		const data = await promQuery(srv, `${name}[1h]`, T);
		diffs.push(...diffMatrix(`${name}[1h] @${T}`, data, exp, { ignore: isMissingSide, allowExtra: (l, samples) => zeroFailed(l, 0) && samples.every(([, v]) => v === 0) }));
	}
	const b = byName(S.seriesMeasured, 'traces_service_graph_request_server_seconds_bucket')
		.filter((s) => s.labels.client === 'frontend' && s.labels.server === 'cart');
	const data = await promQuery(srv, 'traces_service_graph_request_server_seconds_bucket{client="frontend",server="cart"}[1h]', T);
	diffs.push(...diffMatrix('frontend->cart server_seconds_bucket[1h]', data,
		new Map(b.map((s) => [s, { labels: s.labels, samples: samplesOf(s, T) }]))));
	assert.deepEqual(diffs, [], report(diffs));
});

// the (client, server) pairs whose server side no span measured (their
// server_seconds are the 'virtual edges' test's business)
const missingServerPair = (l) => S.missing.some(({ edge, side }) => side === 'server' && edge.client === l.client && edge.server === l.server);

async function runCases(target, cases, T, { method = 'GET' } = {}) {
	const diffs = [];
	for (const c of cases) {
		let data;
		try { data = await promQuery(target, c.expr, T, { method }); } catch (e) { diffs.push(e.message); continue; }
		diffs.push(...diffVector(c.expr, data, c.exp, c.opts));
	}
	return diffs;
}

test('Prometheus: Grafana\'s service map queries, word for word, answer the model (1h, 3600s, filters with OR)', T30, async () => {
	const T = await promReady();
	// POSTed as a form, as Grafana's Prometheus data source sends them
	const diffs = await runCases(srv, serviceMapCases(S.seriesTempo, T, { ignore: missingServerPair }), T, { method: 'POST' });
	assert.deepEqual(diffs, [], report(diffs));
});

test('Prometheus: Grafana\'s service table queries (topk rate, error rate, p90 per span name) answer the model', T30, async () => {
	const T = await promReady();
	const { cases, escaped, serverNames } = serviceTableCases(S.seriesTempo, T);
	assert.equal(serverNames, 8, 'test bug: want eight server span names, three left out by topk');
	assert.ok(escaped.includes('GET /stock/\\\\{sku\\\\}'), `test bug: a name that needs escaping: ${escaped}`);
	assert.ok(cases[1].exp.size >= 3, 'test bug: errors in several span names');
	const diffs = await runCases(srv, cases, T);
	assert.deepEqual(diffs, [], report(diffs));
});

// Range queries on minute steps over series (the model's), with the
// expected matrix of each: [expr, f(t) -> Map].  On minute steps a [1m]
// range has a sample at both ends, so increase() and rate() are exact
// differences of the minute boundaries' values.
function rangeCases(series) {
	const M = 60000;
	const tot = byName(series, 'traces_service_graph_request_total');
	const failed = byName(series, 'traces_service_graph_request_failed_total');
	const calls = byName(series, 'traces_spanmetrics_calls_total');
	const fc = (s) => s.labels.client === 'frontend' && s.labels.server === 'cart';
	const buckets = byName(series, 'traces_service_graph_request_server_seconds_bucket').filter(fc);
	return [
		['sum by (client, server, connection_type) (increase(traces_service_graph_request_total[1m]))',
			(t) => sumRateBy(tot, ['client', 'server', 'connection_type'], t, M, { isRate: false })],
		['sum by (service, span_name) (increase(traces_spanmetrics_calls_total[1m]))',
			(t) => sumRateBy(calls, ['service', 'span_name'], t, M, { isRate: false })],
		['sum by (client, server)(rate(traces_service_graph_request_total{client="frontend",server="cart"}[1m]))',
			(t) => sumRateBy(tot.filter(fc), ['client', 'server'], t, M)],
		['sum by (client, server)(rate(traces_service_graph_request_failed_total{client="frontend",server="cart"}[1m]))',
			(t) => sumRateBy(failed.filter(fc), ['client', 'server'], t, M)],
		['histogram_quantile(0.9, sum(rate(traces_service_graph_request_server_seconds_bucket{client="frontend",server="cart"}[1m])) by (le, client, server))',
			(t) => (sumRateBy(buckets, ['le'], t, M).size
				? new Map([['', { labels: { client: 'frontend', server: 'cart' }, value: histQuantileOfRates(0.9, buckets, t, M) }]])
				: new Map())],
	];
}
const rangeSpan = (T) => [Math.floor(S.t0 / 60000) * 60000 - 60000, Math.floor(T / 60000) * 60000];

async function runRangeCases(target, series, T) {
	const diffs = [];
	const [start, end] = rangeSpan(T);
	for (const [expr, f] of rangeCases(series)) {
		let data;
		try { data = await promRange(target, expr, start, end, 60, { method: 'POST' }); } catch (e) { diffs.push(e.message); continue; }
		diffs.push(...diffMatrix(`query_range ${expr}`, data, overSteps(start, end, 60000, f), { rel: 1e-6 }));
	}
	return diffs;
}

test('Prometheus: query_range on minute steps: edges and calls per minute, and the rate and p90 links Grafana puts on an edge', T30, async () => {
	const T = await promReady();
	const diffs = await runRangeCases(srv, S.seriesMeasured, T);
	assert.deepEqual(diffs, [], report(diffs));
});

test('Prometheus: series, labels and label values of the service graph (Grafana\'s availability probe)', T30, async () => {
	const T = await promReady();
	const range = { start: tsParamS(T - 3600000), end: tsParamS(T) };
	const probe = '{__name__=~"traces_service_graph_request_server_seconds_sum|traces_service_graph_request_total|traces_service_graph_request_failed_total"}';
	const labels = await promApiData(srv, '/api/v1/labels', { 'match[]': probe, ...range });
	assert.deepEqual([...labels].sort(), ['__name__', 'client', 'connection_type', 'server'], `/api/v1/labels?match[]=${probe}`);
	const tot = byName(S.seriesMeasured, 'traces_service_graph_request_total');
	const series = await promApiData(srv, '/api/v1/series', { 'match[]': 'traces_service_graph_request_total', ...range });
	const key = (l) => JSON.stringify(Object.entries(l).sort());
	assert.deepEqual(series.map(key).sort(), tot.map((s) => key(s.labels)).sort(), '/api/v1/series?match[]=traces_service_graph_request_total');
	const clients = await promApiData(srv, '/api/v1/label/client/values', { 'match[]': 'traces_service_graph_request_total', ...range });
	assert.deepEqual(clients, [...new Set(tot.map((s) => s.labels.client))].sort(), '/api/v1/label/client/values');
	const kinds = await promApiData(srv, '/api/v1/label/span_kind/values', { 'match[]': 'traces_spanmetrics_calls_total', ...range });
	assert.deepEqual(kinds, [...new Set(byName(S.seriesMeasured, 'traces_spanmetrics_calls_total').map((x) => x.labels.span_kind))].sort());
	assert.equal(kinds.length, 6, 'every span kind, UNSPECIFIED too');
});
const tsParamS = (ms) => String(Math.floor(ms / 1000));

test('Prometheus: a 7d window: exact instant counts; rate over 7d as Prometheus computes it from the samples', T30, async (t) => {
	const T = await promReady();
	const diffs = [];
	const R = 7 * 86400000;
	const tot = byName(S.seriesMeasured, 'traces_service_graph_request_total');
	// the samples obstui materialises for a 7d range: per minute, or per hour (allowed for ranges >= 6h)
	const raw = await promQuery(srv, 'traces_service_graph_request_total[7d]', T);
	let grain = null;
	for (const g of [60000, 3600000]) {
		const exp = new Map(tot.map((s) => [s, { labels: s.labels, samples: samplesOf(s, T, { grain: g }) }]));
		if (!diffMatrix('x', raw, exp).length) grain = g;
	}
	if (grain === null) {
		diffs.push('traces_service_graph_request_total[7d]: the samples are neither the per-minute nor the per-hour form of the contract');
		for (const [g, what] of [[3600000, 'per hour'], [60000, 'per minute']]) {
			const exp = new Map(tot.map((s) => [s, { labels: s.labels, samples: samplesOf(s, T, { grain: g }) }]));
			diffs.push(...diffMatrix(`traces_service_graph_request_total[7d] (${what})`, raw, exp).slice(0, 4));
		}
		grain = 3600000;
	}
	t.diagnostic(`the [7d] samples are the per-${grain === 60000 ? 'minute' : 'hour'} form`);
	diffs.push(...await runCases(srv, [sevenDayCase(S.seriesMeasured, T, grain)], T));
	const ratios = [];
	for (const s of tot) {
		const c = instantValue(s, T);
		assert.equal(c, s.events.length, `instant value of ${JSON.stringify(s.labels)} in the model`);
		const r = extrapolatedRate(samplesOf(s, T, { grain }), T, R);
		if (r !== undefined) ratios.push(r / (c / (R / 1000)));
	}
	// what the math gives against count/7d (the sampled interval is extrapolated over)
	t.diagnostic(`rate over 7d / (count/7d): ${Math.min(...ratios).toFixed(3)} .. ${Math.max(...ratios).toFixed(3)}`);
	const inst = new Map(tot.map((s) => [s, { labels: { client: s.labels.client, server: s.labels.server }, value: s.events.length }]));
	const iq = 'sum by (client, server) (traces_service_graph_request_total)';
	diffs.push(...diffVector(iq, await promQuery(srv, iq, T), inst, { rel: 0 }));
	assert.deepEqual(diffs, [], report(diffs));
});

test('virtual edges: the side no span measured is null in the API and observed as 0 in the histograms (as Tempo)', T30, async () => {
	const T = await promReady();
	const diffs = [];
	const g = await serviceGraphApi(srv, S.start, S.end);
	for (const { edge, side } of S.missing) {
		const k = edgeKey(edge.client, edge.server, edge.connectionType);
		const got = g.edges.find((x) => edgeKey(x.client, x.server, x.connectionType) === k);
		if (!got) { diffs.push(`edge ${k} missing`); continue; }
		const fields = side === 'server' ? ['p50Ms', 'p95Ms'] : ['clientP95Ms'];
		for (const f of fields)
			if (got[f] !== null) diffs.push(`API edge ${edge.client} -> ${edge.server}: ${f} want null (no ${side} span), got ${got[f]}`);
		if (side === 'server' && ![...S.g.edges.values()].some((x) => x.server === edge.server && x.events.some((ev) => ev.serverSec !== null))) {
			const nd = g.nodes.find((x) => x.id === edge.server);
			if (nd && (nd.p50Ms !== null || nd.p95Ms !== null))
				diffs.push(`API node ${edge.server}: p50Ms/p95Ms want null (nothing measured into it), got ${nd.p50Ms}/${nd.p95Ms}`);
		}
	}
	for (const suffix of ['count', 'sum', 'bucket']) {
		for (const side of ['server', 'client']) {
			const name = `traces_service_graph_request_${side}_seconds_${suffix}`;
			const want = new Map(byName(S.seriesTempo, name).filter((s) => isMissingSide(s.labels))
				.map((s) => [s, { labels: s.labels, value: instantValue(s, T) }]));
			diffs.push(...diffVector(`${name} (virtual edges' ${side} side)`, await promQuery(srv, name, T), want,
				{ rel: 1e-9, ignore: (l) => !isMissingSide(l) }));
		}
	}
	assert.deepEqual(diffs, [], report(diffs));
});

// Not a test of obstui: the model's answers (sgmodel.mjs, sgqueries.mjs) are
// what a real Prometheus computes over the contract's samples, so a
// disagreement above is obstui's, not the test's arithmetic.
test('the expectations themselves: Prometheus 2.42 over the contract\'s samples answers what the model says',
	{ timeout: 60000, skip: !existsSync(PROMETHEUS_BIN) && `no Prometheus at ${PROMETHEUS_BIN}` }, async () => {
		need();
		const T = S.T ?? Date.now() - 500;
		const series = S.seriesTempo ?? promSeries(S.g, S.m);
		const prom = await startPrometheus();
		try {
			const r = await sendWrite(`${prom.url}/api/v1/write`, { series: series.map((x) => ({ labels: x.labels, samples: samplesOf(x, T) })) });
			assert.ok(r.status >= 200 && r.status < 300, `remote write to Prometheus: ${r.status} ${r.body.toString().slice(0, 300)}`);
			const target = { api: prom.url };
			const diffs = [];
			for (const name of NAMES) {
				const exp = new Map(byName(series, name).map((x) => [x, { labels: x.labels, value: instantValue(x, T) }]));
				diffs.push(...diffVector(`${name} (Prometheus)`, await promQuery(target, name, T), exp, { rel: 1e-9 }));
			}
			diffs.push(...await runCases(target, serviceMapCases(series, T), T));
			diffs.push(...await runCases(target, serviceTableCases(series, T).cases, T));
			diffs.push(...await runCases(target, [sevenDayCase(series, T, 60000)], T));
			diffs.push(...await runRangeCases(target, series, T));
			assert.deepEqual(diffs, [], `the test's arithmetic disagrees with Prometheus: ${report(diffs)}`);
		} finally {
			await prom.stop();
		}
	});

test('serve exits cleanly after all that (status 0, no sanitizer report)', T30, async () => {
	const st = await srv.stop();
	assert.deepEqual([st.code, st.signal], [0, null], `obstui serve: ${srv.stderr().slice(-2000)}`);
	assert.doesNotMatch(srv.stderr(), /runtime error|AddressSanitizer|LeakSanitizer|ThreadSanitizer/, srv.stderr().slice(-3000));
});
