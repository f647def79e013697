// Trace block compaction through the real binary: a serve with the
// time-compressing test knob (OBSTUI_COMPACT_SCALE) seals a block every
// half second and merges them in the background; every trace by id, and
// every search answer, is the same before and after; `obstui compact`
// refuses while a serve owns the store and merges what is left when none does.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, getJson, cli, describeCli, waitFor, tempDir } from './lib/obstui.mjs';
import { mustSend, assertTrace, traceId, spanId, sendTraces } from './lib/traces.mjs';
import { spanMap, mergeMaps } from './lib/otlp.mjs';

const SERVICES = ['frontend', 'cart', 'payments', 'db'];

// One request: span `k` of each trace in tids, of service SERVICES[k % 4].
function request(tids, k, baseNs) {
	const byRes = new Map();
	tids.forEach((tid, i) => {
		const svc = SERVICES[(k + i) % SERVICES.length];
		if (!byRes.has(svc))
			byRes.set(svc, { resource: { attributes: [{ key: 'service.name', value: { stringValue: svc } }] },
				scopeSpans: [{ scope: { name: 'compact-it' }, spans: [] }] });
		const st = baseNs + BigInt(i) * 1000000n + BigInt(k) * 3000000n;
		byRes.get(svc).scopeSpans[0].spans.push({
			traceId: tid, spanId: spanId(), name: `op-${k % 3}`, kind: 2,
			startTimeUnixNano: st.toString(), endTimeUnixNano: (st + BigInt(20 + 7 * k) * 1000000n).toString(),
			attributes: [{ key: 'step', value: { intValue: String(k) } }],
			status: k % 5 === 4 ? { code: 2, message: 'boom' } : {},
		});
	});
	return { resourceSpans: [...byRes.values()] };
}

const QUERIES = ['{}', '{ resource.service.name = "cart" }', '{ status = error }', '{ span.step = 3 }',
	'{ resource.service.name = "db" && duration > 40ms }'];

async function searches(srv) {
	const out = {};
	for (const q of QUERIES) {
		const j = await getJson(`${srv.api}/api/search?q=${encodeURIComponent(q)}&limit=500`);
		const traces = (j.traces ?? []).map((t) => JSON.stringify(t)).sort();
		out[q] = traces;
	}
	return out;
}

const blockFiles = (store) => readdirSync(join(store, 'blocks')).filter((f) => f.endsWith('.blk'));

async function stats(store) {
	const r = cli(['stats', '--json', '--store', store]);
	assert.equal(r.code, 0, describeCli(['stats'], r));
	return JSON.parse(r.stdout);
}

test('a trickle is compacted in the background; every trace and search answer stays the same', { timeout: 120000 }, async () => {
	const store = tempDir();
	const env = { OBSTUI_COMPACT_SCALE: '1000', OBSTUI_LOG: 'info' };
	let srv = await startServe({ store, args: ['--seal-idle', '200ms'], env });
	const tids = Array.from({ length: 30 }, () => traceId());
	const base = BigInt(Date.now() - 60000) * 1000000n;
	const sent = [];
	// 24 requests 250 ms apart: each trace gets spans in several sealed blocks
	for (let k = 0; k < 24; k++) {
		const part = tids.filter((_, i) => (i + k) % 3 !== 0);
		const req = request(part, k, base);
		await mustSend(srv, req);
		sent.push(spanMap(req));
		await new Promise((r) => setTimeout(r, 250));
	}
	const expected = mergeMaps(...sent);
	const total = [...expected.keys()].length;
	await waitFor('everything sealed and compacted', async () => {
		const st = await stats(store);
		return st.headSpans === 0 && st.blockSpans === total && /compacted \d+ blocks into/.test(srv.stderr());
	}, { timeout: 30000, interval: 200 });
	const sealed = srv.stderr().match(/sealed block /g).length;
	const st1 = await stats(store);
	assert.ok(sealed >= 6 && st1.blocks < sealed / 2, `${sealed} sealed blocks became ${st1.blocks}`);
	for (const tid of tids)
		await assertTrace(srv, tid, expected, `trace ${tid} after background compaction`);
	const before = await searches(srv);
	assert.equal(before['{}'].length, 30, 'every trace found by {}');
	assert.ok(before['{ status = error }'].length > 0);

	// a serve owns the store: compact refuses and says why
	let r = cli(['compact', '--store', store]);
	assert.equal(r.code, 1, describeCli(['compact'], r));
	assert.match(r.stderr, /owns this store/);
	await srv.stop();

	// no serve: compact merges what is left into as few blocks as the rules allow
	const st0 = await stats(store);
	r = cli(['compact', '--json', '--store', store], { env: { OBSTUI_COMPACT_SCALE: '1000' } });
	assert.equal(r.code, 0, describeCli(['compact', '--json'], r));
	const res = JSON.parse(r.stdout);
	assert.ok(res.blocks <= Math.max(1, st0.blocks), `compact left ${res.blocks} blocks of ${st0.blocks}`);
	assert.equal(res.spans, total);
	if (st0.blocks > 1) {
		assert.ok(res.merges >= 1, `compact merged nothing of ${st0.blocks} blocks`);
		assert.equal(res.blocks, 1);
	}
	// the replaced files go after the grace (0.3 s here), at the next open
	await new Promise((res2) => setTimeout(res2, 500));
	srv = await startServe({ store, args: ['--seal-idle', '200ms'], env });
	await waitFor('replaced files deleted', () => blockFiles(store).length === res.blocks, { timeout: 10000 });
	for (const tid of tids)
		await assertTrace(srv, tid, expected, `trace ${tid} after obstui compact`);
	assert.deepEqual(await searches(srv), before, 'search answers changed with compaction');
	r = cli(['compact', '--store', store]);
	assert.equal(r.code, 1);
	await srv.stop();
	r = cli(['compact', '--store', store]);
	assert.equal(r.code, 0, describeCli(['compact'], r));
	assert.match(r.stdout, /nothing to compact: 1 blocks/);
});

// kill -9 at each step of a compaction: after the restart every acknowledged
// span is served once, the block files are the recorded ones, fsck is happy.
for (const step of ['compact.written', 'compact.recorded']) {
	test(`kill -9 at ${step}: nothing acknowledged is lost`, { timeout: 120000 }, async () => {
		const store = tempDir();
		const env = { OBSTUI_COMPACT_SCALE: '1000', OBSTUI_FAULT: step };
		const srv = await startServe({ store, args: ['--seal-idle', '200ms'], env });
		const tids = Array.from({ length: 12 }, () => traceId());
		const base = BigInt(Date.now() - 60000) * 1000000n;
		const sent = [];
		for (let k = 0; k < 80 && srv.alive(); k++) {
			const req = request(tids.filter((_, i) => (i + k) % 2 === 0), k, base);
			try {
				const r = await sendTraces(srv, req);
				if (r.status === 200) sent.push(spanMap(req));
			} catch { break; }
			await new Promise((r) => setTimeout(r, 150));
		}
		const ex = await Promise.race([srv.exited, new Promise((r) => setTimeout(() => r(null), 20000))]);
		assert.ok(ex && ex.signal === 'SIGKILL', `obstui did not die at ${step}: ${srv.stderr().slice(-800)}`);
		assert.match(srv.stderr(), new RegExp(`OBSTUI_FAULT: killed at ${step.replace('.', '\\.')}`));
		await srv.stop();
		assert.ok(sent.length > 0);
		const expected = mergeMaps(...sent);
		// the replaced files' grace (0.3 s here) is over at this start-up
		await new Promise((r) => setTimeout(r, 500));
		const again = await startServe({ store, args: ['--seal-idle', '200ms'], env: { OBSTUI_COMPACT_SCALE: '1000' } });
		const have = new Set([...expected.keys()].map((k) => k.split('/')[0]));
		for (const tid of have)
			await assertTrace(again, tid, expected, `trace ${tid} after a crash at ${step}`);
		await again.stop();
		const st = await stats(store);
		const r = cli(['fsck', '--store', store], { timeout: 60000 });
		assert.equal(r.code, 0, describeCli(['fsck'], r));
		// every file is recorded, or replaced by a compaction and waiting out its grace
		const replaced = (r.stdout.match(/merged into a compacted block/g) ?? []).length;
		assert.equal(blockFiles(store).length, st.blocks + replaced,
			`block files vs recorded blocks: ${JSON.stringify(st)}\n${r.stdout}`);
	});
}
