// Search and tags: TraceQL (q=) and the older tags= form over traces with
// known services, names, durations and errors; time windows, limit and
// newest-first order; tag names and values; and sealing: a sealed trace is
// still served and searchable, and spans that arrive later join it.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { spawnSync } from 'node:child_process';
import { startServe, request, getJson, cli, describeCli, waitFor, tempDir } from './lib/obstui.mjs';
import { mustSend, assertTrace, traceId, spanId, fetchV2, died } from './lib/traces.mjs';
import { spanMap, mergeMaps, decodeTraces } from './lib/otlp.mjs';

const NOW_S = Math.floor(Date.now() / 1000);
const MS = 1000000n;
const atNs = (secondsAgo, plusMs = 0) => BigInt(NOW_S - secondsAgo) * 1000000000n + BigInt(Math.round(plusMs * 1000)) * 1000n;

// A trace from a list of spans: {svc, name, parent (index), off (ms), dur (ms), kind, status, msg, attrs, res}
function build(startNs, spans, tid = traceId()) {
	const ids = spans.map(() => spanId());
	const byRes = new Map();
	spans.forEach((s, i) => {
		const key = s.svc + JSON.stringify(s.res ?? {});
		if (!byRes.has(key)) {
			byRes.set(key, {
				resource: {
					attributes: [{ key: 'service.name', value: { stringValue: s.svc } },
						...Object.entries(s.res ?? {}).map(([k, v]) => ({ key: k, value: { stringValue: v } }))],
				},
				scopeSpans: [{ scope: { name: 'search-it' }, spans: [] }],
			});
		}
		const st = startNs + BigInt(Math.round((s.off ?? 0) * 1000)) * 1000n;
		byRes.get(key).scopeSpans[0].spans.push({
			traceId: tid, spanId: ids[i], parentSpanId: s.parent === undefined ? '' : ids[s.parent],
			name: s.name, kind: s.kind ?? 1,
			startTimeUnixNano: st.toString(), endTimeUnixNano: (st + BigInt(Math.round(s.dur * 1000)) * 1000n).toString(),
			attributes: Object.entries(s.attrs ?? {}).map(([k, v]) => ({
				key: k, value: typeof v === 'number' ? { intValue: String(v) } : { stringValue: v },
			})),
			status: s.status ? { code: s.status, message: s.msg ?? '' } : {},
		});
	});
	const req = { resourceSpans: [...byRes.values()] };
	const durMs = Math.max(...spans.map((s) => (s.off ?? 0) + s.dur)) - Math.min(...spans.map((s) => s.off ?? 0));
	return { tid, req, startNs, durMs, rootSvc: spans[0].svc, rootName: spans[0].name };
}

let srv;
const T = {};
before(async () => {
	srv = await startServe();
	T.old = build(atNs(7200), [{ svc: 'legacy', name: 'GET /old', dur: 50, kind: 2 }]);
	T.front1 = build(atNs(600), [
		{ svc: 'frontend', name: 'GET /cart', dur: 800, kind: 2 },
		{ svc: 'checkout', name: 'checkout.process', parent: 0, off: 10, dur: 600, kind: 2 },
		{ svc: 'payments', name: 'charge', parent: 1, off: 20, dur: 300, kind: 3, status: 2, msg: 'card declined' },
	]);
	T.front2 = build(atNs(540), [
		{ svc: 'frontend', name: 'GET /cart', dur: 120, kind: 2, status: 1 },
		{ svc: 'frontend', name: 'cache.get', parent: 0, off: 1, dur: 5 },
	]);
	T.front3 = build(atNs(480), [
		{ svc: 'frontend', name: 'GET /home', dur: 30, kind: 2, attrs: { 'customer.tier': 'gold', 'http.status_code': 200 } },
	]);
	T.checkout = build(atNs(420), [
		{ svc: 'checkout', name: 'checkout.process', dur: 2500, kind: 2, res: { 'deployment.environment': 'prod' } },
	]);
	T.deep = build(atNs(360), [
		{ svc: 'frontend', name: 'GET /deep', dur: 300, kind: 2 },
		{ svc: 'gateway', name: 'mid', parent: 0, off: 5, dur: 200 },
		{ svc: 'checkout', name: 'leaf', parent: 1, off: 10, dur: 100, kind: 2 },
	]);
	for (const [i, t] of Object.values(T).entries()) await mustSend(srv, t.req, { encoding: i % 2 ? 'json' : 'proto' });
	// 25 traces of one service, a second apart, for the default limit
	T.many = [];
	for (let i = 0; i < 25; i++) {
		const t = build(atNs(300 - i), [{ svc: 'many', name: `op ${i}`, dur: 1 }]);
		T.many.push(t);
	}
	await mustSend(srv, { resourceSpans: T.many.flatMap((t) => t.req.resourceSpans) }, { encoding: 'proto' });
});

const norm = (id) => String(id).toLowerCase().padStart(32, '0');

async function search(params) {
	const qs = new URLSearchParams(params).toString();
	const r = await died(srv, request(`${srv.api}/api/search?${qs}`));
	assert.equal(r.status, 200, `GET /api/search?${qs}: ${r.status} ${r.body.toString().slice(0, 300)}`);
	const j = JSON.parse(r.body.toString());
	assert.ok(Array.isArray(j.traces), `GET /api/search?${qs}: no "traces" array: ${r.body.toString().slice(0, 300)}`);
	return { list: j.traces, ids: j.traces.map((x) => norm(x.traceID)), json: j, qs };
}

async function expectQuery(q, want, extra = {}) {
	const { ids, qs } = await search({ q, limit: '100', ...extra });
	const wantIds = want.map((t) => t.tid);
	assert.deepEqual(new Set(ids), new Set(wantIds),
		`GET /api/search?${qs} (${q}): got ${ids.length} [${ids.map(nameOf).join(', ')}], want [${want.map((t) => nameOf(t.tid)).join(', ')}]`);
	assert.equal(ids.length, new Set(ids).size, `GET /api/search?${qs}: duplicate traces`);
}
function nameOf(id) {
	for (const [k, v] of Object.entries(T)) {
		if (Array.isArray(v)) { const i = v.findIndex((t) => t.tid === id); if (i >= 0) return `${k}[${i}]`; } else if (v.tid === id) return k;
	}
	return id;
}

test('TraceQL by service, name, unscoped attribute, status, kind', { timeout: 30000 }, async () => {
	await expectQuery('{ resource.service.name = "checkout" }', [T.front1, T.checkout, T.deep]);
	await expectQuery('{ .service.name = "payments" }', [T.front1]);
	await expectQuery('{ name = "GET /cart" }', [T.front1, T.front2]);
	await expectQuery('{ status = error }', [T.front1]);
	await expectQuery('{ status = ok }', [T.front2]);
	await expectQuery('{ kind = client }', [T.front1]);
	await expectQuery('{ span.customer.tier = "gold" }', [T.front3]);
	await expectQuery('{ .customer.tier = "gold" }', [T.front3]);
	await expectQuery('{ span.http.status_code = 200 }', [T.front3]);
	await expectQuery('{ span.http.status_code >= 200 && span.http.status_code < 300 }', [T.front3]);
	await expectQuery('{ resource.deployment.environment = "prod" }', [T.checkout]);
	await expectQuery('{ resource.service.name != "frontend" && resource.service.name != "many" }', [T.old, T.front1, T.checkout, T.deep]);
	await expectQuery('{ status = error || name = "GET /home" }', [T.front1, T.front3]);
	await expectQuery('{ resource.service.name = "frontend" && status = error }', []);
	await expectQuery('{ resource.service.name = "nobody" }', []);
});

test('TraceQL durations and trace intrinsics', { timeout: 30000 }, async () => {
	await expectQuery('{ duration > 1s }', [T.checkout]);
	await expectQuery('{ duration >= 700ms && resource.service.name = "frontend" }', [T.front1]);
	await expectQuery('{ duration < 10ms && resource.service.name != "many" }', [T.front2]);
	await expectQuery('{ rootServiceName = "checkout" }', [T.checkout]);
	await expectQuery('{ rootName = "GET /cart" }', [T.front1, T.front2]);
	await expectQuery('{ traceDuration > 700ms }', [T.front1, T.checkout]);
});

test('TraceQL regular expressions are fully anchored', { timeout: 30000 }, async () => {
	await expectQuery('{ name =~ "GET /.*" }', [T.old, T.front1, T.front2, T.front3, T.deep]);
	await expectQuery('{ name =~ "ET /cart" }', []);
	await expectQuery('{ name =~ "GET" }', []);
	await expectQuery('{ name =~ "GET /(cart|home)" }', [T.front1, T.front2, T.front3]);
	await expectQuery('{ name !~ "GET.*" && resource.service.name != "many" }', [T.front1, T.front2, T.checkout, T.deep]);
});

test('TraceQL structural operators > and >>', { timeout: 30000 }, async () => {
	await expectQuery('{ resource.service.name = "frontend" } > { resource.service.name = "checkout" }', [T.front1]);
	await expectQuery('{ resource.service.name = "frontend" } >> { resource.service.name = "checkout" }', [T.front1, T.deep]);
	await expectQuery('{ name = "GET /cart" } > { status = error }', []);
	await expectQuery('{ name = "GET /cart" } >> { status = error }', [T.front1]);
	await expectQuery('{ name = "mid" } > { name = "leaf" }', [T.deep]);
	await expectQuery('{ name = "leaf" } > { name = "mid" }', []);
});

test('search results carry Tempo\'s fields, newest first', { timeout: 30000 }, async () => {
	const { list, ids } = await search({ q: '{ resource.service.name = "checkout" }' });
	assert.deepEqual(ids, [T.deep.tid, T.checkout.tid, T.front1.tid], 'newest first');
	for (const x of list) {
		const t = [T.deep, T.checkout, T.front1].find((y) => y.tid === norm(x.traceID));
		const what = `search result for ${nameOf(t.tid)}: ${JSON.stringify(x)}`;
		assert.equal(x.rootServiceName, t.rootSvc, what);
		assert.equal(x.rootTraceName, t.rootName, what);
		assert.equal(typeof x.startTimeUnixNano, 'string', `${what}: startTimeUnixNano must be a string`);
		assert.equal(x.startTimeUnixNano, t.startNs.toString(), what);
		assert.equal(typeof x.durationMs, 'number', what);
		assert.ok(Math.abs(x.durationMs - t.durMs) <= 1, `${what}: durationMs want ${t.durMs}`);
	}
	assert.ok(list.every((x) => /^[0-9a-f]+$/.test(x.traceID)), 'traceID is lower-case hex');
});

test('limit, and the default limit of 20', { timeout: 30000 }, async () => {
	const two = await search({ q: '{ name =~ "GET /.*" }', limit: '2' });
	assert.deepEqual(two.ids, [T.deep.tid, T.front3.tid], 'limit=2: the two newest');
	const def = await search({ q: '{ resource.service.name = "many" }' });
	const newest20 = T.many.slice(5).map((t) => t.tid).reverse();
	assert.deepEqual(def.ids, newest20, 'no limit: the 20 newest, newest first');
	const all = await search({ q: '{ resource.service.name = "many" }', limit: '30' });
	assert.equal(all.ids.length, 25);
});

test('start and end (unix seconds) select traces overlapping the window', { timeout: 30000 }, async () => {
	await expectQuery('{ resource.service.name = "legacy" }', [T.old], { start: String(NOW_S - 3 * 3600), end: String(NOW_S - 3600) });
	await expectQuery('{ resource.service.name = "legacy" }', [], { start: String(NOW_S - 1800), end: String(NOW_S + 60) });
	await expectQuery('{ name =~ "GET /.*" }', [T.deep], { start: String(NOW_S - 450), end: String(NOW_S + 60) });
	// checkout starts at now-420 s and lasts 2.5 s: a window from now-419 to now-400 overlaps it only
	await expectQuery('{ }', [T.checkout], { start: String(NOW_S - 419), end: String(NOW_S - 400) });
});

test('TraceQL that is not understood is a clear 400', { timeout: 20000 }, async () => {
	for (const q of ['{ name = }', '{ name = "x"', 'name = "x"', '{ duration > 5parsecs }', '{ name = "a" } ~~ { name = "b" }']) {
		const r = await died(srv, request(`${srv.api}/api/search?${new URLSearchParams({ q })}`));
		assert.equal(r.status, 400, `q=${q}: ${r.status} ${r.body.toString().slice(0, 200)}`);
		assert.ok(r.body.length > 0 && r.body.length < 2000, `q=${q}: want a short message, got ${r.body.length} bytes`);
		assert.match(r.body.toString(), /pars|syntax|unexpected|expect|invalid|unsupported|unknown/i, `q=${q}: ${r.body}`);
	}
});

test('the older tags= form with minDuration and maxDuration', { timeout: 30000 }, async () => {
	const tags = async (p, want) => {
		const { ids, qs } = await search({ limit: '100', ...p });
		assert.deepEqual(new Set(ids), new Set(want.map((t) => t.tid)),
			`GET /api/search?${qs}: got [${ids.map(nameOf)}], want [${want.map((t) => nameOf(t.tid))}]`);
	};
	await tags({ tags: 'service.name=checkout' }, [T.front1, T.checkout, T.deep]);
	await tags({ tags: 'service.name=frontend', minDuration: '500ms' }, [T.front1]);
	await tags({ tags: 'service.name=frontend', maxDuration: '100ms' }, [T.front3]);
	await tags({ tags: 'service.name=frontend', minDuration: '100ms', maxDuration: '400ms' }, [T.front2, T.deep]);
	await tags({ tags: 'service.name=frontend customer.tier=gold' }, [T.front3]);
	await tags({ tags: 'customer.tier=silver' }, []);
	await tags({ tags: 'service.name=checkout', minDuration: '2s' }, [T.checkout]);
});

test('tag names and tag values, v1 and v2', { timeout: 30000 }, async () => {
	const v1 = await getJson(`${srv.api}/api/search/tags`);
	assert.ok(Array.isArray(v1.tagNames), `/api/search/tags: ${JSON.stringify(v1).slice(0, 200)}`);
	for (const t of ['service.name', 'customer.tier', 'http.status_code', 'deployment.environment'])
		assert.ok(v1.tagNames.includes(t), `/api/search/tags lacks ${t}: ${v1.tagNames}`);

	const v2 = await getJson(`${srv.api}/api/v2/search/tags`);
	assert.ok(Array.isArray(v2.scopes), `/api/v2/search/tags: ${JSON.stringify(v2).slice(0, 200)}`);
	const scope = (n) => v2.scopes.find((s) => s.name === n)?.tags ?? [];
	assert.ok(scope('resource').includes('service.name'), `resource scope: ${JSON.stringify(v2.scopes)}`);
	assert.ok(scope('resource').includes('deployment.environment'));
	assert.ok(scope('span').includes('customer.tier'), `span scope: ${JSON.stringify(v2.scopes)}`);
	assert.ok(scope('span').includes('http.status_code'));
	assert.ok(!scope('span').includes('service.name'), 'service.name is a resource attribute here, not a span one');

	const vals = await getJson(`${srv.api}/api/search/tag/service.name/values`);
	assert.ok(Array.isArray(vals.tagValues), JSON.stringify(vals).slice(0, 200));
	for (const s of ['frontend', 'checkout', 'payments', 'gateway', 'legacy', 'many'])
		assert.ok(vals.tagValues.includes(s), `/api/search/tag/service.name/values lacks ${s}: ${vals.tagValues}`);
	assert.equal(vals.tagValues.length, new Set(vals.tagValues).size, 'duplicate values');

	const v2vals = await getJson(`${srv.api}/api/v2/search/tag/resource.service.name/values`);
	assert.ok(Array.isArray(v2vals.tagValues), JSON.stringify(v2vals).slice(0, 200));
	const svcs = v2vals.tagValues.map((v) => { assert.equal(v.type, 'string', JSON.stringify(v)); return v.value; });
	for (const s of ['frontend', 'checkout', 'payments']) assert.ok(svcs.includes(s), `v2 values lack ${s}: ${JSON.stringify(v2vals)}`);

	const ints = await getJson(`${srv.api}/api/v2/search/tag/span.http.status_code/values`);
	assert.deepEqual(ints.tagValues.map((v) => [v.type, String(v.value)]), [['int', '200']], JSON.stringify(ints));

	const tier = await getJson(`${srv.api}/api/search/tag/customer.tier/values`);
	assert.deepEqual(tier.tagValues, ['gold']);
	const none = await getJson(`${srv.api}/api/search/tag/no.such.tag/values`);
	assert.deepEqual(none.tagValues ?? [], []);
});

// --- sealing --------------------------------------------------------------------------

const ZSTD_MAGIC = 0xfd2fb528;
function blockFiles(dir) {
	const out = [];
	const walk = (d) => {
		for (const n of readdirSync(d)) {
			const p = join(d, n);
			const st = statSync(p);
			if (st.isDirectory()) walk(p);
			else if (st.size >= 8) {
				const b = readFileSync(p).subarray(0, 4).readUInt32LE(0);
				if (b === ZSTD_MAGIC || (b & 0xfffffff0) === 0x184d2a50) out.push(p);
			}
		}
	};
	walk(dir);
	return out;
}

function blockSpans(file) {
	const r = spawnSync('zstd', ['-dcq', file], { maxBuffer: 256 << 20 });
	assert.equal(r.status, 0, `zstd -d ${file}: ${r.stderr}`);
	return spanMap(decodeTraces(r.stdout), { allowDuplicates: true });
}

test('with --seal-idle 1s a trace is sealed into a block, still served, and later spans join it', { timeout: 60000 }, async () => {
	const store = tempDir();
	const s = await startServe({ store, args: ['--seal-idle', '1s'] });
	const t = build(atNs(5), [
		{ svc: 'sealme', name: 'sealed root', dur: 100, kind: 2 },
		{ svc: 'sealme', name: 'sealed child', parent: 0, off: 10, dur: 20 },
	]);
	await mustSend(s, t.req, { encoding: 'proto' });
	const want = spanMap(t.req);

	// obstui stats shows a block ...
	await waitFor('obstui stats to show a block', () => {
		const st = cli(['stats', '--store', store], { timeout: 10000 });
		assert.equal(st.code, 0, describeCli(['stats', '--store', store], st));
		return /^\s*blocks?\W+[1-9]/im.test(st.stdout);
	}, { timeout: 20000, interval: 250 });
	// ... and a block file is zstd OTLP TracesData holding the trace (DESIGN §4)
	assert.ok(blockFiles(store).some((f) => [...want.keys()].every((k) => blockSpans(f).has(k))),
		`no zstd block file in ${store} holds the sealed trace`);

	await assertTrace(s, t.tid, want, 'sealed trace');
	const found = await (async () => {
		const r = await request(`${s.api}/api/search?${new URLSearchParams({ q: '{ resource.service.name = "sealme" }' })}`);
		return JSON.parse(r.body.toString()).traces.map((x) => norm(x.traceID));
	})();
	assert.deepEqual(found, [t.tid], 'search finds the sealed trace');

	// a late span of the sealed trace joins it
	const late = build(atNs(4), [{ svc: 'sealme-late', name: 'late span', dur: 5 }], t.tid);
	late.req.resourceSpans[0].scopeSpans[0].spans[0].parentSpanId = t.req.resourceSpans[0].scopeSpans[0].spans[0].spanId;
	await mustSend(s, late.req, { encoding: 'json' });
	const merged = mergeMaps(want, spanMap(late.req));
	await assertTrace(s, t.tid, merged, 'sealed trace plus a late span');

	// and stays whole once the late span is sealed too
	const lateKey = [...spanMap(late.req).keys()][0];
	await waitFor('a block holding the late span', () => blockFiles(store).some((f) => blockSpans(f).has(lateKey)),
		{ timeout: 20000, interval: 250 });
	await assertTrace(s, t.tid, merged, 'after the late span was sealed');
	const again = await (async () => {
		const r = await request(`${s.api}/api/search?${new URLSearchParams({ q: '{ resource.service.name = "sealme" }' })}`);
		return JSON.parse(r.body.toString()).traces;
	})();
	assert.equal(again.length, 1, `one search result for the trace, not one per block: ${JSON.stringify(again)}`);
	assert.equal(again[0].rootTraceName, 'sealed root');

	// SIGTERM seals the head and exits 0; the store opens again
	const st = await s.stop();
	assert.equal(st.code, 0, `SIGTERM exit ${st.code}/${st.signal}: ${s.stderr().slice(-1000)}`);
	const s2 = await startServe({ store });
	await assertTrace(s2, t.tid, merged, 'after restart');
	assert.equal((await fetchV2(s2, t.tid)).size, 3);
});
