// The command line: obstui trace (text and --json), search, import (OTLP/JSON,
// JSON lines, protobuf; plain, .gz, .zst), export (both formats, round trip),
// stats, and the exit codes and one-line errors.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { spawnSync } from 'node:child_process';
import { startServe, cli, describeCli, tempDir } from './lib/obstui.mjs';
import { mustSend, assertTrace, simpleRequest, fetchV2, assertSameSpans, traceId, spanId } from './lib/traces.mjs';
import { edgeRequest } from './lib/fixtures.mjs';
import { spanMap, mergeMaps, onlyTrace, encodeTraces, decodeTraces, stringifyJson } from './lib/otlp.mjs';
import { cliTraceMap, tracesDataOfLines } from './lib/clijson.mjs';

let srv;
let store;
const nowNs = () => BigInt(Date.now()) * 1000000n;

// A trace with two services and an error span.
function errTrace() {
	const tid = traceId();
	const [a, b, c] = [spanId(), spanId(), spanId()];
	const t0 = nowNs() - 30000000000n;
	const ns = (ms) => (t0 + BigInt(ms) * 1000000n).toString();
	return {
		tid,
		req: {
			resourceSpans: [
				{
					resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cli-web' } }] },
					scopeSpans: [{
						scope: { name: 'cli' },
						spans: [
							{ traceId: tid, spanId: a, name: 'GET /cli', kind: 2, startTimeUnixNano: ns(0), endTimeUnixNano: ns(250), status: { code: 1 } },
							{ traceId: tid, spanId: b, parentSpanId: a, name: 'render page', kind: 1, startTimeUnixNano: ns(200), endTimeUnixNano: ns(240) },
						],
					}],
				},
				{
					resource: { attributes: [{ key: 'service.name', value: { stringValue: 'cli-db' } }] },
					scopeSpans: [{
						scope: { name: 'cli' },
						spans: [{
							traceId: tid, spanId: c, parentSpanId: a, name: 'db.query', kind: 3,
							startTimeUnixNano: ns(10), endTimeUnixNano: ns(190), status: { code: 2, message: 'deadline exceeded' },
						}],
					}],
				},
			],
		},
	};
}

const T = {};
before(async () => {
	store = tempDir();
	srv = await startServe({ store });
	T.err = errTrace();
	T.other = simpleRequest({ service: 'cli-other', names: ['other op'] });
	T.web2 = simpleRequest({ service: 'cli-web', names: ['GET /second'], startNs: nowNs() - 10000000000n });
	T.old = simpleRequest({ service: 'cli-web', names: ['GET /old'], startNs: nowNs() - 2n * 3600n * 1000000000n });
	T.edge = edgeRequest({ serviceA: 'cli-edge' });
	for (const t of Object.values(T)) await mustSend(srv, t.req, { encoding: 'proto' });
});

function ok(args, opts) {
	const r = cli(args, opts);
	assert.equal(r.code, 0, describeCli(args, r));
	return r;
}

// A failure: exit `code`, and exactly one line on stderr, "obstui: ...".
function fails(args, code, re, opts = {}) {
	const r = cli(args, { timeout: 15000, ...opts });
	assert.equal(r.code, code, `want exit ${code}: ${describeCli(args, r)}`);
	const lines = r.stderr.trimEnd().split('\n');
	if (code === 1) {
		// the error is one line "obstui: ..."; import may add a summary line
		assert.match(lines[0], /^obstui: \S/, `want "obstui: ..." on stderr: ${describeCli(args, r)}`);
		assert.ok(lines.length === 1 || (args[0] === 'import' && lines.length <= lines.filter((l) => /^obstui: /.test(l)).length + 1),
			`want one line on stderr: ${describeCli(args, r)}`);
	} else {
		assert.match(r.stderr, /obstui|usage/i, `a usage error says what is wrong: ${describeCli(args, r)}`);
	}
	if (re) assert.match(r.stderr, re, describeCli(args, r));
	return r;
}

test('obstui trace prints a waterfall with services, span names and errors marked', { timeout: 20000 }, async () => {
	const args = ['trace', T.err.tid, '--store', store];
	const r = ok(args);
	const out = r.stdout;
	for (const s of ['cli-web', 'cli-db', 'GET /cli', 'render page', 'db.query'])
		assert.ok(out.includes(s), `obstui trace output lacks ${JSON.stringify(s)}:\n${out}`);
	const errLine = out.split('\n').find((l) => l.includes('db.query'));
	assert.match(errLine, /err|✗|✘|✖|⚠|!/i, `the error span's line is not marked:\n${out}`);
	// the root comes before its children
	assert.ok(out.indexOf('GET /cli') < out.indexOf('db.query'), `root first:\n${out}`);
	assert.ok(!/\x1b\[/.test(out), 'no colour escapes when stdout is not a terminal');
});

test('obstui trace --json is the trace the API serves', { timeout: 20000 }, async () => {
	for (const t of [T.err, T.edge]) {
		const args = ['trace', t.tid, '--store', store, '--json'];
		const got = cliTraceMap(ok(args).stdout, args);
		assertSameSpans(onlyTrace(spanMap(t.req), t.tid), got, `obstui trace ${t.tid} --json vs what was sent`);
		assertSameSpans(await fetchV2(srv, t.tid), got, `obstui trace ${t.tid} --json vs /api/v2/traces`);
	}
	// short ids are padded, as in the API
	const short = `0000000000000000${spanId()}`;
	const s = simpleRequest({ service: 'cli-short', tid: short });
	await mustSend(srv, s.req);
	const args = ['trace', short.replace(/^0+/, ''), '--store', store, '--json'];
	assertSameSpans(spanMap(s.req), cliTraceMap(ok(args).stdout, args), 'trace by short id');
});

test('obstui search prints matching trace ids; --json, --limit, --since', { timeout: 30000 }, async () => {
	const q = '{ resource.service.name = "cli-web" }';
	const r = ok(['search', q, '--store', store]);
	for (const t of [T.err, T.web2, T.old]) assert.ok(r.stdout.includes(t.tid), `search output lacks ${t.tid}:\n${r.stdout}`);
	assert.ok(!r.stdout.includes(T.other.tid), 'search printed a trace that does not match');
	// newest first
	assert.ok(r.stdout.indexOf(T.web2.tid) < r.stdout.indexOf(T.err.tid), `newest first:\n${r.stdout}`);
	assert.ok(r.stdout.indexOf(T.err.tid) < r.stdout.indexOf(T.old.tid), `newest first:\n${r.stdout}`);

	const lim = ok(['search', q, '--store', store, '--limit', '1']);
	assert.ok(lim.stdout.includes(T.web2.tid) && !lim.stdout.includes(T.err.tid), `--limit 1:\n${lim.stdout}`);

	const since = ok(['search', q, '--store', store, '--since', '1h']);
	assert.ok(since.stdout.includes(T.err.tid) && !since.stdout.includes(T.old.tid), `--since 1h:\n${since.stdout}`);

	const j = ok(['search', '{ status = error }', '--store', store, '--json']);
	let parsed;
	try { parsed = JSON.parse(j.stdout); } catch (e) { assert.fail(`search --json is not JSON: ${e.message}\n${j.stdout}`); }
	const list = Array.isArray(parsed) ? parsed : parsed.traces;
	assert.ok(Array.isArray(list), `search --json: want {"traces":[...]}: ${j.stdout.slice(0, 300)}`);
	const ids = list.map((x) => String(x.traceID ?? x.traceId).padStart(32, '0'));
	assert.ok(ids.includes(T.err.tid), `search --json lacks the error trace: ${j.stdout.slice(0, 500)}`);
	assert.ok(!ids.includes(T.other.tid));
	const e = list.find((x) => String(x.traceID ?? x.traceId).padStart(32, '0') === T.err.tid);
	assert.equal(e.rootServiceName, 'cli-web');
	assert.equal(e.rootTraceName, 'GET /cli');

	const none = ok(['search', '{ resource.service.name = "nobody-at-all" }', '--store', store]);
	assert.doesNotMatch(none.stdout, /[0-9a-f]{32}/, 'no ids for a query without matches');
});

// Write `reqs` (OTLP/JSON objects) to files in every supported form.
function importFiles(dir, reqs) {
	const [a, b, c, d, e, f, g] = reqs;
	const files = {};
	const put = (name, data) => { const p = join(dir, name); writeFileSync(p, data); files[name] = p; return p; };
	put('a.json', stringifyJson(a.req));
	put('b.jsonl', [b, c].map((x) => stringifyJson(x.req)).join('\n') + '\n');
	put('d.pb', encodeTraces(d.req));
	put('e.json.gz', gzipSync(Buffer.from(stringifyJson(e.req))));
	put('f.pb.gz', gzipSync(encodeTraces(f.req)));
	const plain = put('g.jsonl', stringifyJson(g.req) + '\n');
	const z = spawnSync('zstd', ['-q', '-f', plain, '-o', `${plain}.zst`]);
	assert.equal(z.status, 0, `zstd: ${z.stderr}`);
	files['g.jsonl.zst'] = `${plain}.zst`;
	return files;
}

test('obstui import reads OTLP/JSON, JSON lines, protobuf, .gz and .zst', { timeout: 60000 }, async () => {
	const dir = tempDir();
	const reqs = Array.from({ length: 7 }, (_, i) => (i === 0 ? edgeRequest({ serviceA: 'imp-edge' }) : simpleRequest({ service: `imp-${i}`, names: ['i0', 'i1'] })));
	const files = importFiles(dir, reqs);
	// zstd-compressed protobuf as well
	const h = simpleRequest({ service: 'imp-zst-pb', names: ['z'] });
	writeFileSync(join(dir, 'h.pb'), encodeTraces(h.req));
	assert.equal(spawnSync('zstd', ['-q', '-f', join(dir, 'h.pb'), '-o', join(dir, 'h.binpb.zst')]).status, 0);
	reqs.push(h);

	const fresh = tempDir();
	const list = [files['a.json'], files['b.jsonl'], files['d.pb'], files['e.json.gz'], files['f.pb.gz'], files['g.jsonl.zst'], join(dir, 'h.binpb.zst')];
	ok(['import', ...list, '--store', fresh]);
	for (const r of reqs) {
		const args = ['trace', r.tid, '--store', fresh, '--json'];
		const res = cli(args);
		assert.equal(res.code, 0, `imported trace not found: ${describeCli(args, res)}`);
		assertSameSpans(spanMap(r.req), cliTraceMap(res.stdout, args), `imported trace ${r.tid}`);
	}
	// a server on the imported store serves it
	const s2 = await startServe({ store: fresh });
	await assertTrace(s2, reqs[0].tid, spanMap(reqs[0].req), 'imported edge trace via the API');
	await s2.stop();

	// importing while serve runs on the store: the API sees it
	const live = simpleRequest({ service: 'imp-live', names: ['live'] });
	const p = join(dir, 'live.json');
	writeFileSync(p, stringifyJson(live.req));
	ok(['import', p, '--store', store]);
	await assertTrace(srv, live.tid, spanMap(live.req), 'trace imported while serve runs');
});

test('obstui import of a bad file fails with exit 1 and imports nothing from it', { timeout: 20000 }, async () => {
	const dir = tempDir();
	const bad = join(dir, 'bad.json');
	writeFileSync(bad, '{"resourceSpans": [ this is not json');
	const fresh = tempDir();
	fails(['import', bad, '--store', fresh], 1);
	fails(['import', join(dir, 'does-not-exist.json'), '--store', fresh], 1, /does-not-exist/);
	const badId = join(dir, 'badid.json');
	const { req, tid } = simpleRequest({ names: ['x'] });
	const wrong = structuredClone(req);
	wrong.resourceSpans[0].scopeSpans[0].spans[0].spanId = '0'.repeat(16);
	writeFileSync(badId, stringifyJson(wrong));
	fails(['import', badId, '--store', fresh], 1, /span.?id/i);
	fails(['trace', tid, '--store', fresh], 1);
});

test('obstui export round-trips in both formats, and through import', { timeout: 60000 }, async () => {
	const dir = tempDir();
	const want = mergeMaps(spanMap(T.edge.req), spanMap(T.err.req));

	const jf = join(dir, 'out.json');
	ok(['export', T.edge.tid, T.err.tid, '--store', store, '-o', jf, '--format', 'otlp-json']);
	assertSameSpans(want, spanMap(tracesDataOfLines(readFileSync(jf), 'export --format otlp-json')), 'export otlp-json');

	const pf = join(dir, 'out.pb');
	ok(['export', T.edge.tid, T.err.tid, '--store', store, '-o', pf, '--format', 'otlp-proto']);
	let td;
	try { td = decodeTraces(readFileSync(pf)); } catch (e) { assert.fail(`export otlp-proto is not protobuf TracesData: ${e.message}`); }
	assertSameSpans(want, spanMap(td), 'export otlp-proto');

	// to stdout, default format OTLP/JSON
	const so = ok(['export', T.err.tid, '--store', store]);
	assertSameSpans(spanMap(T.err.req), spanMap(tracesDataOfLines(so.stdout, 'export to stdout')), 'export to stdout');

	// the exports import into a fresh store unchanged
	for (const f of [jf, pf]) {
		const fresh = tempDir();
		ok(['import', f, '--store', fresh]);
		for (const t of [T.edge, T.err]) {
			const args = ['trace', t.tid, '--store', fresh, '--json'];
			assertSameSpans(spanMap(t.req), cliTraceMap(ok(args).stdout, args), `export ${f} -> import -> trace`);
		}
	}
});

test('obstui stats describes the store', { timeout: 20000 }, async () => {
	const r = ok(['stats', '--store', store]);
	assert.ok(r.stdout.trim().length > 0, 'stats printed nothing');
	assert.match(r.stdout, /trace|span/i, `stats should count traces or spans:\n${r.stdout}`);
});

test('exit status 2 for usage errors', { timeout: 20000 }, async () => {
	fails(['frobnicate'], 2);
	fails(['trace', '--store', store], 2);
	fails(['trace', T.err.tid, '--store', store, '--no-such-flag'], 2);
	fails(['search', '{ }', '--store', store, '--limit', 'many'], 2);
	fails(['export', T.err.tid, '--store', store, '--format', 'xml'], 2);
	fails(['import', '--store', store], 2);
	fails(['serve', '--otlp-http', 'not-an-address', '--api', '127.0.0.1:0', '--otlp-grpc', 'off', '--zipkin', 'off', '--store', tempDir()], 2, null, { timeout: 5000 });
});

test('exit status 1 and one line on stderr for failures', { timeout: 20000 }, async () => {
	const missing = traceId();
	fails(['trace', missing, '--store', store], 1, /not found|no such|no trace|unknown/i);
	fails(['trace', traceId(), '--store', store, '--json'], 1);
	fails(['export', traceId(), '--store', store, '-o', join(tempDir(), 'x.json')], 1);
	const r = cli(['search', '{ name = ', '--store', store]);
	assert.ok([1, 2].includes(r.code), `invalid TraceQL: ${describeCli(['search'], r)}`);
	assert.equal(r.stderr.trimEnd().split('\n').length, 1, `invalid TraceQL: one line: ${r.stderr}`);
	assert.match(r.stderr, /^obstui: /);
});
