// TraceQL metrics on /api/metrics/query_range and /api/metrics/query, TraceQL
// pipelines on /api/search, and Tempo's /api/status/buildinfo, against the
// real binary.  120 traces with known start times and durations are sent as
// OTLP/JSON, half of them sealed into a block before the rest arrive (so both
// the head and the blocks are scanned); every expected number is computed
// here from the spans the test sent: counts and rates per step with Tempo's
// steps (the sample at T counts spans that started in (T - step, T]),
// averages, exact quantiles (linear between the nearest ranks) and
// power-of-two histogram buckets.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, request, waitFor } from './lib/obstui.mjs';
import { mustSend, traceId, spanId, died } from './lib/traces.mjs';

const S = 1000000000n;
const MSN = 1000000n;
const STEP = 60;
// a minute boundary half an hour ago: the range is [B, B + 300 s]
const B = Math.floor(Date.now() / 1000 / 60) * 60 - 1800;
const SERVICES = ['api', 'db', 'web'];

let seed = 42;
const rnd = (n) => { seed = (seed * 1103515245 + 12345) % 2147483648; return Math.floor((seed / 2147483648) * n); };

// spans: {tid, svc, name, startNs (BigInt), durNs (BigInt), code, error}
const spans = [];
function makeTrace(i) {
	const tid = traceId();
	// starts from B - 40 s to B + 340 s, so some fall outside the range
	const base = BigInt(B - 40) * S + BigInt(rnd(380000)) * MSN;
	const list = [];
	for (let k = 0; k < 3; k++) {
		let startNs = base + BigInt(k * rnd(2000)) * MSN;
		if (i === 0 && k === 0) startNs = BigInt(B + 60) * S;          // exactly on a step: counts at B + 60
		if (i === 1 && k === 0) startNs = BigInt(B + 60) * S + 1n;     // one ns later: counts at B + 120
		list.push({
			tid, id: spanId(), svc: SERVICES[(i + (k ? 1 : 0)) % 3], name: k ? 'child' : 'root',
			startNs, durNs: BigInt(1 + rnd(900)) * MSN + BigInt(rnd(1000)) * 1000n,
			code: [200, 200, 404, 500][rnd(4)], error: rnd(5) === 0,
		});
	}
	spans.push(...list);
	const byRes = new Map();
	for (const [k, s] of list.entries()) {
		if (!byRes.has(s.svc)) {
			byRes.set(s.svc, {
				resource: { attributes: [{ key: 'service.name', value: { stringValue: s.svc } }] },
				scopeSpans: [{ scope: { name: 'tql-it', version: '1.0' }, spans: [] }],
			});
		}
		byRes.get(s.svc).scopeSpans[0].spans.push({
			traceId: tid, spanId: s.id, parentSpanId: k ? list[0].id : '', name: s.name, kind: 2,
			startTimeUnixNano: s.startNs.toString(), endTimeUnixNano: (s.startNs + s.durNs).toString(),
			attributes: [{ key: 'http.status_code', value: { intValue: String(s.code) } }],
			status: s.error ? { code: 2, message: 'boom' } : {},
		});
	}
	return { resourceSpans: [...byRes.values()] };
}

let srv;
before(async () => {
	srv = await startServe({ args: ['--seal-idle', '1s'] });
	const first = [];
	for (let i = 0; i < 60; i++) first.push(makeTrace(i));
	await mustSend(srv, { resourceSpans: first.flatMap((r) => r.resourceSpans) });
	// wait for a sealed block so that the second half lands in the head
	await waitFor('a sealed block', async () => {
		const r = await request(`${srv.api}/metrics`);
		const m = /^obstui_store_blocks (\d+)/m.exec(r.body.toString());
		return m && Number(m[1]) > 0;
	}, { timeout: 20000 });
	const second = [];
	for (let i = 60; i < 120; i++) second.push(makeTrace(i));
	await mustSend(srv, { resourceSpans: second.flatMap((r) => r.resourceSpans) }, { encoding: 'proto' });
});
after(async () => { await srv?.stop(); });

// The sample index of a span start for [B, B + 300] by STEP, or -1.
function pointOf(ns) {
	const first = BigInt(B) * S, last = BigInt(B + 300) * S, step = BigInt(STEP) * S;
	if (ns + step <= first || ns > last) return -1;
	if (ns <= first) return 0;
	return Number((ns - first + step - 1n) / step);
}
const NPOINTS = 6;
const TIMES = Array.from({ length: NPOINTS }, (_, k) => String((B + k * STEP) * 1000));

async function metrics(path, params, status = 200) {
	const qs = new URLSearchParams(params).toString();
	const r = await died(srv, request(`${srv.api}${path}?${qs}`));
	assert.equal(r.status, status, `GET ${path}?${qs}: ${r.status} ${r.body.toString().slice(0, 400)}`);
	return status === 200 ? JSON.parse(r.body.toString()) : r.body.toString();
}
const range = (q, extra = {}, status = 200) => metrics('/api/metrics/query_range',
	{ q, start: String(B), end: String(B + 300), step: `${STEP}s`, ...extra }, status);

// label value of a series, whatever its type
const labelOf = (s, key) => {
	const l = s.labels.find((x) => x.key === key);
	if (!l) return undefined;
	const v = l.value;
	return v.stringValue ?? v.intValue ?? v.doubleValue ?? v.boolValue;
};
// samples as an array of NPOINTS values (null where there is none)
function valuesOf(s) {
	const out = new Array(NPOINTS).fill(null);
	for (const p of s.samples) {
		const k = TIMES.indexOf(String(p.timestampMs));
		assert.ok(k >= 0, `unexpected timestamp ${p.timestampMs} (want one of ${TIMES})`);
		assert.equal(typeof p.timestampMs, 'string', 'timestampMs is an int64 in protobuf JSON: a string');
		out[k] = p.value;
	}
	return out;
}
const near = (got, want, what) => assert.ok(Math.abs(got - want) <= 1e-9 * Math.max(1, Math.abs(want)),
	`${what}: got ${got}, want ${want}`);

test('rate() by (resource.service.name): spans per second per step', { timeout: 30000 }, async () => {
	const j = await range('{ } | rate() by (resource.service.name)');
	assert.equal(j.series.length, 3);
	for (const svc of SERVICES) {
		const want = new Array(NPOINTS).fill(0);
		for (const s of spans) if (s.svc === svc && pointOf(s.startNs) >= 0) want[pointOf(s.startNs)]++;
		const ser = j.series.find((x) => labelOf(x, 'resource.service.name') === svc);
		assert.ok(ser, `no series for ${svc}: ${JSON.stringify(j.series.map((x) => x.promLabels))}`);
		assert.equal(ser.promLabels, `{resource.service.name="${svc}"}`);
		const got = valuesOf(ser);
		for (let k = 0; k < NPOINTS; k++) near(got[k], want[k] / STEP, `${svc} at ${TIMES[k]}`);
	}
	assert.equal(typeof j.metrics.inspectedTraces, 'number');
	assert.ok(j.metrics.inspectedTraces > 0);
});

test('count_over_time by an int attribute, and the step boundary', { timeout: 30000 }, async () => {
	const j = await range('{ } | count_over_time() by (span.http.status_code)');
	for (const code of [200, 404, 500]) {
		const want = new Array(NPOINTS).fill(0);
		for (const s of spans) if (s.code === code && pointOf(s.startNs) >= 0) want[pointOf(s.startNs)]++;
		const ser = j.series.find((x) => labelOf(x, 'span.http.status_code') === String(code));
		assert.ok(ser, `no series for ${code}`);
		assert.deepEqual(valuesOf(ser), want, `count_over_time for ${code}`);
	}
	// the span at exactly B + 60 s is in the sample at B + 60 s, the one a ns later at B + 120 s
	const all = await range('{ name = "root" } | count_over_time()');
	// the data spreads over the whole range (a broken generator once put it all in one step)
	assert.ok(all.series[0].samples.filter((p) => p.value > 5).length >= 5, JSON.stringify(all.series[0].samples));
	assert.equal(all.series.length, 1);
	assert.equal(all.series[0].promLabels, '{__name__="count_over_time"}');
	const want = new Array(NPOINTS).fill(0);
	for (const s of spans) if (s.name === 'root' && pointOf(s.startNs) >= 0) want[pointOf(s.startNs)]++;
	assert.deepEqual(valuesOf(all.series[0]), want);
	// a structural query counts the children of api roots, whatever their service
	const kids = await range('{ resource.service.name = "api" && name = "root" } > { } | count_over_time()');
	const wantKids = new Array(NPOINTS).fill(0);
	const rootSvc = new Map(spans.filter((s) => s.name === 'root').map((s) => [s.tid, s.svc]));
	for (const s of spans) if (s.name === 'child' && rootSvc.get(s.tid) === 'api' && pointOf(s.startNs) >= 0) wantKids[pointOf(s.startNs)]++;
	assert.deepEqual(valuesOf(kids.series[0]), wantKids);
	assert.ok(wantKids.some((v) => v > 0));
	assert.equal(pointOf(BigInt(B + 60) * S), 1);
	assert.equal(pointOf(BigInt(B + 60) * S + 1n), 2);
});

test('avg/min/max/sum_over_time and errors only', { timeout: 30000 }, async () => {
	const j = await range('{ status = error } | avg_over_time(duration) by (resource.service.name)');
	for (const svc of SERVICES) {
		const sum = new Array(NPOINTS).fill(0), n = new Array(NPOINTS).fill(0);
		for (const s of spans) {
			const k = pointOf(s.startNs);
			if (s.svc !== svc || !s.error || k < 0) continue;
			sum[k] += Number(s.durNs) / 1e9;
			n[k]++;
		}
		const ser = j.series.find((x) => labelOf(x, 'resource.service.name') === svc);
		if (n.every((c) => c === 0)) { assert.equal(ser, undefined); continue; }
		const got = valuesOf(ser);
		for (let k = 0; k < NPOINTS; k++) {
			if (n[k] === 0) assert.equal(got[k], null, `no sample where no error span started (${svc}, ${k})`);
			else near(got[k], sum[k] / n[k], `avg ${svc} at ${k}`);
		}
	}
	const mx = await range('{ } | max_over_time(span.http.status_code)');
	const want = new Array(NPOINTS).fill(null);
	for (const s of spans) { const k = pointOf(s.startNs); if (k >= 0) want[k] = Math.max(want[k] ?? 0, s.code); }
	assert.deepEqual(valuesOf(mx.series[0]), want);
	const sm = await range('{ resource.service.name = "db" } | sum_over_time(span.http.status_code)');
	const wsum = new Array(NPOINTS).fill(null);
	for (const s of spans) { const k = pointOf(s.startNs); if (k >= 0 && s.svc === 'db') wsum[k] = (wsum[k] ?? 0) + s.code; }
	assert.deepEqual(valuesOf(sm.series[0]), wsum);
	// a filter naming a service reads only traces with that service (a third have none)
	const everything = await range('{ } | max_over_time(duration)');
	assert.ok(sm.metrics.inspectedTraces < everything.metrics.inspectedTraces,
		`db: ${sm.metrics.inspectedTraces} traces read, all: ${everything.metrics.inspectedTraces}`);
	// counting every span reads only the head (the rollups count the sealed spans), the
	// same answer
	const counted = await range('{ } | count_over_time()');
	const scanned = await range('{ duration >= 0 } | count_over_time()');
	assert.ok(counted.metrics.inspectedTraces < scanned.metrics.inspectedTraces,
		`counted ${counted.metrics.inspectedTraces}, scanned ${scanned.metrics.inspectedTraces}`);
	assert.deepEqual(valuesOf(counted.series[0]), valuesOf(scanned.series[0]));
	// the same for filters and by() on what the rollups key spans by (service, name,
	// kind, status), against a filter that must read spans (duration)
	for (const [rows, spansq] of [
		['{ status = error } | rate() by (resource.service.name)',
		 '{ status = error && duration >= 0 } | rate() by (resource.service.name)'],
		['{ resource.service.name = "api" && name != "child" } | count_over_time() by (kind, status)',
		 '{ resource.service.name = "api" && name != "child" && duration >= 0 } | count_over_time() by (kind, status)'],
		['{ !(kind = server) || status = error } | count_over_time() by (name)',
		 '{ (!(kind = server) || status = error) && duration >= 0 } | count_over_time() by (name)'],
	]) {
		const a = await range(rows), b = await range(spansq);
		assert.ok(a.metrics.inspectedTraces < b.metrics.inspectedTraces, rows);
		assert.ok(b.series.length > 0, spansq);
		assert.deepEqual(a.series.map((x) => x.promLabels), b.series.map((x) => x.promLabels), rows);
		for (let i = 0; i < a.series.length; i++)
			assert.deepEqual(valuesOf(a.series[i]), valuesOf(b.series[i]), `${rows} ${a.series[i].promLabels}`);
	}
});

test('quantile_over_time(duration, .5, .9, .99): one series per p, exact', { timeout: 30000 }, async () => {
	const j = await range('{ } | quantile_over_time(duration, .5, .9, .99)');
	const vals = Array.from({ length: NPOINTS }, () => []);
	for (const s of spans) { const k = pointOf(s.startNs); if (k >= 0) vals[k].push(Number(s.durNs) / 1e9); }
	vals.forEach((v) => v.sort((a, b) => a - b));
	for (const p of [0.5, 0.9, 0.99]) {
		const ser = j.series.find((x) => labelOf(x, 'p') === p);
		assert.ok(ser, `no series with p=${p}: ${j.series.map((x) => x.promLabels)}`);
		assert.equal(ser.promLabels, `{p="${p}"}`);
		const got = valuesOf(ser);
		for (let k = 0; k < NPOINTS; k++) {
			const v = vals[k];
			if (v.length === 0) { assert.equal(got[k], null); continue; }
			const rank = p * (v.length - 1), lo = Math.floor(rank);
			const want = lo + 1 < v.length ? v[lo] + (v[lo + 1] - v[lo]) * (rank - lo) : v[v.length - 1];
			near(got[k], want, `p${p} at ${k}`);
		}
	}
});

test('histogram_over_time(duration): power-of-two buckets in seconds', { timeout: 30000 }, async () => {
	const j = await range('{ } | histogram_over_time(duration)');
	const want = new Map();
	for (const s of spans) {
		const k = pointOf(s.startNs);
		if (k < 0) continue;
		let b = 1n;
		while (b < s.durNs) b <<= 1n;
		const key = Number(b) / 1e9;
		if (!want.has(key)) want.set(key, new Array(NPOINTS).fill(0));
		want.get(key)[k]++;
	}
	assert.equal(j.series.length, want.size);
	for (const [bound, counts] of want) {
		const ser = j.series.find((x) => labelOf(x, '__bucket') === bound);
		assert.ok(ser, `no bucket ${bound}: ${j.series.map((x) => x.promLabels)}`);
		assert.deepEqual(valuesOf(ser), counts, `bucket ${bound}`);
	}
});

test('topk and bottomk keep the series of highest and lowest mean', { timeout: 30000 }, async () => {
	const mean = new Map(SERVICES.map((svc) => [svc, 0]));
	for (const s of spans) if (pointOf(s.startNs) >= 0) mean.set(s.svc, mean.get(s.svc) + 1);
	// compared by count, so that services with equal counts may stand for each other
	const counts = [...mean.values()].sort((a, b) => b - a);
	const top = await range('{ } | rate() by (resource.service.name) | topk(2)');
	assert.deepEqual(top.series.map((x) => mean.get(labelOf(x, 'resource.service.name'))), counts.slice(0, 2));
	const bottom = await range('{ } | rate() by (resource.service.name) | bottomk(1)');
	assert.deepEqual(bottom.series.map((x) => mean.get(labelOf(x, 'resource.service.name'))), [counts[2]]);
});

test('/api/metrics/query: one value over [start, end]', { timeout: 30000 }, async () => {
	const j = await metrics('/api/metrics/query', { q: '{ } | count_over_time() by (resource.service.name)', start: String(B), end: String(B + 300) });
	for (const svc of SERVICES) {
		const want = spans.filter((s) => s.svc === svc && s.startNs >= BigInt(B) * S && s.startNs <= BigInt(B + 300) * S).length;
		const ser = j.series.find((x) => labelOf(x, 'resource.service.name') === svc);
		assert.ok(ser, `no series for ${svc}: ${JSON.stringify(j)}`);
		assert.equal(ser.value, want, svc);
	}
	const r = await metrics('/api/metrics/query', { query: '{ } | rate()', start: String(B), end: String(B + 300) });
	const all = spans.filter((s) => s.startNs >= BigInt(B) * S && s.startNs <= BigInt(B + 300) * S).length;
	near(r.series[0].value, all / 300, 'rate over 300 s');
	assert.equal(r.series[0].promLabels, '{__name__="rate"}');
	// start and end in nanoseconds mean the same
	const ns = await metrics('/api/metrics/query', { q: '{ } | rate()', start: `${B}000000000`, end: `${B + 300}000000000` });
	near(ns.series[0].value, all / 300, 'rate with ns bounds');
});

test('bad or unsupported metrics queries are a 400 naming the problem', { timeout: 30000 }, async () => {
	const cases = [
		['{ } | compare({ status = error })', /compare\(\)/],
		['{ }', /not a metrics query/],
		['{ } | rate() | count() > 1', /topk\(n\) or bottomk\(n\)/],
		['{ } | quantile_over_time(duration, 1.5)', /between 0 and 1/],
		['{ parent.x = 1 } | rate()', /parent\./],
		['{ name = } | rate()', /syntax error/],
	];
	for (const [q, re] of cases) assert.match(await range(q, {}, 400), re, q);
	assert.match(await range('{ } | rate()', { step: 'soon' }, 400), /step/);
	assert.match(await range('{ } | rate()', { start: String(B + 300), end: String(B) }, 400), /end must be after start/);
	assert.match(await range('{ } | rate()', { step: '1ms' }, 400), /steps/);
	// and a metrics query is not a search
	const r = await request(`${srv.api}/api/search?${new URLSearchParams({ q: '{ } | rate()' })}`);
	assert.equal(r.status, 400);
	assert.match(r.body.toString(), /metrics/);
});

async function search(q, extra = {}) {
	const qs = new URLSearchParams({ q, limit: '500', start: String(B - 100), end: String(B + 400), ...extra }).toString();
	const r = await died(srv, request(`${srv.api}/api/search?${qs}`));
	assert.equal(r.status, 200, `GET /api/search?${qs}: ${r.status} ${r.body.toString().slice(0, 300)}`);
	return JSON.parse(r.body.toString()).traces;
}
const byTrace = () => {
	const m = new Map();
	for (const s of spans) { if (!m.has(s.tid)) m.set(s.tid, []); m.get(s.tid).push(s); }
	return m;
};
const norm = (id) => String(id).toLowerCase().padStart(32, '0');

test('search pipelines: aggregates, by(), select() and coalesce()', { timeout: 30000 }, async () => {
	const traces = byTrace();
	// count() over each trace's spans of status 500
	const want500 = [...traces].filter(([, l]) => l.filter((s) => s.code === 500).length >= 2).map(([t]) => t);
	const got500 = await search('{ span.http.status_code = 500 } | count() >= 2');
	assert.deepEqual(new Set(got500.map((t) => norm(t.traceID))), new Set(want500));
	for (const t of got500) {
		const n = traces.get(norm(t.traceID)).filter((s) => s.code === 500).length;
		assert.equal(t.spanSet.matched, n);
		assert.deepEqual(t.spanSet.attributes, [{ key: 'count()', value: { intValue: String(n) } }]);
		// as Tempo, the spans show the attributes the query tested
		for (const sp of t.spanSet.spans)
			assert.deepEqual(sp.attributes.find((a) => a.key === 'http.status_code'), { key: 'http.status_code', value: { intValue: '500' } });
	}
	// avg(duration) > 450ms over the whole trace
	const wantAvg = [...traces].filter(([, l]) => l.reduce((a, s) => a + Number(s.durNs), 0) / l.length > 450e6).map(([t]) => t);
	const gotAvg = await search('{ } | avg(duration) > 450ms');
	assert.deepEqual(new Set(gotAvg.map((t) => norm(t.traceID))), new Set(wantAvg));
	// by(): one spanset per service, named by its value
	const gotBy = await search('{ } | by(resource.service.name)', { spss: '10' });
	assert.equal(gotBy.length, traces.size);
	for (const t of gotBy) {
		const l = traces.get(norm(t.traceID));
		const svcs = new Set(l.map((s) => s.svc));
		assert.equal(t.spanSets.length, svcs.size, `spansets of ${t.traceID}`);
		for (const set of t.spanSets) {
			const svc = set.attributes.find((a) => a.key === 'by(resource.service.name)').value.stringValue;
			assert.equal(set.matched, l.filter((s) => s.svc === svc).length);
			assert.deepEqual(new Set(set.spans.map((x) => x.spanID)), new Set(l.filter((s) => s.svc === svc).map((s) => s.id)));
		}
		assert.deepEqual(t.spanSet, t.spanSets[0]);
	}
	const coalesced = await search('{ } | by(resource.service.name) | coalesce()');
	for (const t of coalesced) assert.equal(t.spanSets.length, 1);
	// select(): the attribute shows on the spans
	const sel = await search('{ name = "root" && span.http.status_code > 0 } | select(span.http.status_code)');
	assert.ok(sel.length > 0);
	for (const t of sel) {
		const root = traces.get(norm(t.traceID)).find((s) => s.name === 'root');
		const sp = t.spanSet.spans[0];
		assert.equal(sp.spanID, root.id);
		assert.deepEqual(sp.attributes.filter((a) => a.key === 'http.status_code'), [{ key: 'http.status_code', value: { intValue: String(root.code) } }]);
	}
	// arithmetic and the new intrinsics narrow as the data says
	const slow = await search('{ duration / 2 > 440ms }');
	const wantSlow = [...traces].filter(([, l]) => l.some((s) => s.durNs > 880000000n)).map(([t]) => t);
	assert.deepEqual(new Set(slow.map((t) => norm(t.traceID))), new Set(wantSlow));
	const scoped = await search('{ instrumentation:name = "tql-it" && instrumentation:version = "1.0" && span:parentID = "" }');
	assert.equal(scoped.length, traces.size);
});

test('/api/status/buildinfo reads as a current Tempo', { timeout: 10000 }, async () => {
	const r = await request(`${srv.api}/api/status/buildinfo`);
	assert.equal(r.status, 200);
	const j = JSON.parse(r.body.toString());
	for (const k of ['version', 'revision', 'branch', 'buildDate', 'goVersion']) assert.equal(typeof j[k], 'string', k);
	const [major, minor] = j.version.replace(/^v/, '').split('.').map(Number);
	assert.ok(major === 2 && minor >= 4, `version ${j.version}: Grafana turns TraceQL metrics on from Tempo 2.4`);
});
