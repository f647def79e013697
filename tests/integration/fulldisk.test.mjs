// A full disk: the store on a small tmpfs (CI runs as root: mount needs it),
// filled up while obstui takes traces and samples.  Every receiver answers
// 503 (gRPC: UNAVAILABLE) with Retry-After, the log says so once, obstui keeps
// running, reads go on; when room returns ingest resumes by itself, and after
// a restart everything acknowledged is there.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync, statfsSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, tempDir, waitFor } from './lib/obstui.mjs';
import { sendTraces, assertTrace, simpleRequest } from './lib/traces.mjs';
import { spanMap, encodeTraces } from './lib/otlp.mjs';
import { sendWrite } from './lib/promrw.mjs';
import { connect, unary, EXPORT, GRPC, closeSession } from './lib/grpc.mjs';

const MiB = 1024 * 1024;
const count = (s, re) => (s.match(new RegExp(re, 'g')) ?? []).length;

test('a full disk: 503 + Retry-After on every receiver, one log line, nothing lost, ingest resumes', { timeout: 120000 }, async () => {
	const dir = tempDir('obstui-full-');
	mkdirSync(dir, { recursive: true });
	execFileSync('mount', ['-t', 'tmpfs', '-o', 'size=24m', 'tmpfs', dir]);
	let srv;
	try {
		const store = join(dir, 'store');
		srv = await startServe({ store, args: ['--seal-idle', '300ms', '--otlp-grpc', '127.0.0.1:0'] });
		// leave about 3 MiB free
		const fs = statfsSync(dir);
		writeFileSync(join(dir, 'filler'), Buffer.alloc(fs.bavail * fs.bsize - 3 * MiB));

		const acked = [];
		const refused = [];
		const pad = 'p'.repeat(2000);
		for (let i = 0; i < 600 && refused.length < 5; i++) {
			const r = simpleRequest({ service: 'full', names: ['a', 'b', 'c', 'd'], attrs: [{ key: 'pad', value: { stringValue: `${pad}${i}` } }] });
			const res = await sendTraces(srv, r.req, { encoding: i % 2 ? 'json' : 'proto' });
			if (res.status === 200) acked.push(r);
			else refused.push(res);
		}
		assert.ok(acked.length > 10, `acknowledged before the disk filled: ${acked.length}`);
		assert.ok(refused.length >= 5, 'the disk never filled');
		for (const res of refused) {
			assert.equal(res.status, 503, `a request on a full disk: ${res.status} ${res.body}`);
			assert.equal(res.headers['retry-after'], '10');
			assert.match(String(res.body), /disk is full/);
		}
		// the same over gRPC: UNAVAILABLE
		const sess = connect(srv.grpc);
		const g = await unary(sess, EXPORT, encodeTraces(simpleRequest({ service: 'full-grpc', attrs: [{ key: 'pad', value: { stringValue: pad } }] }).req));
		await closeSession(sess);
		assert.equal(g.grpcStatus, GRPC.UNAVAILABLE, `gRPC export on a full disk: ${g.grpcStatus} ${g.grpcMessage}`);
		// remote write: 503 with Retry-After too
		let rw;
		const samplesAcked = [];
		for (let i = 0; i < 200; i++) {
			const series = [{ labels: { __name__: 'full_metric', i: String(i), pad: `${pad}${i}` }, samples: [[Date.now(), i]] }];
			rw = await sendWrite(`${srv.otlp}/api/v1/write`, { series });
			if (rw.status === 204) samplesAcked.push(i);
			else break;
		}
		assert.equal(rw.status, 503, `remote write on a full disk: ${rw.status} ${rw.body}`);
		assert.equal(rw.headers['retry-after'] ?? rw.headers.get?.('retry-after'), '10');

		// still running and still reading
		assert.ok(srv.alive(), srv.stderr().slice(-2000));
		await assertTrace(srv, acked[0].tid, spanMap(acked[0].req), 'a trace read while the disk is full');
		// the log says it once per store part, not once per request
		const log = srv.stderr();
		assert.equal(count(log, 'store: the disk is full'), 1, log.slice(-3000));
		assert.ok(count(log, 'metrics wal: the disk is full') <= 1, log.slice(-3000));
		assert.equal(count(log, 'commit failed'), 0, log.slice(-3000));

		// room again: ingest resumes without a restart
		rmSync(join(dir, 'filler'));
		const later = simpleRequest({ service: 'room-again' });
		await waitFor('a request accepted once there is room', async () => (await sendTraces(srv, later.req)).status === 200 || null,
			{ timeout: 20000, interval: 500 });
		acked.push(later);
		await assertTrace(srv, later.tid, spanMap(later.req), 'a trace sent once there is room');
		const ok = await sendWrite(`${srv.otlp}/api/v1/write`, { series: [{ labels: { __name__: 'full_metric', i: 'after' }, samples: [[Date.now(), 1]] }] });
		assert.equal(ok.status, 204, `remote write once there is room: ${ok.status} ${ok.body}`);
		await waitFor('the log saying so', () => /room on the disk again/.test(srv.stderr()) || null, { timeout: 5000 });
		const st = await srv.stop('SIGTERM');
		assert.equal(st.code, 0, `SIGTERM: ${st.code}/${st.signal}: ${srv.stderr().slice(-2000)}`);

		// and after a restart everything acknowledged is there
		srv = await startServe({ store });
		for (const r of acked) await assertTrace(srv, r.tid, spanMap(r.req), `after the restart: trace ${r.tid}`);
		// every acknowledged sample; the refused one may be there too (its bytes
		// were kept for the next write of the log: at least once, never half)
		const res = await fetch(`${srv.api}/api/v1/query?query=full_metric&time=${Date.now() / 1000}`);
		const body = await res.json();
		const have = new Set(body.data.result.map((x) => x.metric.i));
		for (const i of [...samplesAcked.map(String), 'after']) assert.ok(have.has(i), `sample i="${i}" after the restart: ${[...have]}`);
		assert.ok(have.size <= samplesAcked.length + 2, `more series than were sent: ${[...have]}`);
		assert.equal((await srv.stop('SIGTERM')).code, 0);
	} finally {
		if (srv?.alive()) await srv.stop('SIGKILL');
		execFileSync('umount', ['-l', dir]);
		rmSync(dir, { recursive: true, force: true });
	}
});
