// The database gives back what it no longer needs (issue 14 item 5): after a
// burst is sealed, and after a clean stop right after a burst, obstui.db has no
// free pages left, its WAL is gone or empty, and the database is no bigger
// than the index it holds.  Read from the files themselves: the SQLite header
// says the page size, the page count, the free-list count and whether
// incremental vacuum is on.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, openSync, readSync, closeSync, readdirSync, statSync } from 'node:fs';
import { startServe, tempDir, cli, describeCli, waitFor } from './lib/obstui.mjs';
import { sendBurst } from './lib/burst.mjs';
import { fetchV2 } from './lib/traces.mjs';

// The 100-byte SQLite database header (https://www.sqlite.org/fileformat.html §1.3).
function dbHeader(path) {
	const fd = openSync(path, 'r');
	const b = Buffer.alloc(100);
	try { readSync(fd, b, 0, 100, 0); } finally { closeSync(fd); }
	assert.equal(b.subarray(0, 16).toString('latin1'), 'SQLite format 3\0', `${path} is not a SQLite database`);
	const ps = b.readUInt16BE(16);
	return {
		pageSize: ps === 1 ? 65536 : ps,
		pages: b.readUInt32BE(28),
		freePages: b.readUInt32BE(36),
		autoVacuum: b.readUInt32BE(52) !== 0,      // largest root page: 0 without auto_vacuum
		incremental: b.readUInt32BE(64) !== 0,
	};
}

const size = (p) => (existsSync(p) ? statSync(p).size : 0);

function onDisk(store) {
	let blocks = 0;
	for (const f of readdirSync(`${store}/blocks`)) if (f.endsWith('.blk')) blocks += size(`${store}/blocks/${f}`);
	const db = size(`${store}/obstui.db`);
	const wal = size(`${store}/obstui.db-wal`);
	return { blocks, db, wal, walExists: existsSync(`${store}/obstui.db-wal`) };
}

function stats(store) {
	const args = ['stats', '--json', '--store', store];
	const r = cli(args);
	assert.equal(r.code, 0, describeCli(args, r));
	return JSON.parse(r.stdout);
}

// what the stopped store holds, checked; returns bytes per span
function assertReclaimed(store, spans, what) {
	const d = onDisk(store);
	const h = dbHeader(`${store}/obstui.db`);
	assert.ok(h.autoVacuum && h.incremental, `${what}: obstui.db is not in incremental auto-vacuum mode: ${JSON.stringify(h)}`);
	assert.equal(h.freePages, 0, `${what}: ${h.freePages} free pages left in obstui.db (${JSON.stringify(h)})`);
	assert.equal(d.wal, 0, `${what}: obstui.db-wal is ${d.wal} bytes after a clean stop`);
	assert.equal(d.db, h.pages * h.pageSize, `${what}: obstui.db size and its header disagree`);
	// the index (trace locations, search postings, rollups) is what remains:
	// less than the blocks it indexes, and a small fraction of the head the
	// burst went through (~270 B/span on the wire)
	const per = { blocks: d.blocks / spans, db: (d.db + d.wal) / spans };
	assert.ok(d.blocks > 0, `${what}: no block files`);
	assert.ok(d.db + d.wal < d.blocks, `${what}: the database (${d.db} + WAL ${d.wal} bytes) is larger than the blocks (${d.blocks}): ${JSON.stringify(per)} B/span`);
	assert.ok(per.db < 60, `${what}: ${per.db.toFixed(1)} B/span of database (blocks ${per.blocks.toFixed(1)})`);
	return per;
}

test('a burst, sealed, then a clean stop: no free pages, no WAL, database smaller than the blocks', { timeout: 90000 }, async (t) => {
	const store = tempDir();
	const srv = await startServe({ store, args: ['--seal-idle', '1s'] });
	const sent = await sendBurst(srv, { requests: 40, traces: 100, parallel: 4 });
	assert.equal(sent.spans, 40000);
	await waitFor('the sealer to empty the head', () => stats(store).headSpans === 0, { timeout: 30000 });
	// the writer gives pages back and truncates the WAL by itself once idle
	await waitFor('the idle writer to reclaim free pages and truncate the WAL', () => {
		const h = dbHeader(`${store}/obstui.db`);
		return h.freePages === 0 && size(`${store}/obstui.db-wal`) === 0;
	}, { timeout: 10000 });
	const st = await srv.stop('SIGTERM');
	assert.equal(st.code, 0, `SIGTERM: ${st.code}/${st.signal}: ${srv.stderr().slice(-1500)}`);
	const per = assertReclaimed(store, sent.spans, 'sealed, then stopped');
	// obstui stats counts the database as on disk: the file and its WAL
	const d = onDisk(store);
	assert.equal(stats(store).databaseBytes, d.db + d.wal, 'stats databaseBytes is obstui.db + obstui.db-wal');
	t.diagnostic(`sealed then stopped: blocks ${per.blocks.toFixed(1)} B/span, database ${per.db.toFixed(1)} B/span`);

	// everything is still there after a restart
	const again = await startServe({ store });
	for (const tid of sent.tids.filter((_, i) => i % 400 === 0))
		assert.equal((await fetchV2(again, tid)).size, 10, `trace ${tid} after the restart`);
	assert.equal(stats(store).spans, sent.spans);
	await again.stop('SIGTERM');
});

test('a clean stop right after a burst seals the head and leaves no free pages and no WAL', { timeout: 90000 }, async (t) => {
	const store = tempDir();
	// a long --seal-idle: nothing is sealed before the stop
	const srv = await startServe({ store, args: ['--seal-idle', '10m'] });
	const sent = await sendBurst(srv, { requests: 40, traces: 100, parallel: 4 });
	const s = stats(store);
	assert.equal(s.headSpans, sent.spans, 'the burst is in the head before the stop');
	// the head holds every span (compressed): the database is large now
	const during = size(`${store}/obstui.db`) + size(`${store}/obstui.db-wal`);
	assert.ok(during > sent.bytes / 5, `the head of the burst should take room: ${during} bytes for ${sent.bytes} sent`);
	const st = await srv.stop('SIGTERM');
	assert.equal(st.code, 0, `SIGTERM: ${st.code}/${st.signal}: ${srv.stderr().slice(-1500)}`);
	const per = assertReclaimed(store, sent.spans, 'stopped right after the burst');
	const d = onDisk(store);
	assert.ok(d.db + d.wal < during * 0.6, `the head's pages went back: ${during} bytes before the stop, ${d.db} + ${d.wal} after`);
	t.diagnostic(`stopped right after: blocks ${per.blocks.toFixed(1)} B/span, database ${per.db.toFixed(1)} B/span`);
	const after = stats(store);
	assert.equal(after.headSpans, 0);
	assert.equal(after.blockSpans, sent.spans);
});
