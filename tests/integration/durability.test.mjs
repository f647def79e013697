// Durability: every request obstui acknowledged with 200 survives kill -9;
// after a restart on the same store the API and the CLI serve all of it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, cli, describeCli, tempDir, request, waitFor } from './lib/obstui.mjs';
import { mustSend, sendTraces, assertTrace, simpleRequest, fetchV2, assertSameSpans } from './lib/traces.mjs';
import { edgeRequest } from './lib/fixtures.mjs';
import { spanMap, mergeMaps, onlyTrace, parseJsonLossless } from './lib/otlp.mjs';
import { cliTraceMap } from './lib/clijson.mjs';

test('acknowledged traces survive kill -9', { timeout: 90000 }, async () => {
	const store = tempDir();
	const srv = await startServe({ store });
	const sent = [];
	const N = 60;
	// one at a time, and a burst in parallel, in both encodings
	for (let i = 0; i < N / 2; i++) {
		const r = i % 5 === 0 ? edgeRequest({ serviceA: `dur-${i}` }) : simpleRequest({ service: `dur-${i % 7}`, names: ['a', 'b', 'c'] });
		await mustSend(srv, r.req, { encoding: i % 2 ? 'json' : 'proto' });
		sent.push(r);
	}
	const burst = Array.from({ length: N / 2 }, (_, i) => simpleRequest({ service: 'burst', names: [`p${i}`] }));
	await Promise.all(burst.map((r, i) => mustSend(srv, r.req, { encoding: i % 2 ? 'json' : 'proto' })));
	sent.push(...burst);
	// and a trace whose spans came in three requests
	const split = simpleRequest({ service: 'split', names: ['s0'] });
	const split2 = simpleRequest({ service: 'split', tid: split.tid, names: ['s1'] });
	const split3 = simpleRequest({ service: 'split-other', tid: split.tid, names: ['s2'] });
	for (const r of [split, split2, split3]) await mustSend(srv, r.req, { encoding: 'proto' });

	const { signal } = await srv.kill9();
	assert.equal(signal, 'SIGKILL');

	const again = await startServe({ store });
	for (const r of sent) await assertTrace(again, r.tid, spanMap(r.req), `trace ${r.tid} after kill -9`);
	const splitMap = mergeMaps(spanMap(split.req), spanMap(split2.req), spanMap(split3.req));
	await assertTrace(again, split.tid, splitMap, 'trace sent in three requests, after kill -9');

	// the CLI reads the same store while serve runs
	for (const r of [...sent.slice(0, 6), split]) {
		const want = r === split ? splitMap : spanMap(r.req);
		const args = ['trace', r.tid, '--store', store, '--json'];
		const res = cli(args);
		assert.equal(res.code, 0, describeCli(args, res));
		assertSameSpans(onlyTrace(want, r.tid), cliTraceMap(res.stdout, args), `obstui trace ${r.tid} --json after kill -9`);
	}

	// and the restarted server takes new data into the same store
	const later = simpleRequest({ service: 'after-restart' });
	await mustSend(again, later.req);
	await assertTrace(again, later.tid, spanMap(later.req), 'trace sent after the restart');
	const st = await again.stop('SIGTERM');
	assert.equal(st.code, 0, `SIGTERM: obstui exited ${st.code}/${st.signal}: ${again.stderr().slice(-1500)}`);

	// after a clean stop everything is still there, for the CLI and a third server
	const third = await startServe({ store });
	await assertTrace(third, later.tid, spanMap(later.req), 'after SIGTERM and restart');
	assert.ok((await fetchV2(third, sent[0].tid)).size > 0);
});

test('kill -9 in the middle of a stream of requests: acknowledged ones all there, others whole or absent', { timeout: 90000 }, async (t) => {
	const store = tempDir();
	const srv = await startServe({ store });
	const acked = [];
	const inflight = [];
	let stop = false;
	let n = 0;
	const worker = async (w) => {
		while (!stop) {
			const r = simpleRequest({ service: `stream-${w}`, names: ['s0', 's1', 's2', 's3'] });
			inflight.push(r);
			n++;
			try {
				const res = await sendTraces(srv, r.req, { encoding: n % 2 ? 'proto' : 'json' });
				if (res.status === 200) acked.push(r);
			} catch { /* the server is gone */ }
		}
	};
	const workers = Array.from({ length: 8 }, (_, w) => worker(w));
	await new Promise((r) => setTimeout(r, 700));
	await srv.kill9();
	stop = true;
	await Promise.all(workers);
	assert.ok(acked.length > 20, `test bug: only ${acked.length} requests were acknowledged before the kill`);

	const again = await startServe({ store });
	let whole = 0;
	for (const r of inflight) {
		const g = await request(`${again.api}/api/v2/traces/${r.tid}`);
		if (acked.includes(r)) {
			assert.equal(g.status, 200, `acknowledged trace ${r.tid} lost after kill -9`);
		} else if (g.status === 404) {
			continue;
		}
		assert.equal(g.status, 200, `GET /api/v2/traces/${r.tid}: ${g.status}`);
		// wholly or not at all: all four spans, unchanged
		assertSameSpans(spanMap(r.req), spanMap(parseJsonLossless(g.body).trace), `trace ${r.tid} after kill -9 mid-stream`);
		whole++;
	}
	assert.ok(whole >= acked.length);
	t.diagnostic(`${inflight.length} requests sent, ${acked.length} acknowledged, ${whole} stored after kill -9`);
});

test('sealed blocks and the head both survive kill -9', { timeout: 60000 }, async () => {
	const store = tempDir();
	const srv = await startServe({ store, args: ['--seal-idle', '1s'] });
	const first = simpleRequest({ service: 'sealed-then-killed', names: ['a', 'b'] });
	await mustSend(srv, first.req);
	await waitFor('a block', () => /^\s*blocks?\W+[1-9]/im.test(cli(['stats', '--store', store], { timeout: 10000 }).stdout),
		{ timeout: 20000, interval: 250 });
	const late = simpleRequest({ service: 'sealed-then-killed', tid: first.tid, names: ['late'] });
	const fresh = simpleRequest({ service: 'head-then-killed', names: ['h'] });
	await mustSend(srv, late.req);
	await mustSend(srv, fresh.req);
	await srv.kill9();
	const again = await startServe({ store });
	await assertTrace(again, first.tid, mergeMaps(spanMap(first.req), spanMap(late.req)), 'sealed trace plus late span, after kill -9');
	await assertTrace(again, fresh.tid, spanMap(fresh.req), 'head-only trace after kill -9');
});
