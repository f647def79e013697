// Metric block compaction with the real promtool: 2 h blocks that promtool
// writes from OpenMetrics, copied into a store, merged by a running serve
// (OBSTUI_MCOMPACT_EVERY_MS shortens the minute between rounds) into
// larger ranges; `promtool tsdb analyze` reads the merged block,
// meta.json's compaction says level, sources and parents as Prometheus
// writes them, `promtool tsdb dump` gives every sample back, and PromQL
// answers the same before and after.  And a running serve picks up metric
// blocks an `obstui pull` put into its store, within seconds.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, cli, describeCli, tempDir } from './lib/obstui.mjs';
import { promApi, compareAnswers } from './lib/prom.mjs';

const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
const T = { timeout: 120000 };

function promtool(args) {
	const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60000, maxBuffer: 64 << 20 });
	if (r.error) throw r.error;
	return r;
}

function blocksIn(mdir) {
	return readdirSync(mdir).filter((d) => ULID_RE.test(d)).sort();
}

function metaOf(mdir, b) {
	return JSON.parse(readFileSync(join(mdir, b, 'meta.json'), 'utf8'));
}

// Sorted "series t value" lines of `promtool tsdb dump DIR`.
function dumpLines(dir) {
	const d = promtool(['tsdb', 'dump', dir]);
	assert.equal(d.status, 0, d.stderr);
	return d.stdout.split('\n').filter((l) => l.startsWith('{')).sort();
}

// promtool's 2 h blocks over `hours` hours ending 20 minutes ago.
function promtoolBlocks(hours) {
	const work = tempDir('obstui-mcompact-');
	const now = Math.floor(Date.now() / 1000);
	const start = now - hours * 3600;
	let om = '# TYPE mc_requests counter\n# HELP mc_requests Requests.\n';
	for (let t = start; t <= now - 1200; t += 60)
		for (const code of ['200', '404', '500'])
			om += `mc_requests_total{code="${code}",job="mc"} ${(t - start) * (code === '200' ? 3 : 0.5)} ${t}\n`;
	om += '# TYPE mc_temp gauge\n';
	for (let t = start; t <= now - 1200; t += 120) om += `mc_temp{room="a"} ${20 + Math.sin(t / 900)} ${t}\n`;
	om += '# EOF\n';
	writeFileSync(join(work, 'in.om'), om);
	const out = join(work, 'blocks');
	const c = promtool(['tsdb', 'create-blocks-from', 'openmetrics', join(work, 'in.om'), out]);
	assert.equal(c.status, 0, c.stderr + c.stdout);
	return { out, made: blocksIn(out), start, now };
}

const QUERIES = ['mc_requests_total', 'sum by (code) (rate(mc_requests_total[5m]))',
	'max_over_time(mc_temp[30m])', 'count(mc_temp)', 'increase(mc_requests_total{code="500"}[1h])'];

async function answers(api, start, now) {
	const out = [];
	for (const q of QUERIES) {
		for (const at of [now - 1500, start + 3 * 3600, start + 7 * 3600])
			out.push(await promApi(api, '/api/v1/query', { query: q, time: String(at) }));
		const query = q.includes('[') || q.startsWith('count') ? q : `rate(${q}[5m])`;
		out.push(await promApi(api, '/api/v1/query_range',
			{ query, start: String(start + 600), end: String(now - 1300), step: '600' }));
	}
	return out;
}

test('a running serve merges 2 h blocks into larger ranges; promtool reads them; answers stay the same', T, async () => {
	const { out, made, start, now } = promtoolBlocks(20);
	assert.ok(made.length >= 6, `promtool made ${made.length} blocks`);
	const store = tempDir('obstui-mcompact-store-');
	const mdir = join(store, 'metrics');
	mkdirSync(mdir, { recursive: true });
	for (const b of made) cpSync(join(out, b), join(mdir, b), { recursive: true });
	mkdirSync(join(out, 'wal'));   // promtool dump wants a (here empty) WAL
	const want = dumpLines(out);

	// before: compaction waits a minute by default, far past these queries
	let srv = await startServe({ store, args: ['--zipkin', 'off'] });
	const before = await answers(srv.api, start, now);
	assert.deepEqual(blocksIn(mdir), made, 'nothing merged yet');
	assert.equal((await srv.stop()).code, 0, srv.stderr());

	srv = await startServe({ store, args: ['--zipkin', 'off'], env: { OBSTUI_MCOMPACT_EVERY_MS: '200' } });
	try {
		let blocks = blocksIn(mdir);
		for (let i = 0; i < 100 && blocks.length >= made.length; i++) {
			await new Promise((r) => setTimeout(r, 100));
			blocks = blocksIn(mdir);
		}
		await new Promise((r) => setTimeout(r, 1500));  // later rounds
		blocks = blocksIn(mdir);
		assert.ok(blocks.length < made.length, `blocks after compaction: ${blocks.length} of ${made.length}`);
		const merged = blocks.filter((b) => metaOf(mdir, b).compaction.level > 1);
		assert.ok(merged.length >= 1, 'a merged block');
		for (const b of merged) {
			const m = metaOf(mdir, b);
			assert.ok(m.compaction.parents.length >= 2, JSON.stringify(m.compaction));
			for (const p of m.compaction.parents) {
				assert.match(p.ulid, ULID_RE);
				assert.ok(p.minTime >= m.minTime && p.maxTime <= m.maxTime, JSON.stringify(p));
			}
			assert.ok(m.compaction.sources.length >= m.compaction.parents.length);
			// inside one aligned window of 6 h, 18 h, 54 h, ... (2 h x 3^k)
			let fits = false;
			for (let r = 6 * 3600000; r <= 31 * 86400000 && !fits; r *= 3) {
				const t0 = Math.floor(m.minTime / r) * r;
				fits = m.maxTime <= t0 + r;
			}
			assert.ok(fits, `merged range [${m.minTime}, ${m.maxTime}) fits no aligned window`);
			const a = promtool(['tsdb', 'analyze', mdir, b]);
			assert.equal(a.status, 0, `promtool tsdb analyze ${b}: ${a.stderr}${a.stdout}`);
			assert.match(a.stdout, /Block ID: /);
		}
		// every block promtool wrote is in exactly one block now
		const covered = blocks.flatMap((b) => metaOf(mdir, b).compaction.sources).sort();
		assert.deepEqual(covered, [...made].sort());
		const after = await answers(srv.api, start, now);
		for (let i = 0; i < before.length; i++) {
			const why = compareAnswers(after[i], before[i]);
			assert.equal(why, null, `answer ${i} (${QUERIES[Math.floor(i / 4)]}): ${why}`);
		}
	} finally {
		assert.equal((await srv.stop()).code, 0, srv.stderr());
	}
	assert.deepEqual(dumpLines(mdir), want, 'promtool dump: the same samples');
});

test('a running serve sees metric blocks an `obstui pull` puts into its store, within seconds', T, async () => {
	const { out, made, now } = promtoolBlocks(5);
	// an origin store with the blocks, pushed to a file:// remote
	const origin = tempDir('obstui-mcompact-origin-');
	const o = await startServe({ store: origin, args: ['--zipkin', 'off'] });
	assert.equal((await o.stop()).code, 0, o.stderr());
	for (const b of made) cpSync(join(out, b), join(origin, 'metrics', b), { recursive: true });
	const remote = tempDir('obstui-mcompact-remote-');
	const url = `file://${remote}`;
	let r = cli(['push', url, '--store', origin], { timeout: 60000 });
	assert.equal(r.code, 0, describeCli(['push'], r));

	const store = tempDir('obstui-mcompact-follower-');
	const srv = await startServe({ store, args: ['--zipkin', 'off'] });
	try {
		const q = { query: 'count(mc_requests_total)', time: String(now - 1500) };
		const empty = await promApi(srv.api, '/api/v1/query', q);
		assert.equal(empty.status, 200, empty.text);
		assert.equal(empty.json.data.result.length, 0);
		r = cli(['pull', url, '--store', store], { timeout: 60000 });
		assert.equal(r.code, 0, describeCli(['pull'], r));
		assert.equal(blocksIn(join(store, 'metrics')).length, made.length);
		const t0 = Date.now();
		let got = null;
		while (Date.now() - t0 < 10000) {
			const a = await promApi(srv.api, '/api/v1/query', q);
			if (a.json?.data?.result?.length) { got = a; break; }
			await new Promise((res) => setTimeout(res, 200));
		}
		assert.ok(got, 'the pulled blocks answer through the running serve within 10 s');
		assert.equal(Number(got.json.data.result[0].value[1]), 3);
	} finally {
		assert.equal((await srv.stop()).code, 0, srv.stderr());
	}
});

test('kill -9 right after a merged block is written: the restart keeps one copy of every sample', T, async () => {
	const { out, made } = promtoolBlocks(20);
	const store = tempDir('obstui-mcompact-crash-');
	const mdir = join(store, 'metrics');
	mkdirSync(mdir, { recursive: true });
	for (const b of made) cpSync(join(out, b), join(mdir, b), { recursive: true });
	mkdirSync(join(out, 'wal'));
	const want = dumpLines(out);

	let srv = await startServe({ store, args: ['--zipkin', 'off'],
		env: { OBSTUI_MCOMPACT_EVERY_MS: '200', OBSTUI_FAULT: 'mcompact.written' } });
	const r = await srv.exited;
	assert.equal(r.signal, 'SIGKILL', srv.stderr().slice(-1500));
	assert.match(srv.stderr(), /OBSTUI_FAULT: killed at mcompact\.written/);
	await srv.stop();
	// the merged block and all of its parents are on disk
	const left = blocksIn(mdir);
	assert.equal(left.length, made.length + 1);
	const merged = left.filter((b) => metaOf(mdir, b).compaction.level > 1);
	assert.equal(merged.length, 1);

	srv = await startServe({ store, args: ['--zipkin', 'off'] });
	assert.equal((await srv.stop()).code, 0, srv.stderr());
	const now = blocksIn(mdir);
	assert.ok(now.includes(merged[0]), 'the merged block stays');
	for (const p of metaOf(mdir, merged[0]).compaction.parents)
		assert.ok(!now.includes(p.ulid), `parent ${p.ulid} removed at start-up`);
	const covered = now.flatMap((b) => metaOf(mdir, b).compaction.sources).sort();
	assert.deepEqual(covered, [...made].sort());
	assert.deepEqual(dumpLines(mdir), want, 'promtool dump: every sample once');
});

test('obstui compact merges the metric blocks too; promtool dump gives the same samples', T, async () => {
	const { out, made } = promtoolBlocks(14);
	assert.ok(made.length >= 4, `promtool made ${made.length} blocks`);
	const store = tempDir('obstui-mcompact-cli-');
	const mdir = join(store, 'metrics');
	mkdirSync(mdir, { recursive: true });
	for (const b of made) cpSync(join(out, b), join(mdir, b), { recursive: true });
	mkdirSync(join(out, 'wal'));   // promtool dump wants a (here empty) WAL
	const before = dumpLines(out);
	// a trace store beside it, as serve leaves one
	const srv = await startServe({ store });
	assert.equal((await srv.stop('SIGTERM')).code, 0);
	const args = ['compact', '--json', '--store', store];
	const r = cli(args, { timeout: 120000 });
	assert.equal(r.code, 0, describeCli(args, r));
	const res = JSON.parse(r.stdout);
	assert.ok(res.metrics.merges >= 1 && res.metrics.sources >= 2, r.stdout);
	const after = blocksIn(mdir);
	assert.ok(after.length < made.length, `blocks before ${made.length}, after ${after.length}`);
	assert.ok(after.some((b) => metaOf(mdir, b).compaction.level >= 2), after.map((b) => JSON.stringify(metaOf(mdir, b).compaction)).join('\n'));
	assert.deepEqual(dumpLines(mdir), before);
	// and the text form says what it did
	const again = cli(['compact', '--store', store], { timeout: 120000 });
	assert.equal(again.code, 0, describeCli(['compact'], again));
	assert.match(again.stdout, /^metrics: (nothing to compact|merged \d+ blocks into \d+)/m);
});
