// Crash safety at every step: OBSTUI_FAULT=STEP[:N] makes obstui kill itself
// with SIGKILL the Nth time it passes STEP (src/core/fault.c lists the steps
// and what a crash there must leave).  For each step: obstui dies there by
// SIGKILL, a restart on the same store opens it, everything that was
// acknowledged before the crash is served, once, the store takes new data,
// and `obstui fsck` finds nothing wrong.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, cli, describeCli, tempDir, waitFor } from './lib/obstui.mjs';
import { sendTraces, assertTrace, simpleRequest } from './lib/traces.mjs';
import { spanMap } from './lib/otlp.mjs';
import { sendWrite } from './lib/promrw.mjs';
import { stats, localBlockIds } from './lib/sync.mjs';

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// Wait for the server to die; it must be by SIGKILL, at the step named.
async function diedAt(srv, step, timeout = 20000) {
	const t = setTimeout(() => srv.child.kill('SIGKILL'), timeout);
	const r = await srv.exited;
	clearTimeout(t);
	assert.equal(r.signal, 'SIGKILL', `obstui exited ${r.code}/${r.signal}: ${srv.stderr().slice(-1500)}`);
	assert.match(srv.stderr(), new RegExp(`OBSTUI_FAULT: killed at ${step.replace('.', '\\.')}`),
		`obstui was killed, but not at ${step} (the test's own timeout?): ${srv.stderr().slice(-1500)}`);
	await srv.stop();
}

// Send traces one after another until the server dies; the acknowledged ones.
async function sendUntilDeath(srv, { service, gapMs = 0, max = 400, startNs } = {}) {
	const acked = [];
	for (let i = 0; i < max && srv.alive(); i++) {
		const r = simpleRequest({ service, names: ['a', 'b'], ...(startNs ? { startNs } : {}) });
		try {
			const res = await sendTraces(srv, r.req, { encoding: i % 2 ? 'json' : 'proto' });
			if (res.status === 200) acked.push(r);
		} catch { break; }
		if (gapMs) await sleep(gapMs);
	}
	return acked;
}

async function assertAllTraces(srv, acked, what) {
	assert.ok(acked.length > 0, `${what}: nothing was acknowledged before the crash`);
	for (const [i, r] of acked.entries()) {
		try {
			await assertTrace(srv, r.tid, spanMap(r.req), `${what}: trace ${r.tid}`);
		} catch (e) {
			e.message += `\n(acknowledged request ${i + 1} of ${acked.length}; store ${srv.store};`
				+ ` stats ${JSON.stringify(stats(srv.store))})`;
			throw e;
		}
	}
}

// After the restart: new data goes in, a clean stop exits 0.
async function stillWorks(srv, what) {
	const r = simpleRequest({ service: 'after-crash' });
	const res = await sendTraces(srv, r.req);
	assert.equal(res.status, 200, `${what}: a request after the restart`);
	await assertTrace(srv, r.tid, spanMap(r.req), `${what}: a trace sent after the restart`);
	const st = await srv.stop('SIGTERM');
	assert.equal(st.code, 0, `${what}: SIGTERM after the restart: ${st.code}/${st.signal}: ${srv.stderr().slice(-1500)}`);
	assertHealthy(srv.store, what);
}

// obstui fsck finds nothing wrong with the store
function assertHealthy(store, what) {
	const args = ['fsck', '--store', store];
	const r = cli(args, { timeout: 60000 });
	assert.equal(r.code, 0, `${what}: ${describeCli(args, r)}`);
}

const SEAL = ['--seal-idle', '200ms'];

test('an unknown crash point is refused at start-up', () => {
	const r = cli(['version'], { env: { OBSTUI_FAULT: 'no.such.step' } });
	assert.equal(r.code, 2, describeCli(['version'], r));
	assert.match(r.stderr, /OBSTUI_FAULT=no\.such\.step names no crash point/);
});

for (const [step, count, gapMs] of [['ingest.committed', 12, 0], ['seal.file_written', 2, 40], ['seal.recorded', 2, 40]]) {
	test(`kill -9 at ${step}: every acknowledged span is there after a restart`, { timeout: 90000 }, async () => {
		const store = tempDir();
		const srv = await startServe({ store, args: SEAL, env: { OBSTUI_FAULT: `${step}:${count}` } });
		const acked = await sendUntilDeath(srv, { service: step, gapMs });
		await diedAt(srv, step);
		const again = await startServe({ store, args: SEAL });
		await assertAllTraces(again, acked, `after a crash at ${step}`);
		// no block file without its row: start-up removed the unrecorded one
		const s = stats(store);
		assert.equal(localBlockIds(store).length, s.blocks, `block files vs recorded blocks: ${JSON.stringify(s)}`);
		await stillWorks(again, step);
	});
}

test('kill -9 at retention.recorded: the expired block\'s file goes at restart, recent traces stay', { timeout: 90000 }, async () => {
	const store = tempDir();
	const args = [...SEAL, '--retention', '1h'];
	const srv = await startServe({ store, args, env: { OBSTUI_FAULT: 'retention.recorded' } });
	// recent traces, sealed into a block of their own first
	const recent = [];
	for (let i = 0; i < 10; i++) {
		const r = simpleRequest({ service: 'recent', names: ['a'] });
		assert.equal((await sendTraces(srv, r.req)).status, 200);
		recent.push(r);
	}
	await waitFor('the recent traces sealed', () => (stats(store).headSpans === 0 && stats(store).blocks > 0) || null,
		{ timeout: 20000, interval: 200 });
	// then traces of three hours ago: their block is past retention at once
	const old = BigInt(Date.now() - 3 * 3600 * 1000) * 1000000n;
	for (let i = 0; i < 5 && srv.alive(); i++) {
		const r = simpleRequest({ service: 'old', names: ['a'], startNs: old });
		try { await sendTraces(srv, r.req); } catch { break; }
	}
	await diedAt(srv, 'retention.recorded', 40000);
	const again = await startServe({ store, args: SEAL });
	await assertAllTraces(again, recent, 'after a crash at retention.recorded');
	const s = stats(store);
	assert.equal(localBlockIds(store).length, s.blocks, `block files vs recorded blocks: ${JSON.stringify(s)}`);
	await stillWorks(again, 'retention.recorded');
});

test('kill -9 at adopt.recorded: pull finishes the adoption, every trace once', { timeout: 90000 }, async () => {
	const a = tempDir();
	const srv = await startServe({ store: a });
	const sent = [];
	for (let i = 0; i < 20; i++) {
		const r = simpleRequest({ service: 'pulled', names: ['a', 'b', 'c'] });
		assert.equal((await sendTraces(srv, r.req)).status, 200);
		sent.push(r);
	}
	assert.equal((await srv.stop('SIGTERM')).code, 0);
	const remote = `file://${tempDir()}`;
	let r = cli(['push', remote, '--store', a]);
	assert.equal(r.code, 0, describeCli(['push', remote], r));
	const b = tempDir();
	r = cli(['pull', remote, '--store', b], { env: { OBSTUI_FAULT: 'adopt.recorded' } });
	assert.equal(r.signal, 'SIGKILL', describeCli(['pull', remote], r));
	assert.match(r.stderr, /killed at adopt\.recorded/);
	// the block is recorded and still named .pull: opening the store finishes it
	r = cli(['pull', remote, '--store', b]);
	assert.equal(r.code, 0, describeCli(['pull (again)', remote], r));
	assert.deepEqual(readdirSync(join(b, 'blocks')).filter((f) => f.endsWith('.pull')), []);
	assert.deepEqual(localBlockIds(b), localBlockIds(a));
	const again = await startServe({ store: b });
	await assertAllTraces(again, sent, 'after a crash at adopt.recorded');
	const st = stats(b);
	assert.equal(st.traces, sent.length, JSON.stringify(st));
	await stillWorks(again, 'adopt.recorded');
});

// --- metrics ---------------------------------------------------------------------------

async function query(srv, q, time) {
	const u = `${srv.api}/api/v1/query?query=${encodeURIComponent(q)}&time=${time / 1000}`;
	const res = await fetch(u);
	const body = await res.json();
	assert.equal(body.status, 'success', JSON.stringify(body));
	return body.data.result;
}

// Each request one series crash_metric{req="i"} with 4 samples; the acknowledged ones.
async function writeUntilDeath(srv, t0, { max = 200 } = {}) {
	const acked = [];
	for (let i = 0; i < max && srv.alive(); i++) {
		const samples = [0, 1, 2, 3].map((k) => [t0 + k * 15000, i * 10 + k]);
		const series = [{ labels: { __name__: 'crash_metric', job: 'crash', req: String(i) }, samples }];
		try {
			const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series });
			if (r.status === 204) acked.push(i);
		} catch { break; }
	}
	return acked;
}

async function assertSamples(srv, acked, t0, what) {
	assert.ok(acked.length > 0, `${what}: nothing was acknowledged`);
	const end = t0 + 3 * 15000;
	const got = await query(srv, 'count_over_time(crash_metric[2m])', end);
	const byReq = new Map(got.map((s) => [Number(s.metric.req), Number(s.value[1])]));
	for (const i of acked)
		assert.equal(byReq.get(i), 4, `${what}: series req="${i}" has ${byReq.get(i)} samples, not the 4 acknowledged (${got.length} series)`);
	const last = await query(srv, 'crash_metric', end);
	const lastBy = new Map(last.map((s) => [Number(s.metric.req), Number(s.value[1])]));
	for (const i of acked) assert.equal(lastBy.get(i), i * 10 + 3, `${what}: last value of req="${i}"`);
}

test('kill -9 at mwal.synced: every acknowledged sample is there after a restart', { timeout: 90000 }, async () => {
	const store = tempDir();
	const t0 = Math.floor(Date.now() / 1000) * 1000 - 60000;
	const srv = await startServe({ store, env: { OBSTUI_FAULT: 'mwal.synced:15' } });
	const acked = await writeUntilDeath(srv, t0);
	await diedAt(srv, 'mwal.synced');
	const again = await startServe({ store });
	await assertSamples(again, acked, t0, 'after a crash at mwal.synced');
	assert.equal((await again.stop('SIGTERM')).code, 0);
	// sealed on that clean stop: the blocks answer the same, nothing twice
	const third = await startServe({ store });
	await assertSamples(third, acked, t0, 'after the clean stop that sealed them');
	assert.equal((await third.stop('SIGTERM')).code, 0);
	assertHealthy(store, 'mwal.synced');
});

for (const step of ['mseal.marker', 'mseal.blocks']) {
	test(`kill -9 at ${step} (the seal on SIGTERM): every sample once after a restart`, { timeout: 90000 }, async () => {
		const store = tempDir();
		const t0 = Math.floor(Date.now() / 1000) * 1000 - 60000;
		const srv = await startServe({ store, env: { OBSTUI_FAULT: step } });
		const acked = await writeUntilDeath(srv, t0, { max: 30 });
		assert.equal(acked.length, 30);
		srv.child.kill('SIGTERM'); // close seals the head: the crash point is on that path
		await diedAt(srv, step);
		const again = await startServe({ store });
		await assertSamples(again, acked, t0, `after a crash at ${step}`);
		assert.equal((await again.stop('SIGTERM')).code, 0);
		const third = await startServe({ store });
		await assertSamples(third, acked, t0, `after a crash at ${step} and a clean stop`);
		assert.equal((await third.stop('SIGTERM')).code, 0);
		assertHealthy(store, step);
		assert.ok(existsSync(join(store, 'metrics')));
	});
}

// Head rows are named by id in the head cache: once sealing emptied the head, a
// new row must not take an old row's id (SQLite would start again at 1), or the
// new trace is not found by id until it is sealed.
test('a trace sent after the head was emptied by a seal is found by id at once', { timeout: 60000 }, async () => {
	const srv = await startServe({ args: SEAL });
	for (let round = 0; round < 3; round++) {
		for (let k = 0; k < 3; k++) assert.equal((await sendTraces(srv, simpleRequest({ service: 'warm' }).req)).status, 200);
		await waitFor('the head sealed', () => (stats(srv.store).headSpans === 0) || null, { timeout: 20000, interval: 100 });
		const r = simpleRequest({ service: 'after-seal', names: ['x', 'y'] });
		assert.equal((await sendTraces(srv, r.req)).status, 200);
		await assertTrace(srv, r.tid, spanMap(r.req), `round ${round}: a trace in the head after a seal emptied it`);
	}
	assert.equal((await srv.stop('SIGTERM')).code, 0);
});
