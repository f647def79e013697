// Metric blocks in the Prometheus TSDB format, both ways, with the real
// promtool and Prometheus 2.42:
//   - what obstui seals, `promtool tsdb analyze` accepts and `promtool tsdb
//     dump` gives back sample for sample (exactly what was sent);
//   - blocks that `promtool tsdb create-blocks-from openmetrics` writes,
//     copied into a store, answer obstui's queries as Prometheus answers
//     them on the same blocks.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { cpSync, mkdirSync, readdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { startServe, tempDir } from './lib/obstui.mjs';
import { startPrometheus, promApi, compareAnswers } from './lib/prom.mjs';
import { sendWrite } from './lib/promrw.mjs';

function promtool(args) {
	const r = spawnSync('promtool', args, { encoding: 'utf8', timeout: 60000, maxBuffer: 64 << 20 });
	if (r.error) throw r.error;
	return r;
}

// `promtool tsdb dump` lines: {a="b", ...} value timestamp
function parseDump(text) {
	const out = new Map();
	for (const line of text.split('\n')) {
		const m = /^(\{.*\}) (\S+) (-?\d+)$/.exec(line);
		if (!m) continue;
		if (!out.has(m[1])) out.set(m[1], []);
		out.get(m[1]).push([Number(m[3]), m[2]]);
	}
	return out;
}

test('promtool reads the blocks obstui seals: analyze passes, dump gives back every sample sent', async () => {
	const store = tempDir();
	const srv = await startServe({ store, args: ['--zipkin', 'off'] });
	const t0 = Math.floor(Date.now() / 1000) * 1000 - 50 * 60 * 1000;
	const sent = new Map();
	const series = [];
	for (let i = 0; i < 40; i++) {
		const labels = { __name__: i % 2 ? 'blk_counter_total' : 'blk_gauge', job: 'blocks', i: String(i) };
		const samples = [];
		for (let k = 0; k < 150; k++) samples.push([t0 + k * 15000, i % 2 ? k * (i + 1) : Math.sin(k / 7) * i + 0.25]);
		series.push({ labels, samples });
		const key = `{__name__="${labels.__name__}", i="${i}", job="blocks"}`;
		sent.set(key, samples);
	}
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series });
	assert.equal(r.status, 204, r.body.toString());
	const st = await srv.stop();
	assert.equal(st.code, 0, srv.stderr());
	const mdir = join(store, 'metrics');
	const blocks = readdirSync(mdir).filter((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d));
	assert.ok(blocks.length >= 1, `sealed blocks in ${mdir}: ${readdirSync(mdir)}`);
	for (const b of blocks) {
		const a = promtool(['tsdb', 'analyze', mdir, b]);
		assert.equal(a.status, 0, `promtool tsdb analyze ${b}: ${a.stderr}${a.stdout}`);
		assert.match(a.stdout, /Block ID: /);
	}
	const d = promtool(['tsdb', 'dump', mdir]);
	assert.equal(d.status, 0, d.stderr);
	const got = parseDump(d.stdout);
	assert.equal(got.size, sent.size, `series dumped: ${[...got.keys()].slice(0, 3)}`);
	for (const [key, samples] of sent) {
		const g = got.get(key);
		assert.ok(g, `promtool dump lacks ${key}`);
		g.sort((x, y) => x[0] - y[0]);
		assert.equal(g.length, samples.length, key);
		for (let k = 0; k < samples.length; k++) {
			assert.equal(g[k][0], samples[k][0], `${key} sample ${k} time`);
			assert.equal(Number(g[k][1]), samples[k][1], `${key} sample ${k} value`);
		}
	}
});

test('blocks promtool writes from OpenMetrics, copied into a store, answer as Prometheus answers on them', async () => {
	const work = tempDir();
	const now = Math.floor(Date.now() / 1000);
	const start = now - 3 * 3600;
	let om = '# TYPE om_requests counter\n# HELP om_requests Requests.\n';
	for (let t = start; t <= now - 600; t += 30)
		for (const code of ['200', '500'])
			om += `om_requests_total{code="${code}",job="om"} ${(t - start) * (code === '200' ? 3 : 0.5)} ${t}\n`;
	om += '# TYPE om_temp gauge\n';
	for (let t = start; t <= now - 600; t += 60) om += `om_temp{room="a"} ${20 + Math.sin(t / 900)} ${t}\n`;
	om += '# EOF\n';
	writeFileSync(join(work, 'in.om'), om);
	const out = join(work, 'blocks');
	const c = promtool(['tsdb', 'create-blocks-from', 'openmetrics', join(work, 'in.om'), out]);
	assert.equal(c.status, 0, c.stderr + c.stdout);
	const made = readdirSync(out).filter((d) => /^[0-9A-Z]{26}$/.test(d));
	assert.ok(made.length >= 1, `promtool made blocks: ${readdirSync(out)}`);

	// obstui: the blocks copied into STORE/metrics before it starts
	const store = tempDir();
	mkdirSync(join(store, 'metrics'), { recursive: true });
	for (const b of made) cpSync(join(out, b), join(store, 'metrics', b), { recursive: true });
	const srv = await startServe({ store, args: ['--zipkin', 'off'] });
	// Prometheus on a copy of the same blocks
	const prom = await startPrometheus({ dataDir: out, retention: '100y' });
	try {
		const at = now - 900;
		for (const q of ['om_requests_total', 'sum by (code) (rate(om_requests_total[5m]))',
			'max_over_time(om_temp[30m])', 'count(om_temp)', 'increase(om_requests_total{code="500"}[1h])']) {
			const mine = await promApi(srv.api, '/api/v1/query', { query: q, time: String(at) });
			const want = await promApi(prom.url, '/api/v1/query', { query: q, time: String(at) });
			assert.equal(want.status, 200, want.text);
			const why = compareAnswers(mine, want);
			assert.equal(why, null, `${q}: ${why}`);
			const range = { query: q.includes('[') ? q : `rate(${q}[5m])`, start: String(start + 600), end: String(now - 600), step: '300' };
			if (q.startsWith('count')) range.query = q;
			const mr = await promApi(srv.api, '/api/v1/query_range', range);
			const wr = await promApi(prom.url, '/api/v1/query_range', range);
			const why2 = compareAnswers(mr, wr);
			assert.equal(why2, null, `${range.query} over a range: ${why2}`);
		}
	} finally {
		await prom.stop();
		await srv.stop();
	}
});
