// Metric blocks through a blob container: a `serve --push` (metric blocks
// of one minute here) feeds a real Azurite, and a UI attached to it on
// another store answers PromQL over the cluster's samples (its API is the
// one the UI's charts read) within seconds of their sealing; what is still
// in the cluster's head is not on the remote, and the attached side says
// nothing about it rather than something wrong.  And a UI attached to a
// Thanos bucket (blocks promtool wrote, uploaded with the Azure SDK as
// Thanos lays them out) takes its raw-resolution blocks, which answer as
// Prometheus answers on the same blocks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { BIN, startServe, tempDir, waitFor } from '../integration/lib/obstui.mjs';
import { startAzurite } from '../integration/lib/azurite.mjs';
import { startPrometheus, promApi, compareAnswers } from '../integration/lib/prom.mjs';
import { sendWrite } from '../integration/lib/promrw.mjs';
import { hasTmux, startUi } from './lib/tmux.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';
const ULID_RE = /^[0-9A-HJKMNP-TV-Z]{26}$/;

test('an attached UI answers for the metric samples a serve --push sealed, within seconds', { skip, timeout: 90000 }, async (t) => {
	const az = await startAzurite();
	t.after(() => az.stop());
	const url = az.containerUrl('cluster', 'metrics');
	const env = { AZURE_STORAGE_KEY: az.key };
	const srv = await startServe({
		store: tempDir(), env,
		// the default --push-interval (30 s): a sealed metric block is pushed at
		// once anyway (the push agent looks at STORE/metrics each second)
		args: ['--zipkin', 'off', '--push', url, '--metrics-block', '1m'],
	});
	t.after(() => srv.stop());
	const ui = await startUi({ t, env, args: ['--attach', url] });
	await ui.waitText(/pull http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/cluster\/metrics: /, { timeout: 15000 });

	// six minutes of samples: the older minutes are sealed at once (the head
	// keeps 1.5 block ranges), pushed within a second, pulled by the UI's
	// next 5 s cycle
	const end = Math.floor(Date.now() / 15000) * 15000;
	const start = end - 6 * 60000;
	const series = [];
	for (let i = 0; i < 4; i++) {
		const samples = [];
		for (let ts = start, k = 0; ts <= end; ts += 15000, k++) samples.push([ts, k * (i + 1) + 0.5]);
		series.push({ labels: { __name__: 'att_requests_total', pod: `p${i}` }, samples });
	}
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series });
	assert.equal(r.status, 204, r.body.toString());
	const sent = Date.now();

	const mdir = join(ui.store, 'metrics');
	const pulled = () => (existsSync(mdir) ? readdirSync(mdir).filter((d) => ULID_RE.test(d)) : []);
	await waitFor('metric blocks pulled by the attached UI', () => pulled().length >= 3, { timeout: 30000 });
	const took = Date.now() - sent;
	assert.ok(took < 15000, `the sealed samples took ${took} ms to reach the attached UI`);
	// the newest sealed time the UI has
	let sealedTo = 0;
	for (const b of pulled()) sealedTo = Math.max(sealedTo, JSON.parse(readFileSync(join(mdir, b, 'meta.json'), 'utf8')).maxTime);
	assert.ok(sealedTo > start && sealedTo <= end, `sealed up to ${sealedTo}, sent ${start}..${end}`);

	// over what was sealed, the attached UI answers as the cluster does
	for (const q of ['att_requests_total', 'sum(rate(att_requests_total[2m]))', 'count_over_time(att_requests_total[1m])']) {
		const range = { query: q, start: String((start + 60000) / 1000), end: String((sealedTo - 1) / 1000), step: '15' };
		const mine = await promApi(ui.api, '/api/v1/query_range', range);
		const theirs = await promApi(srv.api, '/api/v1/query_range', range);
		assert.equal(mine.status, 200, mine.text);
		assert.ok(mine.json.data.result.length > 0, `${q}: the attached UI answers nothing`);
		const why = compareAnswers(mine, theirs);
		assert.equal(why, null, `${q}: ${why}`);
	}
	// the cluster's head is not on the remote: the UI has no sample after sealedTo
	const last = await promApi(ui.api, '/api/v1/query', { query: 'max(timestamp(att_requests_total))', time: String(end / 1000) });
	let sealedNow = 0; // blocks may have come since: read after the query
	for (const b of pulled()) sealedNow = Math.max(sealedNow, JSON.parse(readFileSync(join(mdir, b, 'meta.json'), 'utf8')).maxTime);
	assert.equal(last.status, 200, last.text);
	assert.equal(last.json.data.result.length, 1, last.text);
	assert.ok(Number(last.json.data.result[0].value[1]) * 1000 < sealedNow, `a sample past the sealed range (${sealedNow}) reached the UI: ${last.text}`);
	await ui.keys('q');
	assert.equal(await ui.waitExit(), 0);
});

test('an attached UI follows a Thanos bucket: its raw blocks answer as Prometheus answers on them; a downsampled one is left', { skip, timeout: 120000 }, async (t) => {
	const az = await startAzurite();
	t.after(() => az.stop());
	await az.blobServiceClient().createContainer('thanos');
	const work = tempDir('obstui-tattach-');
	const now = Math.floor(Date.now() / 1000);
	const start = now - 4 * 3600;
	let om = '# TYPE ta_requests counter\n';
	for (let ts = start; ts <= now - 600; ts += 30) om += `ta_requests_total{code="200"} ${(ts - start) * 2} ${ts}\n`;
	om += '# EOF\n';
	writeFileSync(join(work, 'in.om'), om);
	const out = join(work, 'blocks');
	const c = spawnSync('promtool', ['tsdb', 'create-blocks-from', 'openmetrics', join(work, 'in.om'), out], { encoding: 'utf8', timeout: 60000 });
	assert.equal(c.status, 0, c.stderr + c.stdout);
	const made = readdirSync(out).filter((d) => ULID_RE.test(d)).sort();
	const cc = az.blobServiceClient().getContainerClient('thanos');
	const up = (name, buf) => cc.getBlockBlobClient(name).upload(buf, buf.length);
	const upload = async (id, from, resolution) => {
		const dir = join(out, from);
		const rels = ['index', ...readdirSync(join(dir, 'chunks')).map((x) => `chunks/${x}`)];
		for (const rel of rels) await up(`tenant/${id}/${rel}`, readFileSync(join(dir, rel)));
		const meta = JSON.parse(readFileSync(join(dir, 'meta.json'), 'utf8'));
		meta.ulid = id;
		meta.thanos = { labels: { cluster: 'c1' }, downsample: { resolution }, source: 'receive',
			files: [...rels.map((rel) => ({ rel_path: rel, size_bytes: statSync(join(dir, rel)).size })), { rel_path: 'meta.json' }] };
		await up(`tenant/${id}/meta.json`, Buffer.from(JSON.stringify(meta)));
	};
	for (const id of made) await upload(id, id, 0);
	await upload('01JCCCCCCCCCCCCCCCCCCCCCCC', made[0], 3600000);
	const cfg = join(work, 'config');
	const rc = spawnSync(BIN, ['remote', 'add', 'th', az.containerUrl('thanos', 'tenant'), '--layout', 'thanos', '--config', cfg], { encoding: 'utf8' });
	assert.equal(rc.status, 0, rc.stderr);

	const ui = await startUi({ t, env: { AZURE_STORAGE_KEY: az.key }, args: ['--attach', 'th', '--config', cfg] });
	const mdir = join(ui.store, 'metrics');
	const pulled = () => (existsSync(mdir) ? readdirSync(mdir).filter((d) => ULID_RE.test(d)).sort() : []);
	await waitFor('the Thanos blocks pulled by the attached UI', () => pulled().length >= made.length, { timeout: 30000 });
	assert.deepEqual(pulled(), made, 'the downsampled block was taken, or a raw one was not');
	const prom = await startPrometheus({ dataDir: out, retention: '100y' });
	try {
		for (const q of ['ta_requests_total', 'rate(ta_requests_total[5m])']) {
			const range = { query: q, start: String(start + 600), end: String(now - 600), step: '300' };
			const mine = await promApi(ui.api, '/api/v1/query_range', range);
			const want = await promApi(prom.url, '/api/v1/query_range', range);
			assert.ok(want.json.data.result.length > 0, `${q}: Prometheus answers nothing (test bug)`);
			const why = compareAnswers(mine, want);
			assert.equal(why, null, `${q}: ${why}`);
		}
	} finally {
		await prom.stop();
	}
	await ui.keys('q');
	assert.equal(await ui.waitExit(), 0);
});
