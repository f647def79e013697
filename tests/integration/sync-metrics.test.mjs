// Metric blocks through blob storage (Azurite over http, Shared Key):
// push from one store and pull into a fresh one, every query answering the
// same; the layout on the remote (obstui/v1/metrics/ULID/{index,chunks/...,
// meta.json} with each file's size and SHA-256 in the meta's thanos
// section, read back with the Azure SDK); idempotence; a corrupted block
// reported and skipped; an interrupted push resumed; and a Thanos bucket as
// a remote: blocks written by promtool, uploaded in the Thanos layout with
// the official @azure/storage-blob SDK (meta.json with a thanos section as
// Thanos writes it, one downsampled block among them), pulled by obstui and
// queried: answers equal Prometheus's on the same blocks; push refused.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { readdirSync, readFileSync, writeFileSync, existsSync, statSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, cli, describeCli, tempDir } from './lib/obstui.mjs';
import { startAzurite } from './lib/azurite.mjs';
import { startPrometheus, promApi, compareAnswers } from './lib/prom.mjs';
import { sendWrite } from './lib/promrw.mjs';
import { spawnCli, runCli, startBlobProxy } from './lib/sync.mjs';

const T = { timeout: 60000 };
const C = 'msync';
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;
let az;
let src; // { store, blocks: [ulid], start, end } (ms)
let KEY_ENV;

// "pushed|pulled N metric block(s) (SIZE) to|from R in T s; K already there|here; F failed[; S skipped ...]"
const MLINE = /^(pushed|pulled) (\d+) metric blocks? \(([^)]*)\) (?:to|from) (\S+) in (\d+(?:\.\d+)?) s; (\d+) already (?:there|here); (\d+) failed(?:; (\d+) skipped.*)?$/;
function metricLine(stdout, what) {
	const lines = String(stdout).split('\n').filter((l) => MLINE.test(l));
	assert.equal(lines.length, 1, `${what}: want one metric-blocks line on stdout, got ${JSON.stringify(stdout)}`);
	const m = MLINE.exec(lines[0]);
	return { verb: m[1], n: Number(m[2]), already: Number(m[6]), failed: Number(m[7]), skipped: Number(m[8] ?? 0) };
}

function run(args, code = 0) {
	const r = cli(args, { env: KEY_ENV, timeout: 60000 });
	assert.equal(r.code, code, describeCli(args, r));
	return r;
}

function metricBlocks(store) {
	const d = join(store, 'metrics');
	return existsSync(d) ? readdirSync(d).filter((x) => ULID_RE.test(x)).sort() : [];
}

// A store with sealed metric blocks: remote write over ~5 h (counters,
// gauges, a classic histogram), sealed when serve stops.
async function makeMetricStore() {
	const store = tempDir('obstui-msync-');
	const srv = await startServe({ store, args: ['--zipkin', 'off'] });
	const end = Math.floor(Date.now() / 60000) * 60000 - 10 * 60000;
	const start = end - 5 * 3600 * 1000;
	const series = [];
	for (let i = 0; i < 12; i++) {
		const samples = [];
		for (let t = start, k = 0; t <= end; t += 30000, k++)
			samples.push([t, i % 3 === 0 ? Math.sin(k / 17) * (i + 1) : k * (i + 1) + (k % 7)]);
		series.push({ labels: { __name__: i % 3 === 0 ? 'ms_temp' : 'ms_requests_total', job: 'shop', pod: `p${i}`, code: i % 2 ? '200' : '500' }, samples });
	}
	for (const le of ['0.1', '0.5', '1', '+Inf']) {
		const samples = [];
		for (let t = start, k = 0; t <= end; t += 30000, k++) samples.push([t, k * (le === '+Inf' ? 10 : Number(le) * 8)]);
		series.push({ labels: { __name__: 'ms_latency_seconds_bucket', job: 'shop', le }, samples });
	}
	// in slices of 20 minutes, oldest first
	for (let t = start; t <= end; t += 20 * 60000) {
		const part = series.map((s) => ({ labels: s.labels, samples: s.samples.filter(([ts]) => ts >= t && ts < t + 20 * 60000) }));
		const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series: part });
		assert.equal(r.status, 204, r.body.toString());
	}
	const st = await srv.stop();
	assert.equal(st.code, 0, srv.stderr());
	const blocks = metricBlocks(store);
	assert.ok(blocks.length >= 3, `want at least 3 sealed metric blocks, got ${blocks}`);
	return { store, blocks, start, end };
}

before(async () => {
	[az, src] = await Promise.all([startAzurite(), makeMetricStore()]);
	KEY_ENV = { AZURE_STORAGE_KEY: az.key };
	await az.blobServiceClient().createContainer(C);
}, { timeout: 60000 });
after(() => az?.stop());

const QUERIES = [
	'ms_requests_total', 'ms_temp', 'sum by (code) (rate(ms_requests_total[5m]))',
	'max_over_time(ms_temp[30m])', 'count(ms_requests_total)',
	'histogram_quantile(0.9, sum by (le) (rate(ms_latency_seconds_bucket[10m])))',
	'increase(ms_requests_total{code="500"}[1h])',
];

// Every query answers the same on stores a and b (instant at a few times, and ranges).
async function assertSameAnswers(a, b, { start, end }, queries = QUERIES) {
	const sa = await startServe({ store: a, args: ['--zipkin', 'off'] });
	const sb = await startServe({ store: b, args: ['--zipkin', 'off'] });
	try {
		for (const q of queries) {
			for (const at of [start + 3600e3, start + 2.5 * 3600e3, end - 60e3]) {
				const p = { query: q, time: String(at / 1000) };
				const ra = await promApi(sa.api, '/api/v1/query', p);
				const rb = await promApi(sb.api, '/api/v1/query', p);
				assert.equal(ra.status, 200, ra.text);
				assert.ok((ra.json.data.result ?? []).length > 0 || q.startsWith('histogram'), `${q} at ${at}: the source store answers nothing (test bug)`);
				const why = compareAnswers(rb, ra);
				assert.equal(why, null, `${q} at ${at}: ${why}`);
			}
			const range = { query: q, start: String(start / 1000 + 600), end: String(end / 1000), step: '300' };
			const why = compareAnswers(await promApi(sb.api, '/api/v1/query_range', range), await promApi(sa.api, '/api/v1/query_range', range));
			assert.equal(why, null, `${q} over a range: ${why}`);
		}
	} finally {
		await sa.stop();
		await sb.stop();
	}
}

const sha256 = (buf) => createHash('sha256').update(buf).digest('hex');

test('push uploads every sealed metric block in the layout, meta last with each file\'s size and SHA-256; pushing again sends nothing', T, async () => {
	const url = az.containerUrl(C, 'p1');
	const r = run(['push', url, '--store', src.store]);
	const line = metricLine(r.stdout, 'push');
	assert.deepEqual([line.n, line.already, line.failed], [src.blocks.length, 0, 0]);
	const names = await az.listNames(C, 'p1/');
	for (const n of names)
		assert.match(n, /^p1\/obstui\/v1\/metrics\/[0-9A-HJKMNP-TV-Z]{26}\/(index|meta\.json|chunks\/\d{6})$/, `blob ${n} is not in the layout`);
	for (const id of src.blocks) {
		const dir = join(src.store, 'metrics', id);
		const meta = JSON.parse((await az.download(C, `p1/obstui/v1/metrics/${id}/meta.json`)).toString());
		const local = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
		assert.equal(meta.ulid, id);
		assert.deepEqual([meta.minTime, meta.maxTime, meta.stats], [local.minTime, local.maxTime, local.stats]);
		assert.equal(meta.thanos.downsample.resolution, 0);
		const files = new Map(meta.thanos.files.map((f) => [f.rel_path, f]));
		const want = ['index', ...readdirSync(join(dir, 'chunks')).map((c) => `chunks/${c}`)];
		for (const rel of want) {
			const f = files.get(rel);
			assert.ok(f, `${id}: meta.json lists no ${rel}`);
			const body = await az.download(C, `p1/obstui/v1/metrics/${id}/${rel}`);
			assert.ok(body.equals(readFileSync(join(dir, rel))), `${id}/${rel} differs from the store's`);
			assert.equal(f.size_bytes, body.length);
			assert.deepEqual(f.hash, { hashFunc: 'SHA256', value: sha256(body) });
		}
		assert.ok(files.has('meta.json'));
	}
	// meta.json written last: its creation time is the newest of the block's
	const cc = az.blobServiceClient().getContainerClient(C);
	for (const id of src.blocks) {
		const times = new Map();
		for await (const b of cc.listBlobsFlat({ prefix: `p1/obstui/v1/metrics/${id}/` }))
			times.set(b.name.split(`${id}/`)[1], b.properties.createdOn.getTime());
		const metaT = times.get('meta.json');
		for (const [k, t] of times) assert.ok(t <= metaT, `${id}/${k} created after meta.json`);
	}
	const again = metricLine(run(['push', url, '--store', src.store]).stdout, 'push again');
	assert.deepEqual([again.n, again.already, again.failed], [0, src.blocks.length, 0]);
	assert.deepEqual(await az.listNames(C, 'p1/'), names, 'a second push changed the remote');
});

test('wrong credentials: push and pull of metric blocks fail with one clear line, no secret in it', T, async () => {
	const url = az.containerUrl(C, 'p9');
	run(['push', url, '--store', src.store]);
	const wrong = Buffer.alloc(64, 7).toString('base64');
	// (a push to a remote this store already pushed everything to sends nothing: a new one)
	for (const args of [['push', az.containerUrl(C, 'p9x'), '--store', src.store],
		['pull', url, '--store', tempDir('obstui-msync-deny-')]]) {
		const r = cli(args, { env: { AZURE_STORAGE_KEY: wrong }, timeout: 60000 });
		assert.equal(r.code, 1, describeCli(args, r));
		const lines = r.stderr.split('\n').filter((l) => l.startsWith('obstui:'));
		assert.equal(lines.length, 1, `want one line on stderr: ${r.stderr}`);
		assert.match(lines[0], /answered 403/, r.stderr);
		assert.ok(!r.stderr.includes(wrong.slice(0, 16)), 'the key appears in the message');
	}
});

test('pull into a fresh store: the same blocks, byte for byte, and every query answers the same; pulling again takes nothing', T, async () => {
	const url = az.containerUrl(C, 'p2');
	run(['push', url, '--store', src.store]);
	const dst = tempDir('obstui-msync-dst-');
	const line = metricLine(run(['pull', url, '--store', dst]).stdout, 'pull');
	assert.deepEqual([line.n, line.already, line.failed], [src.blocks.length, 0, 0]);
	assert.deepEqual(metricBlocks(dst), src.blocks);
	for (const id of src.blocks) {
		for (const rel of ['index', ...readdirSync(join(src.store, 'metrics', id, 'chunks')).map((c) => `chunks/${c}`)])
			assert.ok(readFileSync(join(dst, 'metrics', id, rel)).equals(readFileSync(join(src.store, 'metrics', id, rel))), `${id}/${rel}`);
	}
	assert.deepEqual(readdirSync(join(dst, 'metrics')).filter((x) => x.endsWith('.tmp')), [], 'temporary directories left behind');
	const again = metricLine(run(['pull', url, '--store', dst]).stdout, 'pull again');
	assert.deepEqual([again.n, again.already, again.failed], [0, src.blocks.length, 0]);
	await assertSameAnswers(src.store, dst, src);
});

test('pull into a store a running serve holds: the blocks land whole, the serve answers from them within seconds and after a restart', T, async () => {
	const url = az.containerUrl(C, 'p8');
	run(['push', url, '--store', src.store]);
	const dst = tempDir('obstui-msync-busy-');
	let srv = await startServe({ store: dst, args: ['--zipkin', 'off'] });
	try {
		const r = run(['pull', url, '--store', dst]);
		const line = metricLine(r.stdout, 'pull into a running serve');
		assert.deepEqual([line.n, line.failed], [src.blocks.length, 0]);
		assert.match(r.stderr, /open in a running obstui; it picks up the metric blocks pulled within seconds/);
		assert.deepEqual(metricBlocks(dst), src.blocks);
		// the running serve answers from them without a restart
		const q = { query: 'count(ms_requests_total)', time: String(Math.floor(src.end / 1000) - 60) };
		let seen = false;
		for (let i = 0; i < 50 && !seen; i++) {
			const a = await promApi(srv.api, '/api/v1/query', q);
			seen = a.json?.data?.result?.length > 0;
			if (!seen) await new Promise((res) => setTimeout(res, 200));
		}
		assert.ok(seen, 'the running serve answers from the pulled blocks within 10 s');
		assert.deepEqual(readdirSync(join(dst, 'sync')).filter((x) => x.endsWith('.tmp')), [], 'temporary directories left behind');
	} finally {
		assert.equal((await srv.stop()).code, 0, srv.stderr());
	}
	await assertSameAnswers(src.store, dst, src, ['ms_requests_total', 'sum by (code) (rate(ms_requests_total[5m]))']);
});

test('a corrupted metric block on the remote is reported by name and skipped; the others are taken', T, async () => {
	const url = az.containerUrl(C, 'p3');
	run(['push', url, '--store', src.store]);
	const bad = src.blocks[1];
	const name = `p3/obstui/v1/metrics/${bad}/chunks/000001`;
	const body = Buffer.from(await az.download(C, name));
	body[Math.floor(body.length / 2)] ^= 0x5a;
	await az.blobServiceClient().getContainerClient(C).getBlockBlobClient(name).upload(body, body.length);
	const dst = tempDir('obstui-msync-bad-');
	const r = run(['pull', url, '--store', dst], 1);
	assert.match(r.stderr, new RegExp(`metric block ${bad}: chunks/000001: SHA-256`), r.stderr);
	const line = metricLine(r.stdout, 'pull');
	assert.deepEqual([line.n, line.failed], [src.blocks.length - 1, 1]);
	assert.deepEqual(metricBlocks(dst), src.blocks.filter((b) => b !== bad));
	assert.deepEqual(readdirSync(join(dst, 'metrics')).filter((x) => x.endsWith('.tmp')), [], 'half a block left behind');
	// the store opens and answers from the good blocks
	const srv = await startServe({ store: dst, args: ['--zipkin', 'off'] });
	try {
		const a = await promApi(srv.api, '/api/v1/query', { query: 'count(ms_temp)', time: String((src.end - 60e3) / 1000) });
		assert.equal(a.json.data.result[0].value[1], '4');
	} finally { await srv.stop(); }
});

test('bytes that do not match the blob\'s Content-MD5 are refused (what checks a Thanos file with no hash in its meta)', T, async () => {
	const url = az.containerUrl(C, 'p7');
	run(['push', url, '--store', src.store]);
	const bad = src.blocks[0];
	const name = `p7/obstui/v1/metrics/${bad}/index`;
	// the service's MD5 of the blob says other bytes than those it serves
	await az.blobServiceClient().getContainerClient(C).getBlobClient(name)
		.setHTTPHeaders({ blobContentMD5: createHash('md5').update('other bytes').digest() });
	const dst = tempDir('obstui-msync-md5-');
	const r = run(['pull', url, '--store', dst], 1);
	assert.match(r.stderr, new RegExp(`metric block ${bad}: .*index: the bytes read do not match the blob's Content-MD5`), r.stderr);
	assert.deepEqual(metricBlocks(dst), src.blocks.slice(1));
});

test('an interrupted push (files up, meta not) resumes: the next push completes the block, create-only, and it pulls whole', T, async () => {
	const url = az.containerUrl(C, 'p4');
	run(['push', url, '--store', src.store]);
	// as if the push had stopped after the index of the last block and
	// before its chunks and meta
	const cc = az.blobServiceClient().getContainerClient(C);
	const last = src.blocks.at(-1);
	for await (const b of cc.listBlobsFlat({ prefix: `p4/obstui/v1/metrics/${last}/` }))
		if (!b.name.endsWith('/index')) await cc.deleteBlob(b.name);
	// and the store's record of what it pushed to p4 (STORE/sync/KEY.metric-ids,
	// KEY the first 16 hex digits of the SHA-256 of the remote's URL; a block
	// is recorded after its meta.json) without that block
	const rec = join(src.store, 'sync', `${createHash('sha256').update(url).digest('hex').slice(0, 16)}.metric-ids`);
	assert.ok(readFileSync(rec, 'utf8').includes(last), `${rec} does not name ${last}`);
	writeFileSync(rec, readFileSync(rec, 'utf8').split('\n').filter((l) => l !== last).join('\n'));
	const mid = run(['pull', url, '--store', tempDir('obstui-msync-mid-')]);
	assert.equal(metricLine(mid.stdout, 'pull of the interrupted push').n, src.blocks.length - 1, 'a block without meta.json was pulled');
	const line = metricLine(run(['push', url, '--store', src.store]).stdout, 'push resumed');
	assert.deepEqual([line.n, line.already, line.failed], [1, src.blocks.length - 1, 0]);
	const dst = tempDir('obstui-msync-res-');
	const pl = metricLine(run(['pull', url, '--store', dst]).stdout, 'pull');
	assert.deepEqual([pl.n, pl.failed], [src.blocks.length, 0]);
	assert.deepEqual(metricBlocks(dst), src.blocks);
	await assertSameAnswers(src.store, dst, src, ['ms_requests_total', 'count(ms_temp)']);
});

test('a push killed while its meta.json uploads are held resumes: the next push completes every block, and they pull whole', T, async () => {
	const proxy = await startBlobProxy(az.url);
	const url = `${proxy.url}/${C}/p5`;
	proxy.hold((rec) => rec.method === 'PUT' && /obstui\/v1\/metrics\/[^/]+\/meta\.json$/.test(rec.name));
	const h = spawnCli(['push', url, '--store', src.store], { env: KEY_ENV });
	const t0 = Date.now();
	while (proxy.holding() < Math.min(4, src.blocks.length) && Date.now() - t0 < 20000)
		await new Promise((r) => setTimeout(r, 50));
	assert.ok(proxy.holding() >= 1, 'no meta.json upload was held');
	// the files of the held blocks went up; their metas did not
	const filesUp = proxy.records.filter((r) => r.method === 'PUT' && /\/(index|chunks\/\d+)$/.test(r.name) && r.status === 201).length;
	assert.ok(filesUp >= 2, `files uploaded before the kill: ${filesUp}`);
	h.kill('SIGKILL');
	await h.done;
	await proxy.close(); // the held requests are never forwarded
	const metas = (await az.listNames(C, 'p5/')).filter((n) => n.endsWith('/meta.json'));
	assert.equal(metas.length, 0, `metas on the remote after the kill: ${metas}`);
	const midStore = tempDir('obstui-msync-k-');
	run(['pull', az.containerUrl(C, 'p5'), '--store', midStore]);
	assert.deepEqual(metricBlocks(midStore), [], 'a block without meta.json was pulled');

	const line = metricLine(run(['push', az.containerUrl(C, 'p5'), '--store', src.store]).stdout, 'push resumed');
	assert.deepEqual([line.n, line.already, line.failed], [src.blocks.length, 0, 0]);
	const dst = tempDir('obstui-msync-k2-');
	const pl = metricLine(run(['pull', az.containerUrl(C, 'p5'), '--store', dst]).stdout, 'pull');
	assert.deepEqual([pl.n, pl.failed], [src.blocks.length, 0]);
	assert.deepEqual(metricBlocks(dst), src.blocks);
});

test('a store that lost its record of what it pushed lists the remote once and sends no block again', T, async () => {
	// many small blocks (one a minute), more than a push sends without listing
	const store = tempDir('obstui-msync-many-');
	const srv = await startServe({ store, args: ['--zipkin', 'off', '--metrics-block', '1m'] });
	const end = Math.floor(Date.now() / 60000) * 60000;
	const samples = [];
	for (let t = end - 25 * 60000; t < end; t += 10000) samples.push([t, t / 1000]);
	const w = await sendWrite(`${srv.otlp}/api/v1/write`, { series: [{ labels: { __name__: 'many_blocks', job: 'm' }, samples }] });
	assert.equal(w.status, 204, w.body.toString());
	assert.equal((await srv.stop()).code, 0, srv.stderr());
	const blocks = metricBlocks(store);
	assert.ok(blocks.length > 16, `want more than 16 blocks, got ${blocks.length}`);

	const proxy = await startBlobProxy(az.url);
	const url = `${proxy.url}/${C}/p6`;
	// through a proxy this process runs: the CLI must not block it (runCli)
	const push = async (what) => {
		const r = await runCli(['push', url, '--store', store], { env: KEY_ENV, timeout: 30000 });
		assert.equal(r.code, 0, describeCli(['push', url], r));
		return metricLine(r.stdout, what);
	};
	const first = await push('push');
	assert.deepEqual([first.n, first.already, first.failed], [blocks.length, 0, 0]);
	const again = await push('push again');
	assert.deepEqual([again.n, again.already], [0, blocks.length]);
	// the record is lost: one listing, no block uploaded again
	for (const f of readdirSync(join(store, 'sync'))) if (f.endsWith('.metric-ids')) writeFileSync(join(store, 'sync', f), '');
	const n0 = proxy.records.length;
	const lost = await push('push without a record');
	assert.deepEqual([lost.n, lost.already, lost.failed], [0, blocks.length, 0]);
	const after = proxy.records.slice(n0);
	assert.deepEqual(after.filter((r) => r.method === 'PUT' && r.name.includes('/obstui/v1/metrics/')), [], 'blocks were uploaded again');
	assert.ok(after.some((r) => r.method === 'GET' && r.query.comp === 'list'), 'no listing');
	await proxy.close();
});

// --- a Thanos bucket ------------------------------------------------------------------

function promtool(args) {
	const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60000, maxBuffer: 64 << 20 });
	if (r.error) throw r.error;
	return r;
}

test('a Thanos bucket: promtool blocks uploaded with the SDK as Thanos lays them out pull and answer as Prometheus does; downsampled blocks skipped; push refused', T, async () => {
	const work = tempDir('obstui-thanos-');
	const now = Math.floor(Date.now() / 1000);
	const start = now - 5 * 3600;
	let om = '# TYPE th_requests counter\n# HELP th_requests Requests.\n';
	for (let t = start; t <= now - 600; t += 30)
		for (const code of ['200', '500'])
			om += `th_requests_total{code="${code}",job="th"} ${(t - start) * (code === '200' ? 3 : 0.5)} ${t}\n`;
	om += '# TYPE th_temp gauge\n';
	for (let t = start; t <= now - 600; t += 60) om += `th_temp{room="a"} ${20 + Math.sin(t / 900)} ${t}\n`;
	om += '# EOF\n';
	writeFileSync(join(work, 'in.om'), om);
	const out = join(work, 'blocks');
	const c = promtool(['tsdb', 'create-blocks-from', 'openmetrics', join(work, 'in.om'), out]);
	assert.equal(c.status, 0, c.stderr + c.stdout);
	const made = readdirSync(out).filter((d) => ULID_RE.test(d)).sort();
	assert.ok(made.length >= 2, `promtool made blocks: ${readdirSync(out)}`);

	// upload as a Thanos sidecar does: index, chunks, then meta.json with its thanos section
	const cc = az.blobServiceClient().getContainerClient(C);
	const up = (name, buf) => cc.getBlockBlobClient(name).upload(buf, buf.length);
	const uploadBlock = async (dir, id, resolution) => {
		const rels = ['index', ...readdirSync(join(dir, 'chunks')).map((x) => `chunks/${x}`)];
		for (const rel of rels) await up(`thanos/${id}/${rel}`, readFileSync(join(dir, rel)));
		const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
		meta.ulid = id;
		meta.thanos = {
			labels: { cluster: 'it', replica: 'a' }, downsample: { resolution }, source: 'sidecar',
			segment_files: readdirSync(join(dir, 'chunks')),
			files: [...rels.map((rel) => ({ rel_path: rel, size_bytes: statSync(join(dir, rel)).size })), { rel_path: 'meta.json' }],
		};
		await up(`thanos/${id}/meta.json`, Buffer.from(JSON.stringify(meta, null, '\t')));
	};
	for (const id of made) await uploadBlock(join(out, id), id, 0);
	// a 5m-downsampled block (its data is raw, but its meta says what Thanos would)
	const ds = '01JAAAAAAAAAAAAAAAAAAAAAAA';
	await uploadBlock(join(out, made[0]), ds, 300000);
	await up('thanos/debug/metas/x.json', Buffer.from('{}')); // Thanos keeps other things in a bucket

	const cfg = join(work, 'config');
	const rc = cli(['remote', 'add', 'th', az.containerUrl(C, 'thanos'), '--layout', 'thanos', '--config', cfg]);
	assert.equal(rc.code, 0, describeCli(['remote', 'add'], rc));
	assert.match(readFileSync(cfg, 'utf8'), /layout = thanos/);

	// push is refused, and writes nothing
	const before = await az.listNames(C, 'thanos/');
	const pr = cli(['push', 'th', '--config', cfg, '--store', src.store], { env: KEY_ENV });
	assert.notEqual(pr.code, 0, describeCli(['push', 'th'], pr));
	assert.match(pr.stderr, /Thanos bucket/);
	assert.deepEqual(await az.listNames(C, 'thanos/'), before, 'a refused push wrote into the bucket');

	// doctor lists and reads it, and does not write into it
	const doc = cli(['doctor', 'th', '--config', cfg], { env: { AZURE_STORAGE_SAS_TOKEN: az.sasFor(C, 'rl', 600) }, timeout: 30000 });
	assert.equal(doc.code, 0, describeCli(['doctor', 'th'], doc));
	assert.match(doc.stdout, new RegExp(`list .*${made.length + 1} blocks under`), doc.stdout);
	assert.match(doc.stdout, /read .*read the meta of block/, doc.stdout);
	assert.match(doc.stdout, /write .*not tried: a Thanos bucket is only read/, doc.stdout);
	assert.deepEqual(await az.listNames(C, 'thanos/'), before, 'doctor wrote into the bucket');

	// pulled with a read-and-list SAS only (the auth chain: no key in the environment)
	const dst = tempDir('obstui-thanos-dst-');
	assert.equal(process.env.AZURE_STORAGE_KEY, undefined, 'test bug: a key in the environment');
	const sasEnv = { AZURE_STORAGE_SAS_TOKEN: az.sasFor(C, 'rl', 600) };
	const r = cli(['pull', 'th', '--config', cfg, '--store', dst], { env: sasEnv, timeout: 60000 });
	assert.equal(r.code, 0, describeCli(['pull', 'th'], r));
	const line = metricLine(r.stdout, 'pull th');
	assert.deepEqual([line.n, line.failed, line.skipped], [made.length, 0, 1]);
	assert.match(r.stdout, /skipped \(downsampled/);
	assert.deepEqual(metricBlocks(dst), made);

	// the compactor merges the first two blocks (a level-2 block naming them as
	// its sources) and marks them for deletion: the store has that data, so the
	// next pull fetches nothing; the marked blocks are not taken either
	const merged = '01JBBBBBBBBBBBBBBBBBBBBBBB';
	{
		const dir = join(out, made[0]);
		const rels = ['index', ...readdirSync(join(dir, 'chunks')).map((x) => `chunks/${x}`)];
		for (const rel of rels) await up(`thanos/${merged}/${rel}`, readFileSync(join(dir, rel)));
		const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
		meta.ulid = merged;
		meta.compaction = { level: 2, sources: [made[0], made[1]], parents: [] };
		meta.thanos = { labels: { cluster: 'it' }, downsample: { resolution: 0 }, source: 'compactor',
			files: rels.map((rel) => ({ rel_path: rel, size_bytes: statSync(join(dir, rel)).size })) };
		await up(`thanos/${merged}/meta.json`, Buffer.from(JSON.stringify(meta)));
		for (const id of [made[0], made[1]])
			await up(`thanos/${id}/deletion-mark.json`, Buffer.from(JSON.stringify({ id, deletion_time: now, version: 1 })));
	}
	const r2 = cli(['pull', 'th', '--config', cfg, '--store', dst], { env: sasEnv, timeout: 60000 });
	assert.equal(r2.code, 0, describeCli(['pull', 'th'], r2));
	const l2 = metricLine(r2.stdout, 'pull th after compaction');
	assert.deepEqual([l2.n, l2.already, l2.failed, l2.skipped], [0, made.length - 2 + 1, 0, 3]);
	assert.deepEqual(metricBlocks(dst), made);
	// a fresh store takes the merged block and the unmarked ones, not the marked sources
	const dst2 = tempDir('obstui-thanos-dst2-');
	const r3 = cli(['pull', 'th', '--config', cfg, '--store', dst2], { env: sasEnv, timeout: 60000 });
	assert.equal(r3.code, 0, describeCli(['pull', 'th'], r3));
	assert.deepEqual(metricBlocks(dst2), [merged, ...made.slice(2)].sort());

	const srv = await startServe({ store: dst, args: ['--zipkin', 'off'] });
	const prom = await startPrometheus({ dataDir: out, retention: '100y' });
	try {
		for (const q of ['th_requests_total', 'sum by (code) (rate(th_requests_total[5m]))',
			'max_over_time(th_temp[30m])', 'count(th_temp)', 'increase(th_requests_total{code="500"}[1h])']) {
			for (const at of [now - 4 * 3600, now - 900]) {
				const mine = await promApi(srv.api, '/api/v1/query', { query: q, time: String(at) });
				const want = await promApi(prom.url, '/api/v1/query', { query: q, time: String(at) });
				assert.equal(want.status, 200, want.text);
				assert.ok(want.json.data.result.length > 0, `${q}: Prometheus answers nothing (test bug)`);
				const why = compareAnswers(mine, want);
				assert.equal(why, null, `${q} at ${at}: ${why}`);
			}
			const range = { query: q, start: String(start + 600), end: String(now - 600), step: '300' };
			const why = compareAnswers(await promApi(srv.api, '/api/v1/query_range', range), await promApi(prom.url, '/api/v1/query_range', range));
			assert.equal(why, null, `${q} over a range: ${why}`);
		}
	} finally {
		await prom.stop();
		await srv.stop();
	}
});
