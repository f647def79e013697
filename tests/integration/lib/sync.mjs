// sync.mjs - helpers for the push/pull tests (sync*.test.mjs): stores with
// sealed blocks made from real SDK traffic, the CLI run in the background,
// the remote's layout read back with the Azure SDK, and a blob proxy that
// can hold requests to interrupt a push at a chosen point.
//
//   const shop = await makeStore({ rounds: 2, quick: 2 });     // sealed blocks, and what was sent
//   const r = cli(['push', url, '--store', shop.store], { env: { AZURE_STORAGE_KEY: az.key } });
//   const line = parseSyncLine(r.stdout);                      // {verb, n, already, failed, ...}
//   const blocks = await remoteBlocks(az, 'ctr', 'prefix');    // [{id, name, metaName, hour}]
//
// Everything started here (obstui children, proxies) is stopped by an
// after() hook of the test file, or killed at process exit.

import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { readdirSync, readFileSync, existsSync } from 'node:fs';
import { join } from 'node:path';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { after } from 'node:test';
import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import protobuf from 'protobufjs';
import { REPO, BIN, assertBinary, startServe, cli, describeCli, tempDir, waitFor } from './obstui.mjs';
import { startRecordingProxy } from './proxy.mjs';
import { richTrace, takeExportErrors } from './sdk.mjs';
import { captured } from './traces.mjs';
import { decodeTraces, mergeMaps, spanMap } from './otlp.mjs';
import { cliTraceMap } from './clijson.mjs';

const children = new Set();
const proxies = new Set();
after(async () => {
	for (const c of [...children]) c.kill('SIGKILL');
	for (const p of [...proxies]) await p.close().catch(() => {});
});
process.on('exit', () => {
	for (const c of children) try { c.kill('SIGKILL'); } catch { /* gone */ }
});

// --- the CLI -------------------------------------------------------------------------

// spawnCli(args, {env}) -> {pid, child, done: Promise<{code, signal, stdout, stderr}>, kill(sig)}
// The CLI in the background, so a test can kill it part way.
export function spawnCli(args, { env = {} } = {}) {
	assertBinary();
	const child = spawn(BIN, args, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
	children.add(child);
	let stdout = '';
	let stderr = '';
	child.stdout.setEncoding('utf8');
	child.stderr.setEncoding('utf8');
	child.stdout.on('data', (d) => { stdout += d; });
	child.stderr.on('data', (d) => { stderr += d; });
	const done = new Promise((res) => child.on('close', (code, signal) => {
		children.delete(child);
		res({ code, signal, stdout, stderr });
	}));
	return { pid: child.pid, child, done, kill: (sig = 'SIGKILL') => child.kill(sig) };
}

// runCli(args, {env, timeout}) -> {code, signal, stdout, stderr}: cli() without
// blocking the test process, for commands that talk to a server this process
// runs (a proxy, a fake token endpoint): spawnSync would stop it answering.
// Killed (SIGKILL) after timeout ms.
export async function runCli(args, { env = {}, timeout = 20000 } = {}) {
	const h = spawnCli(args, { env });
	const timer = setTimeout(() => h.kill('SIGKILL'), timeout);
	const r = await h.done;
	clearTimeout(timer);
	return r;
}

// cli() that insists on exit status `code` (default 0) and says why not.
export function cliOk(args, { env = {}, code = 0, timeout = 30000 } = {}) {
	const r = cli(args, { env, timeout });
	assert.equal(r.code, code, describeCli(args, r));
	return r;
}

// "pushed 3 blocks (1.2 KiB) to URL in 0.1 s; 0 already there; 0 failed"
// -> {verb, n, size, remote, seconds, already, failed}; fails the test when
// stdout is not exactly one such line.
const SYNC_LINE = /^(pushed|pulled) (\d+) blocks? \(([^)]*)\) (?:to|from) (\S+) in (\d+(?:\.\d+)?) s; (\d+) already (?:there|here); (\d+) failed$/;
export function parseSyncLine(stdout, what = 'output') {
	const lines = String(stdout).split('\n').filter((l) => l !== '');
	assert.equal(lines.length, 1, `${what}: want one line on stdout, got ${JSON.stringify(stdout)}`);
	const m = SYNC_LINE.exec(lines[0]);
	assert.ok(m, `${what}: stdout is not "pushed|pulled N block(s) (SIZE) to|from REMOTE in T s; K already there|here; F failed": ${JSON.stringify(lines[0])}`);
	return {
		verb: m[1], n: Number(m[2]), size: m[3], remote: m[4], seconds: Number(m[5]),
		already: Number(m[6]), failed: Number(m[7]),
	};
}

// Fails the test if any secret appears in text, raw or percent-encoded.
export function assertNoSecrets(text, secrets, what) {
	for (const s of secrets) {
		if (!s || s.length < 8) continue;
		const forms = new Set([s, encodeURIComponent(s), decodeURIComponentSafe(s)]);
		for (const f of forms)
			assert.ok(!String(text).includes(f), `${what}: a secret appears in the output (${f.slice(0, 6)}...): ${String(text).slice(0, 600)}`);
	}
}
function decodeURIComponentSafe(s) {
	try { return decodeURIComponent(s); } catch { return s; }
}

// The signature of a SAS query ("...&sig=XYZ%3D") as it goes on the wire and decoded.
export function sasSignature(sas) {
	return new URLSearchParams(sas.replace(/^\?/, '')).get('sig');
}

// --- stores ---------------------------------------------------------------------------

export function stats(store) {
	const args = ['stats', '--json', '--store', store];
	const r = cli(args, { timeout: 10000 });
	assert.equal(r.code, 0, describeCli(args, r));
	return JSON.parse(r.stdout);
}

export async function waitSealed(store, { timeout = 20000 } = {}) {
	return waitFor(`the head of ${store} to be sealed`, () => {
		const s = stats(store);
		return s.headSpans === 0 && s.blocks > 0 ? s : null;
	}, { timeout, interval: 200 });
}

// The ids of the sealed blocks in a store (blocks/<ULID>.blk).
export function localBlockIds(store) {
	const d = join(store, 'blocks');
	if (!existsSync(d)) return [];
	return readdirSync(d).filter((f) => /^[0-9A-Z]{26}\.blk$/.test(f)).map((f) => f.slice(0, 26)).sort();
}
export function localBlockFile(store, id) {
	return readFileSync(join(store, 'blocks', `${id}.blk`));
}

// What STORE/sync/*.ids records as on remotes: {file: [ids]}.
export function knownIds(store) {
	const d = join(store, 'sync');
	const out = {};
	if (!existsSync(d)) return out;
	for (const f of readdirSync(d).filter((x) => x.endsWith('.ids')))
		out[f] = readFileSync(join(d, f), 'utf8').split('\n').filter((l) => /^[0-9A-Z]{26}$/.test(l));
	return out;
}

// Every trace id the store holds (search {} over all time).
export function storeTraceIds(store) {
	const args = ['search', '{ }', '--json', '--limit', '100000', '--store', store];
	const r = cli(args, { timeout: 20000 });
	assert.equal(r.code, 0, describeCli(args, r));
	return new Set(JSON.parse(r.stdout).traces.map((t) => t.traceID.toLowerCase()));
}

// `obstui trace ID --json` as a span map (null when the trace is not there).
export function cliTrace(store, id) {
	const args = ['trace', id, '--json', '--store', store];
	const r = cli(args, { timeout: 20000 });
	if (r.code !== 0) return null;
	return cliTraceMap(r.stdout, args);
}

// --- SDK traffic ---------------------------------------------------------------------------

const SHOP = ['frontend', 'cart', 'payment'];

// shopTraffic(otlpUrl, {tag, traces, failEvery, bulkBytes})
//   -> {traceIds, errorTraceIds}
// Traces across three services (each its own provider and resource, as
// three processes would be), with attributes of several types, events,
// links to the previous trace, and every `failEvery`th trace failing in
// payment (an exception event, status ERROR with a message).  bulkBytes
// puts that many random (incompressible) characters into attributes of one
// more trace, so its block is larger than a small upload block size.
export async function shopTraffic(otlpUrl, { tag = 'shop', traces = 4, failEvery = 2, bulkBytes = 0 } = {}) {
	const providers = SHOP.map((svc) => new BasicTracerProvider({
		resource: resourceFromAttributes({
			'service.name': `${tag}-${svc}`, 'service.version': '2.0.1', 'deployment.environment.name': 'it',
			'host.name': `${svc}-host`, 'process.pid': 1000 + svc.length,
		}),
		spanProcessors: [new BatchSpanProcessor(new ProtoExporter({ url: `${otlpUrl}/v1/traces`, timeoutMillis: 10000 }),
			{ scheduledDelayMillis: 60000, maxExportBatchSize: 1000, maxQueueSize: 10000 })],
	}));
	const [fe, cart, pay] = providers.map((p, i) => p.getTracer(`it.${SHOP[i]}`, '0.3.0'));
	const t0 = Date.now() - 30000;
	const at = (ms) => new Date(t0 + ms);
	const traceIds = [];
	const errorTraceIds = [];
	let prev = null;
	for (let i = 0; i < traces; i++) {
		const fail = failEvery > 0 && i % failEvery === failEvery - 1;
		const base = i * 500;
		const root = fe.startSpan(`GET /shop/${i}`, {
			kind: SpanKind.SERVER, startTime: at(base),
			attributes: {
				'http.request.method': 'GET', 'url.path': `/shop/${i}`, 'it.index': i, 'it.ratio': i / 7,
				'it.flag': i % 2 === 0, 'it.tags': ['a', `t${i}`], 'user.id': `u-${randomBytes(3).toString('hex')}`,
			},
			links: prev ? [{ context: prev, attributes: { 'link.reason': 'previous request' } }] : [],
		});
		root.addEvent('request.accepted', { 'queue.ms': 3 }, at(base + 1));
		const ctx = trace.setSpan(ROOT_CONTEXT, root);
		const call = fe.startSpan('POST cart/checkout', { kind: SpanKind.CLIENT, startTime: at(base + 5),
			attributes: { 'server.address': 'cart', 'server.port': 8080 } }, ctx);
		// the cart service continues the trace from the propagated context
		const remote = trace.setSpanContext(ROOT_CONTEXT, { ...call.spanContext(), isRemote: true });
		const srv = cart.startSpan('checkout', { kind: SpanKind.SERVER, startTime: at(base + 7),
			attributes: { 'cart.items': i + 1, 'cart.total': 9.99 * (i + 1) } }, remote);
		const sctx = trace.setSpan(ROOT_CONTEXT, srv);
		const db = cart.startSpan('SELECT carts', { kind: SpanKind.CLIENT, startTime: at(base + 9),
			attributes: { 'db.system.name': 'postgresql', 'db.query.text': 'SELECT * FROM carts WHERE id = $1' } }, sctx);
		db.end(at(base + 12));
		const payCall = cart.startSpan('POST payment/charge', { kind: SpanKind.CLIENT, startTime: at(base + 13) }, sctx);
		const premote = trace.setSpanContext(ROOT_CONTEXT, { ...payCall.spanContext(), isRemote: true });
		const charge = pay.startSpan('charge', { kind: SpanKind.SERVER, startTime: at(base + 15),
			attributes: { 'payment.method': i % 2 ? 'card' : 'invoice', 'payment.amount_cents': 999 * (i + 1) } }, premote);
		charge.addEvent('fraud.check', { 'fraud.score': 0.125, 'fraud.ok': !fail }, at(base + 16));
		if (fail) {
			charge.recordException(Object.assign(new Error(`card declined #${i}`), { name: 'CardError' }), at(base + 20));
			charge.setStatus({ code: SpanStatusCode.ERROR, message: `card declined #${i}` });
			payCall.setStatus({ code: SpanStatusCode.ERROR, message: 'payment answered 402' });
			errorTraceIds.push(root.spanContext().traceId);
		} else {
			charge.setStatus({ code: SpanStatusCode.OK });
		}
		charge.end(at(base + 22));
		payCall.end(at(base + 23));
		srv.end(at(base + 25));
		call.end(at(base + 26));
		const kafka = fe.startSpan('orders publish', { kind: SpanKind.PRODUCER, startTime: at(base + 27),
			attributes: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' } }, ctx);
		kafka.end(at(base + 28));
		root.end(at(base + 30));
		prev = root.spanContext();
		traceIds.push(root.spanContext().traceId);
	}
	if (bulkBytes > 0) {
		const root = fe.startSpan('bulk upload', { kind: SpanKind.SERVER, startTime: at(traces * 500) });
		const ctx = trace.setSpan(ROOT_CONTEXT, root);
		const per = 16384;
		for (let k = 0; k * per < bulkBytes; k++) {
			const s = cart.startSpan(`bulk part ${k}`, { kind: SpanKind.INTERNAL, startTime: at(traces * 500 + k),
				attributes: { 'bulk.payload': randomBytes(per * 3 / 4).toString('base64'), 'bulk.part': k } }, ctx);
			s.end(at(traces * 500 + k + 1));
		}
		root.end(at(traces * 500 + 200));
		traceIds.push(root.spanContext().traceId);
	}
	for (const p of providers) {
		await p.forceFlush();
		await p.shutdown().catch(() => {});
	}
	return { traceIds, errorTraceIds };
}

// makeStore({store, rounds, quick, origin, args, bulkBytes, tag})
//   -> {store, sent (span map of everything the SDK sent), traceIds, errorTraceIds, blocks}
// rounds: serve runs with --seal-idle 1s that get shop traffic (and one SDK
// rich trace), wait until everything is sealed, then stop; quick: further
// serve runs with one small trace each, sealed by the stop (one block each).
export async function makeStore({ store = tempDir('obstui-sync-'), rounds = 1, quick = 0, origin = 'it-origin',
	args = [], bulkBytes = 0, tag = 'shop', tracesPerRound = 4 } = {}) {
	const maps = [];
	const traceIds = [];
	const errorTraceIds = [];
	for (let r = 0; r < rounds + quick; r++) {
		const srv = await startServe({ store, args: ['--seal-idle', '1s', '--origin', origin, ...args] });
		const proxy = await startRecordingProxy(srv.otlp);
		try {
			let got;
			if (r < rounds) {
				got = await shopTraffic(proxy.url, { tag: `${tag}${r}`, traces: tracesPerRound, bulkBytes: r === 0 ? bulkBytes : 0 });
				const rich = await richTrace(new ProtoExporter({ url: `${proxy.url}/v1/traces` }), { service: `${tag}${r}-rich` });
				assert.equal(rich.flushError, null, 'the SDK could not export the rich trace');
				got.traceIds.push(rich.traceId);
				got.errorTraceIds.push(rich.traceId); // its client span fails
			} else {
				got = await shopTraffic(proxy.url, { tag: `${tag}q${r}`, traces: 1, failEvery: 0 });
			}
			assert.deepEqual(takeExportErrors(), [], 'the SDK exporter reported errors');
			maps.push(captured(proxy.records, { expectEncoding: 'proto' }));
			traceIds.push(...got.traceIds);
			errorTraceIds.push(...got.errorTraceIds);
			if (r < rounds) await waitSealed(store);
		} finally {
			await proxy.close();
		}
		const st = await srv.stop();
		assert.equal(st.code, 0, `obstui serve exited ${st.code}/${st.signal}: ${srv.stderr().slice(-1500)}`);
	}
	const s = stats(store);
	assert.equal(s.headSpans, 0, 'test bug: unsealed spans left in the store');
	return { store, sent: mergeMaps(...maps), traceIds, errorTraceIds, blocks: localBlockIds(store) };
}

// --- the remote ------------------------------------------------------------------------------

const ULID = '[0-9A-HJKMNP-TV-Z]{26}';

// remoteBlocks(az, container, prefix) -> [{id, name, metaName, hour: 'YYYY/MM/DD/HH', hasMeta, hasBlock}]
// Fails the test on a name under obstui/ that is not in the layout.
export async function remoteBlocks(az, container, prefix = '') {
	const p = prefix ? `${prefix.replace(/\/+$/, '')}/` : '';
	const names = await az.listNames(container, p);
	const re = new RegExp(`^${p.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}obstui/v1/blocks/(\\d{4}/\\d{2}/\\d{2}/\\d{2})/(${ULID})(\\.json)?$`);
	const byId = new Map();
	for (const n of names) {
		const m = re.exec(n);
		assert.ok(m, `blob ${n} is not in obstui's layout (${p}obstui/v1/blocks/YYYY/MM/DD/HH/ULID[.json])`);
		const e = byId.get(m[2]) ?? { id: m[2], hour: m[1] };
		if (m[3]) { e.metaName = n; e.hasMeta = true; } else { e.name = n; e.hasBlock = true; }
		byId.set(m[2], e);
	}
	return [...byId.values()].sort((a, b) => (a.id < b.id ? -1 : 1));
}

// The UTC hour a ULID's time names, as 'YYYY/MM/DD/HH'.
export function ulidHour(id) {
	const A = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
	let ms = 0;
	for (const c of id.slice(0, 10)) ms = ms * 32 + A.indexOf(c);
	const d = new Date(ms);
	const p = (n) => String(n).padStart(2, '0');
	return `${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}`;
}

// zstd -d of a block (its skippable index frames are skipped), decoded as
// OTLP TracesData into a span map.
export function zstdDecompress(buf) {
	const r = spawnSync('zstd', ['-d', '-c', '-q'], { input: buf, maxBuffer: 1 << 30, timeout: 20000 });
	if (r.error) throw new Error(`zstd: ${r.error.message}`);
	if (r.status !== 0) throw new Error(`zstd -d failed (${r.status}): ${r.stderr}`);
	return r.stdout;
}
export function zstdCompress(buf) {
	const r = spawnSync('zstd', ['-c', '-q', '-3'], { input: buf, maxBuffer: 1 << 30, timeout: 20000 });
	if (r.error || r.status !== 0) throw new Error(`zstd failed: ${r.error?.message ?? r.stderr}`);
	return r.stdout;
}
export function decodeBlock(buf) {
	return spanMap(decodeTraces(zstdDecompress(buf)));
}
// The same with the schema obstui is built from (proto/ in the repository),
// loaded by protobufjs: both readings of a block must agree.
let repoTracesData = null;
export function decodeBlockWithRepoProtos(buf) {
	if (!repoTracesData) {
		const root = new protobuf.Root();
		root.resolvePath = (origin, target) => join(REPO, 'proto', target);
		root.loadSync('opentelemetry/proto/trace/v1/trace.proto', { keepCase: false });
		repoTracesData = root.lookupType('opentelemetry.proto.trace.v1.TracesData');
	}
	const msg = repoTracesData.decode(zstdDecompress(buf));
	const hexIds = (o) => {
		if (Array.isArray(o)) return o.map(hexIds);
		if (o === null || typeof o !== 'object') return o;
		const r = {};
		for (const [k, v] of Object.entries(o))
			r[k] = ['traceId', 'spanId', 'parentSpanId'].includes(k) && typeof v === 'string'
				? Buffer.from(v, 'base64').toString('hex') : hexIds(v);
		return r;
	};
	return spanMap(hexIds(repoTracesData.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false })));
}

export function traceIdsOf(map) {
	return new Set([...map.keys()].map((k) => k.split('/')[0]));
}

// --- a blob proxy ------------------------------------------------------------------------------

// startBlobProxy(targetOrigin) -> {url, origin, records, hold(pred), holding(), release(), close()}
// An HTTP proxy on 127.0.0.1 in front of an http Azurite.  Shared Key and SAS
// do not sign the host, so obstui can be pointed at the proxy's URL
// instead.  Each request is recorded ({method, name (the blob name after
// ACCOUNT/CONTAINER/), query, status}); hold(pred) parks every later request
// for which pred(record, proxy) is true, without answering, until release()
// forwards them all.
export async function startBlobProxy(target) {
	const t = new URL(target);
	const records = [];
	let pred = null;
	const held = [];
	const sockets = new Set();
	const forward = (req, body, rec, res) => {
		const headers = { ...req.headers, host: t.host };
		delete headers.connection;
		const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers, agent: false }, (r) => {
			const rc = [];
			r.on('data', (c) => rc.push(c));
			r.on('end', () => {
				rec.status = r.statusCode;
				rec.errorCode = r.headers['x-ms-error-code'];
				const b = Buffer.concat(rc);
				const h = { ...r.headers };
				delete h['transfer-encoding'];
				delete h.connection;
				if (req.method !== 'HEAD') h['content-length'] = b.length;
				try { res.writeHead(r.statusCode, h); res.end(b); } catch { /* client gone */ }
			});
		});
		up.on('error', (e) => {
			rec.status = 502;
			try { res.writeHead(502, { 'content-type': 'text/plain' }); res.end(`proxy: ${e.message}`); } catch { /* gone */ }
		});
		up.end(body);
	};
	const proxy = { records };
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const u = new URL(req.url, 'http://x');
			const parts = u.pathname.split('/').slice(3).map(decodeURIComponent);
			const rec = { method: req.method, name: parts.join('/'), query: Object.fromEntries(u.searchParams),
				bytes: Buffer.concat(chunks).length, at: Date.now(), status: null };
			records.push(rec);
			const body = Buffer.concat(chunks);
			if (pred && pred(rec, proxy)) {
				rec.status = 'held';
				held.push(() => forward(req, body, rec, res));
				return;
			}
			forward(req, body, rec, res);
		});
	});
	server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	proxy.origin = `http://127.0.0.1:${server.address().port}`;
	// the same account path as the target: http://127.0.0.1:P/devstoreaccount1
	proxy.url = proxy.origin + t.pathname.replace(/\/+$/, '');
	proxy.hold = (p) => { pred = p; return proxy; };
	proxy.holding = () => held.length;
	proxy.release = () => { pred = null; for (const f of held.splice(0)) f(); };
	proxy.close = () => new Promise((r) => {
		proxies.delete(proxy);
		pred = null;
		held.length = 0;
		for (const s of sockets) s.destroy();
		server.close(() => r());
	});
	proxies.add(proxy);
	return proxy;
}
