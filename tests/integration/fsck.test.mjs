// obstui fsck and obstui gc through the real binary:
//   - a healthy store: fsck exits 0 and says "no problems found";
//   - planted corruptions, each caught by its name: a flipped byte in a
//     trace block, a truncated block, a missing block file, a trace index
//     row edited with the sqlite3 CLI, a flipped byte in a metric block's
//     chunk file and in another's index; --repair moves them aside, a
//     second fsck passes, and every trace not in a broken block still reads
//     by id;
//   - a block file no row names is adopted again by --repair;
//   - gc --dry-run lists what retention would remove and changes nothing;
//     gc removes exactly that and nothing else; gc refuses a store a serve
//     owns, naming it.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, existsSync, readdirSync, readFileSync, writeFileSync, statSync, truncateSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, cli, describeCli, tempDir } from './lib/obstui.mjs';
import { traceId, spanId, mustSend, simpleRequest, sendTraces } from './lib/traces.mjs';
import { sendWrite } from './lib/promrw.mjs';

const ULID = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const HAVE_SQLITE3 = spawnSync('sqlite3', ['-version']).status === 0;

function blockFiles(store) {
	const d = join(store, 'blocks');
	return existsSync(d) ? readdirSync(d).filter((f) => f.endsWith('.blk')).sort() : [];
}

function metricBlocks(store) {
	const d = join(store, 'metrics');
	return existsSync(d) ? readdirSync(d).filter((f) => ULID.test(f)).sort() : [];
}

// Import one file of n traces (3 spans each, ending ageMs ago) into its
// own block; returns the block id and the trace ids.
function importBlock(store, n, ageMs = 60000) {
	const before = new Set(blockFiles(store));
	const end = BigInt(Date.now() - ageMs) * 1000000n;
	const ids = [];
	const spans = [];
	for (let t = 0; t < n; t++) {
		const tid = traceId();
		ids.push(tid);
		for (let s = 0; s < 3; s++) {
			spans.push({
				traceId: tid, spanId: spanId(), name: `op${s}`, kind: 2,
				startTimeUnixNano: String(end - 1000000000n + BigInt(s) * 1000n),
				endTimeUnixNano: String(end),
			});
		}
	}
	const doc = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'fsck-svc' } }] }, scopeSpans: [{ scope: { name: 'fsck' }, spans }] }] };
	const file = join(tempDir(), 'traces.json');
	writeFileSync(file, JSON.stringify(doc));
	const args = ['import', '--store', store, file];
	const r = cli(args);
	assert.equal(r.code, 0, describeCli(args, r));
	const added = blockFiles(store).filter((f) => !before.has(f));
	assert.equal(added.length, 1, `one new block from an import: ${added}`);
	return { id: added[0].slice(0, 26), traces: ids };
}

// Metrics through a serve: 20 series, samples from 50 to 40 minutes ago;
// stopping it seals them into a block.
async function addMetrics(store) {
	const srv = await startServe({ store });
	const t0 = Math.floor(Date.now() / 1000) * 1000 - 50 * 60 * 1000;
	const series = [];
	for (let i = 0; i < 20; i++) {
		const samples = [];
		for (let k = 0; k < 40; k++) samples.push([t0 + k * 15000, i * 100 + Math.sin(k / 3)]);
		series.push({ labels: { __name__: 'fsck_gauge', job: 'fsck', i: String(i) }, samples });
	}
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series });
	assert.equal(r.status, 204, r.body.toString());
	const st = await srv.stop();
	assert.equal(st.code, 0, srv.stderr());
	assert.ok(metricBlocks(store).length >= 1, 'a metric block sealed at stop');
}

function fsck(store, ...extra) {
	const args = ['fsck', '--store', store, ...extra];
	const r = cli(args, { timeout: 60000 });
	r.what = describeCli(args, r);
	return r;
}

function readsById(store, tid) {
	const r = cli(['trace', tid, '--store', store, '--json']);
	return r.code === 0 && r.stdout.includes('"spans"');
}

function flipByte(path, off) {
	const b = readFileSync(path);
	b[off] ^= 0x5a;
	writeFileSync(path, b);
}

// A copy of metric block src under a new ULID (meta.json says so).
function copyMetricBlock(store, src) {
	const mdir = join(store, 'metrics');
	const id = src.slice(0, 20) + 'ZZZZZZ';
	cpSync(join(mdir, src), join(mdir, id), { recursive: true });
	const meta = join(mdir, id, 'meta.json');
	writeFileSync(meta, readFileSync(meta, 'utf8').replace(src, id));
	return id;
}

test('fsck: a healthy store has no problems', async () => {
	const store = tempDir();
	for (let i = 0; i < 3; i++) importBlock(store, 4);
	await addMetrics(store);
	const r = fsck(store);
	assert.equal(r.code, 0, r.what);
	assert.match(r.stdout, /no problems found/, r.what);
	assert.match(r.stdout, /3 trace blocks \(12 traces\)/, r.what);
	assert.match(r.stdout, /[1-9]\d* metric blocks \(20 series, [1-9]\d* chunks\)/, r.what);
});

test('fsck catches each planted corruption by name; --repair sets them aside and the rest still reads', { skip: !HAVE_SQLITE3 && 'no sqlite3 CLI' }, async () => {
	const store = tempDir();
	const b = [];
	for (let i = 0; i < 6; i++) b.push(importBlock(store, 4));
	await addMetrics(store);
	const [flipped, truncated, missing, badRow, healthy1, healthy2] = b;
	const blk = (x) => join(store, 'blocks', `${x.id}.blk`);

	flipByte(blk(flipped), Math.floor(statSync(blk(flipped)).size / 3));
	truncateSync(blk(truncated), statSync(blk(truncated)).size - 40);
	rmSync(blk(missing));
	const sql = `UPDATE trace_parts SET off = off + 11 WHERE trace_id = x'${badRow.traces[1]}'`;
	const q = spawnSync('sqlite3', [join(store, 'obstui.db'), sql], { encoding: 'utf8' });
	assert.equal(q.status, 0, q.stderr);
	const [mchunk] = metricBlocks(store);
	const mindex = copyMetricBlock(store, mchunk);
	flipByte(join(store, 'metrics', mchunk, 'chunks', '000001'), 14);
	flipByte(join(store, 'metrics', mindex, 'index'), 14);

	const r = fsck(store);
	assert.equal(r.code, 1, r.what);
	for (const [code, id] of [['block-checksum', flipped.id], ['block-size', truncated.id],
		['block-missing', missing.id], ['trace-index', badRow.id], ['metric-chunk', mchunk],
		['metric-index', mindex]]) {
		assert.match(r.stdout, new RegExp(`^${code}: .*${id}`, 'm'), `${code} for ${id}\n${r.what}`);
	}
	for (const x of [healthy1, healthy2])
		assert.doesNotMatch(r.stdout, new RegExp(x.id), `a healthy block named\n${r.what}`);
	assert.match(r.stdout, /6 problems found, 6 not repaired/, r.what);

	const fixed = fsck(store, '--repair');
	assert.equal(fixed.code, 0, fixed.what);
	assert.match(fixed.stdout, /6 problems found, all repaired/, fixed.what);
	const lf = readdirSync(join(store, 'lost+found')).sort();
	assert.deepEqual(lf, [`${flipped.id}.blk`, `${truncated.id}.blk`, `metrics-${mchunk}`, `metrics-${mindex}`].sort());

	const again = fsck(store);
	assert.equal(again.code, 0, again.what);
	assert.match(again.stdout, /no problems found/, again.what);
	assert.match(again.stdout, /3 trace blocks \(12 traces\)/, again.what);

	for (const x of [badRow, healthy1, healthy2])
		for (const tid of x.traces) assert.ok(readsById(store, tid), `trace ${tid} of block ${x.id} reads`);
	for (const x of [flipped, truncated, missing])
		assert.ok(!readsById(store, x.traces[0]), `a trace of the set-aside block ${x.id} is gone`);
});

test('fsck --repair adopts a sound block file that lost its row', { skip: !HAVE_SQLITE3 && 'no sqlite3 CLI' }, () => {
	const store = tempDir();
	const a = importBlock(store, 3);
	const lost = importBlock(store, 3);
	const q = spawnSync('sqlite3', [join(store, 'obstui.db'), `DELETE FROM blocks WHERE id = '${lost.id}'`], { encoding: 'utf8' });
	assert.equal(q.status, 0, q.stderr);
	assert.ok(!readsById(store, lost.traces[0]), 'unreadable without its row');
	const r = fsck(store);
	assert.equal(r.code, 1, r.what);
	assert.match(r.stdout, new RegExp(`^orphan-block: .*${lost.id}`, 'm'), r.what);
	assert.match(r.stdout, /^dangling-rows: /m, r.what);
	const fixed = fsck(store, '--repair');
	assert.equal(fixed.code, 0, fixed.what);
	assert.match(fixed.stdout, /adopted again \(3 traces\)/, fixed.what);
	const again = fsck(store);
	assert.equal(again.code, 0, again.what);
	for (const tid of [...a.traces, ...lost.traces]) assert.ok(readsById(store, tid), `trace ${tid} reads`);
});

test('fsck beside a running serve: no false alarms while it ingests and seals; --repair refuses, naming it', async () => {
	const store = tempDir();
	importBlock(store, 3);
	const srv = await startServe({ store, args: ['--seal-idle', '200ms'] });
	let sending = true;
	const sender = (async () => {
		while (sending) {
			await mustSend(srv, simpleRequest({ names: ['a', 'b', 'c'] }).req);
			await new Promise((r) => setTimeout(r, 20));
		}
	})();
	try {
		for (let i = 0; i < 4; i++) {
			const r = fsck(store, '--quick');
			assert.equal(r.code, 0, r.what);
			assert.match(r.stdout, /no problems found/, r.what);
		}
		const busy = fsck(store, '--repair');
		assert.equal(busy.code, 2, busy.what);
		assert.match(busy.stderr, new RegExp(`in use by .*pid ${srv.pid}`), busy.what);
	} finally {
		sending = false;
		await sender;
		await srv.stop();
	}
	assert.ok(blockFiles(store).length > 1, 'the serve sealed blocks meanwhile');
	const after = fsck(store);
	assert.equal(after.code, 0, after.what);
});

test('fsck: a damaged database index is caught; --repair rebuilds it (REINDEX) and the traces read', { skip: !HAVE_SQLITE3 && 'no sqlite3 CLI' }, () => {
	const store = tempDir();
	const blocks = [importBlock(store, 4), importBlock(store, 4)];
	const db = join(store, 'obstui.db');
	const sq = (sql) => {
		const r = spawnSync('sqlite3', [db, sql], { encoding: 'utf8' });
		assert.equal(r.status, 0, r.stderr);
		return r.stdout.trim();
	};
	sq('PRAGMA wal_checkpoint(TRUNCATE)');
	const page = Number(sq("SELECT rootpage FROM sqlite_master WHERE name = 'trace_parts_start'"));
	const size = Number(sq('PRAGMA page_size'));
	const b = readFileSync(db);
	for (let i = 8; i < 40; i++) b[(page - 1) * size + i] ^= 0x77;
	writeFileSync(db, b);
	const r = fsck(store);
	assert.equal(r.code, 1, r.what);
	assert.match(r.stdout, /^database: the database is damaged \(integrity_check\): /m, r.what);
	const fixed = fsck(store, '--repair');
	assert.equal(fixed.code, 0, fixed.what);
	assert.match(fixed.stdout, /rebuilt them from the tables \(REINDEX\)/, fixed.what);
	assert.equal(fsck(store).code, 0);
	for (const x of blocks) for (const tid of x.traces) assert.ok(readsById(store, tid), `trace ${tid} reads`);
});

test('fsck after a crash between writing a block and recording it: the orphan is set aside, its spans read from the head', async () => {
	const store = tempDir();
	const srv = await startServe({ store, args: ['--seal-idle', '200ms'], env: { OBSTUI_FAULT: 'seal.file_written' } });
	const acked = [];
	for (let i = 0; i < 100 && srv.alive(); i++) {
		const r = simpleRequest({ names: ['a', 'b'] });
		try {
			if ((await sendTraces(srv, r.req)).status === 200) acked.push(r.tid);
		} catch { break; }
		await new Promise((res) => setTimeout(res, 30));
	}
	const died = await srv.exited;
	assert.equal(died.signal, 'SIGKILL', srv.stderr().slice(-800));
	assert.ok(acked.length > 0);
	const r = fsck(store);
	assert.equal(r.code, 1, r.what);
	assert.match(r.stdout, /^orphan-block: /m, r.what);
	const fixed = fsck(store, '--repair');
	assert.equal(fixed.code, 0, fixed.what);
	assert.match(fixed.stdout, /still in the head \(a seal that did not finish\): moved to lost\+found/, fixed.what);
	assert.equal(fsck(store).code, 0);
	for (const tid of acked) assert.ok(readsById(store, tid), `acknowledged trace ${tid} reads`);
});

// "would remove ..." lines of gc: [kind, id, why]
function gcItems(stdout) {
	const out = [];
	for (const m of stdout.matchAll(/^ {2}(trace block|metric block) +(\S+) .*\((age|size): /gm)) out.push([m[1], m[2], m[3]]);
	return out.sort();
}

test('gc: --dry-run lists what retention would remove and changes nothing; gc removes exactly that', async () => {
	const store = tempDir();
	const old1 = importBlock(store, 2, 3 * 86400e3);
	const old2 = importBlock(store, 2, 2 * 86400e3);
	const fresh = [importBlock(store, 2), importBlock(store, 2)];
	await addMetrics(store);
	const mblocks = metricBlocks(store);
	const filesBefore = blockFiles(store);

	// by age: 30m takes the old trace blocks and the metric block (ending 40 min ago)
	const dry = cli(['gc', '--store', store, '--retention', '30m', '--dry-run']);
	assert.equal(dry.code, 0, describeCli(['gc'], dry));
	const want = [['trace block', old1.id, 'age'], ['trace block', old2.id, 'age'],
		...mblocks.map((id) => ['metric block', id, 'age'])].sort();
	assert.deepEqual(gcItems(dry.stdout), want, dry.stdout);
	assert.match(dry.stdout, /dry run: nothing was changed/);
	// the old blocks' span metrics go with them (no block covers their time any more)
	assert.match(dry.stdout, /^ {2}rollups +- .* [1-9]\d* rows/m, dry.stdout);
	assert.deepEqual(blockFiles(store), filesBefore, 'dry run removed nothing');
	assert.deepEqual(metricBlocks(store), mblocks);

	// by size: only the newest trace blocks fit
	const sizes = fresh.map((x) => statSync(join(store, 'blocks', `${x.id}.blk`)).size);
	const drySize = cli(['gc', '--store', store, '--max-store', String(sizes[0] + sizes[1]), '--dry-run']);
	assert.equal(drySize.code, 0, drySize.stderr);
	const bySize = gcItems(drySize.stdout).filter((x) => x[0] === 'trace block');
	assert.deepEqual(bySize.map((x) => x[1]).sort(), [old1.id, old2.id].sort(), drySize.stdout);
	assert.ok(bySize.every((x) => x[2] === 'size'), drySize.stdout);

	// a serve owns the store: gc refuses, naming it; --dry-run still works
	const srv = await startServe({ store });
	const busy = cli(['gc', '--store', store, '--retention', '30m']);
	assert.equal(busy.code, 1, describeCli(['gc'], busy));
	assert.match(busy.stderr, new RegExp(`in use by .*pid ${srv.pid}`), busy.stderr);
	assert.equal(cli(['gc', '--store', store, '--retention', '30m', '--dry-run']).code, 0);
	await srv.stop();

	const run = cli(['gc', '--store', store, '--retention', '30m']);
	assert.equal(run.code, 0, describeCli(['gc'], run));
	assert.deepEqual(gcItems(run.stdout), want, run.stdout);
	assert.deepEqual(blockFiles(store), fresh.map((x) => `${x.id}.blk`).sort(), 'only the old trace blocks went');
	for (const id of mblocks) assert.ok(!metricBlocks(store).includes(id), `metric block ${id} went`);
	for (const x of fresh) for (const tid of x.traces) assert.ok(readsById(store, tid), `trace ${tid} stays`);
	assert.ok(!readsById(store, old1.traces[0]));
	const twice = cli(['gc', '--store', store, '--retention', '30m', '--dry-run']);
	assert.match(twice.stdout, /^would remove 0 of 2 trace blocks and 0 of 0 metric blocks$/m, twice.stdout);
	assert.doesNotMatch(twice.stdout, /rollups/, 'the old rollups went with the blocks');
	const ok = fsck(store);
	assert.equal(ok.code, 0, ok.what);
});
