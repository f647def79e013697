// prom.mjs - a real Prometheus 2.42 (/usr/bin/prometheus) for the tests: the
// oracle that obstui's PromQL answers are compared with, and a real remote
// write sender.  Also VictoriaMetrics (/usr/bin/victoria-metrics), a second
// peer whose documented PromQL differences the harness can be checked on.
//
//   const p = await startPrometheus({ config: { scrape_configs: [...] } });
//   p.url   -> 'http://127.0.0.1:PORT'  (API, /api/v1/write with the receiver on)
//   await p.stop();
//
// Each server gets a temp storage dir, listens on 127.0.0.1 on a port picked
// free just before it starts (retried if another process took it meanwhile),
// and is killed by an after() hook or, failing that, at process exit.  The
// wait for /-/ready (or /health) is bounded.
//
// Prometheus 2.42 rejects native histograms (remote write or scrape) unless
// started with --enable-feature=native-histograms; startPrometheus passes it
// by default (nativeHistograms: false leaves it off).  It also turns on
// exemplar-storage, so remote-written exemplars are kept and can be asked
// for at /api/v1/query_exemplars.

import { spawn } from 'node:child_process';
import { writeFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import net from 'node:net';
import { after } from 'node:test';
import { tempDir, get, request } from './obstui.mjs';

export const PROMETHEUS_BIN = process.env.PROMETHEUS_BIN || '/usr/bin/prometheus';
export const VM_BIN = process.env.VICTORIA_METRICS_BIN || '/usr/bin/victoria-metrics';

const live = new Set();
after(async () => { for (const p of [...live]) await p.stop().catch(() => {}); });
process.on('exit', () => { for (const p of live) try { process.kill(p.pid, 'SIGKILL'); } catch { /* gone */ } });

export function freePort() {
	return new Promise((res, rej) => {
		const s = net.createServer();
		s.on('error', rej);
		s.listen(0, '127.0.0.1', () => { const { port } = s.address(); s.close(() => res(port)); });
	});
}

// A minimal YAML writer for the config objects used here (maps, lists,
// strings, numbers, booleans).
export function toYaml(v, ind = '') {
	if (Array.isArray(v)) {
		if (!v.length) return ' []';
		return v.map((x) => {
			if (x && typeof x === 'object') {
				const body = toYaml(x, `${ind}  `).replace(/^\n\s*/, '');
				return `\n${ind}- ${body}`;
			}
			return `\n${ind}- ${scalar(x)}`;
		}).join('');
	}
	if (v && typeof v === 'object') {
		const keys = Object.keys(v);
		if (!keys.length) return ' {}';
		return keys.map((k) => {
			const x = v[k];
			return x && typeof x === 'object' ? `\n${ind}${k}:${toYaml(x, `${ind}  `)}` : `\n${ind}${k}: ${scalar(x)}`;
		}).join('');
	}
	return ` ${scalar(v)}`;
}
const scalar = (x) => (typeof x === 'string' ? JSON.stringify(x) : String(x));

function spawnServer(kind, bin, argv, { readyPath, readyTimeout, url, dir }) {
	if (!existsSync(bin)) throw new Error(`${kind}: no binary at ${bin}`);
	const child = spawn(bin, argv, { stdio: ['ignore', 'pipe', 'pipe'] });
	let log = '';
	const keep = (d) => { log += d; if (log.length > 1 << 20) log = log.slice(-(1 << 19)); };
	child.stdout.on('data', keep);
	child.stderr.on('data', keep);
	const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
	const srv = {
		kind, pid: child.pid, url, dir, argv, child, exited, log: () => log,
		alive: () => child.exitCode === null && child.signalCode === null,
		async stop(signal = 'SIGTERM', timeout = 15000) {
			if (srv.alive()) {
				child.kill(signal);
				const t = setTimeout(() => child.kill('SIGKILL'), timeout);
				await exited;
				clearTimeout(t);
			}
			live.delete(srv);
			return exited;
		},
	};
	live.add(srv);
	const ready = (async () => {
		const end = Date.now() + readyTimeout;
		for (;;) {
			if (!srv.alive()) throw new Error(`${kind} exited before ready: ${JSON.stringify(await exited)}\n${argv.join(' ')}\n${log.slice(-3000)}`);
			try {
				const r = await get(url + readyPath, {}, { timeout: 2000 });
				if (r.status === 200) return srv;
			} catch { /* not up yet */ }
			if (Date.now() > end) {
				await srv.stop('SIGKILL');
				throw new Error(`${kind} not ready after ${readyTimeout} ms\n${argv.join(' ')}\n${log.slice(-3000)}`);
			}
			await new Promise((r) => setTimeout(r, 100));
		}
	})();
	return ready;
}

// startPrometheus({config, retention, nativeHistograms, args, readyTimeout}) -> server
//   config: object written as prometheus.yml (default: global only, no scrapes);
//   the config may use the string '$SELF' for 127.0.0.1:PORT of this server;
//   dataDir: the TSDB directory to use (blocks already in it are served).
export async function startPrometheus({ config = {}, retention = '30d', nativeHistograms = true, args = [], readyTimeout = 30000, dataDir = null } = {}) {
	let lastErr;
	for (let attempt = 0; attempt < 3; attempt++) {
		const port = await freePort();
		const self = `127.0.0.1:${port}`;
		const dir = tempDir('obstui-prom-');
		// evaluation_interval is Prometheus's default (1m): it is also the step of a
		// subquery written without one ([10m:]), which obstui takes as 1m
		const cfg = JSON.parse(JSON.stringify({ global: { scrape_interval: '15s', evaluation_interval: '1m' }, ...config })
			.replaceAll('$SELF', self));
		writeFileSync(join(dir, 'prometheus.yml'), `${toYaml(cfg).trimStart()}\n`);
		const argv = [
			`--config.file=${join(dir, 'prometheus.yml')}`,
			`--storage.tsdb.path=${dataDir ?? join(dir, 'data')}`,
			`--storage.tsdb.retention.time=${retention}`,
			`--web.listen-address=${self}`,
			'--web.enable-remote-write-receiver',
			'--web.enable-lifecycle',
			'--log.level=warn',
			`--enable-feature=exemplar-storage${nativeHistograms ? ',native-histograms' : ''}`,
			...args,
		];
		try {
			return await spawnServer('prometheus', PROMETHEUS_BIN, argv, { readyPath: '/-/ready', readyTimeout, url: `http://${self}`, dir });
		} catch (e) {
			lastErr = e;
			if (!/address already in use/.test(e.message)) throw e;
		}
	}
	throw lastErr;
}

// startVictoriaMetrics({args}) -> server; remote write at url + '/api/v1/write',
// PromQL (MetricsQL) at url + '/api/v1/query' etc.  -search.latencyOffset=0
// so freshly written samples are visible at once.
export async function startVictoriaMetrics({ retention = '100y', args = [], readyTimeout = 30000 } = {}) {
	let lastErr;
	for (let attempt = 0; attempt < 3; attempt++) {
		const port = await freePort();
		const self = `127.0.0.1:${port}`;
		const dir = tempDir('obstui-vm-');
		const argv = [
			`-storageDataPath=${join(dir, 'data')}`,
			`-retentionPeriod=${retention}`,
			`-httpListenAddr=${self}`,
			'-search.latencyOffset=0s',
			'-search.disableCache',
			'-loggerLevel=ERROR',
			...args,
		];
		try {
			return await spawnServer('victoria-metrics', VM_BIN, argv, { readyPath: '/health', readyTimeout, url: `http://${self}`, dir });
		} catch (e) {
			lastErr = e;
			if (!/address already in use/.test(e.message)) throw e;
		}
	}
	throw lastErr;
}

// --- asking and comparing ------------------------------------------------------------

// promApi(base, path, params, {method}) -> {status, json, text}
// params: object or array of [k, v] (repeated keys such as match[]).
export async function promApi(base, path, params = {}, { method = 'GET', timeout = 30000 } = {}) {
	const qs = new URLSearchParams(Array.isArray(params) ? params : Object.entries(params)).toString();
	const r = method === 'GET'
		? await request(`${base}${path}${qs ? `?${qs}` : ''}`, { timeout })
		: await request(`${base}${path}`, {
			method: 'POST', body: qs, timeout,
			headers: { 'content-type': 'application/x-www-form-urlencoded', 'content-length': Buffer.byteLength(qs) },
		});
	const text = r.body.toString('utf8');
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: r.status, json, text };
}

// Prometheus writes sample values as strings: "NaN", "+Inf", "-Inf", numbers.
export function pv(s) {
	if (s === '+Inf' || s === 'Inf') return Infinity;
	if (s === '-Inf') return -Infinity;
	if (s === 'NaN') return NaN;
	return Number(s);
}

export function close(a, b, rel = 1e-5) {
	if (Number.isNaN(a) || Number.isNaN(b)) return Number.isNaN(a) && Number.isNaN(b);
	if (a === b) return true;
	if (!Number.isFinite(a) || !Number.isFinite(b)) return false;
	const d = Math.abs(a - b);
	return d <= rel * Math.max(Math.abs(a), Math.abs(b)) || d < 1e-12;
}

export function labelKey(m) {
	return JSON.stringify(Object.keys(m).sort().map((k) => [k, m[k]]));
}

function sameHistogram(a, b) {
	if (!a || !b) return 'histogram missing on one side';
	if (!close(pv(a.count), pv(b.count))) return `histogram count ${a.count} vs ${b.count}`;
	if (!close(pv(a.sum), pv(b.sum))) return `histogram sum ${a.sum} vs ${b.sum}`;
	const ba = a.buckets ?? [];
	const bb = b.buckets ?? [];
	if (ba.length !== bb.length) return `histogram has ${ba.length} vs ${bb.length} buckets`;
	for (let i = 0; i < ba.length; i++) {
		const [ra, la, ha, ca] = ba[i];
		const [rb, lb, hb, cb] = bb[i];
		if (ra !== rb || !close(pv(la), pv(lb)) || !close(pv(ha), pv(hb)) || !close(pv(ca), pv(cb)))
			return `histogram bucket ${i}: ${JSON.stringify(ba[i])} vs ${JSON.stringify(bb[i])}`;
	}
	return null;
}

function samePoint(a, b, what) {
	if (a[0] !== b[0]) return `${what}: timestamp ${a[0]} vs ${b[0]}`;
	if (!close(pv(a[1]), pv(b[1]))) return `${what}: value ${a[1]} vs ${b[1]} at ${a[0]}`;
	return null;
}

function sameSeriesPoints(a, b, what) {
	for (const field of ['values', 'histograms']) {
		const va = a[field] ?? [];
		const vb = b[field] ?? [];
		if (va.length !== vb.length) {
			const ta = new Set(va.map((p) => p[0]));
			const tb = new Set(vb.map((p) => p[0]));
			const onlyA = [...ta].filter((t) => !tb.has(t)).slice(0, 3);
			const onlyB = [...tb].filter((t) => !ta.has(t)).slice(0, 3);
			return `${what}: ${va.length} vs ${vb.length} ${field} (only in first at ${onlyA.join(',') || '-'}; only in second at ${onlyB.join(',') || '-'})`;
		}
		for (let i = 0; i < va.length; i++) {
			const d = field === 'values' ? samePoint(va[i], vb[i], what)
				: (va[i][0] !== vb[i][0] ? `${what}: histogram timestamp ${va[i][0]} vs ${vb[i][0]}` : sameHistogram(va[i][1], vb[i][1]));
			if (d) return d;
		}
	}
	return null;
}

// compareAnswers(a, b, {ordered}) -> null when they agree, else a short reason.
// a, b: promApi() answers; a is the server under test, b the oracle.
// Errors agree when both are errors of the same status class (4xx / 5xx);
// results agree when the result type, the set of label sets and every
// value (1e-5 relative, NaN = NaN) agree.  ordered: the order of a vector
// result matters (sort, sort_desc, topk, bottomk): the value sequence must
// match; ties may come in either order.
export function compareAnswers(a, b, { ordered = false } = {}) {
	const okA = a.status === 200 && a.json?.status === 'success';
	const okB = b.status === 200 && b.json?.status === 'success';
	if (!okA || !okB) {
		if (okA !== okB) {
			const err = okA ? b : a;
			return `${okA ? 'oracle' : 'target'} failed: ${err.status} ${err.json?.errorType ?? ''} ${(err.json?.error ?? err.text).slice(0, 160)}`;
		}
		if (Math.floor(a.status / 100) !== Math.floor(b.status / 100))
			return `error status ${a.status} vs ${b.status}: ${(a.json?.error ?? a.text).slice(0, 120)}`;
		return null;
	}
	const da = a.json.data;
	const db = b.json.data;
	if (da.resultType !== db.resultType) return `resultType ${da.resultType} vs ${db.resultType}`;
	if (da.resultType === 'scalar' || da.resultType === 'string') {
		if (da.resultType === 'string') return da.result[0] === db.result[0] && da.result[1] === db.result[1] ? null : `string ${JSON.stringify(da.result)} vs ${JSON.stringify(db.result)}`;
		return samePoint(da.result, db.result, 'scalar');
	}
	const ra = da.result ?? [];
	const rb = db.result ?? [];
	const ma = new Map(ra.map((s) => [labelKey(s.metric), s]));
	const mb = new Map(rb.map((s) => [labelKey(s.metric), s]));
	if (ma.size !== ra.length) return 'duplicate label sets in the target\'s answer';
	const onlyA = [...ma.keys()].filter((k) => !mb.has(k));
	const onlyB = [...mb.keys()].filter((k) => !ma.has(k));
	if (onlyA.length || onlyB.length)
		return `series differ (${ra.length} vs ${rb.length}): only in target ${onlyA.slice(0, 2).join(' ') || '-'}; only in oracle ${onlyB.slice(0, 2).join(' ') || '-'}`;
	for (const [k, sa] of ma) {
		const sb = mb.get(k);
		if (da.resultType === 'vector') {
			if (!!sa.value !== !!sb.value) return `${k}: float vs histogram sample`;
			const d = sa.value ? samePoint(sa.value, sb.value, k) : (sa.histogram[0] !== sb.histogram[0] ? `${k}: timestamp` : sameHistogram(sa.histogram[1], sb.histogram[1]));
			if (d) return d;
		} else {
			const d = sameSeriesPoints(sa, sb, k);
			if (d) return d;
		}
	}
	if (ordered && da.resultType === 'vector') {
		for (let i = 0; i < ra.length; i++) {
			const x = ra[i].value ? pv(ra[i].value[1]) : NaN;
			const y = rb[i].value ? pv(rb[i].value[1]) : NaN;
			if (!close(x, y)) return `order differs at position ${i}: ${ra[i].value?.[1]} vs ${rb[i].value?.[1]}`;
		}
	}
	return null;
}
