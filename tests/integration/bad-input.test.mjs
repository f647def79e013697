// Bad input: each request gets a clear 4xx quickly, naming the problem; the
// server keeps serving; what was stored before is intact; a request with one
// bad span stores nothing; a gzip bomb is refused without the memory to hold it.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { createGzip, gzipSync } from 'node:zlib';
import { startServe, post, request } from './lib/obstui.mjs';
import {
	mustSend, sendTraces, assertTrace, errorMessage, simpleRequest, traceId, spanId, JSON_CT, PROTO_CT,
} from './lib/traces.mjs';
import { edgeRequest, nested } from './lib/fixtures.mjs';
import {
	spanMap, encodeTraces, encodeMessage, varint, lenField, TracesData, ExportTraceServiceResponse, stringifyJson,
} from './lib/otlp.mjs';

let srv; // defaults: 16 MiB on the wire, 64 MiB decompressed
let small; // --max-body 1MiB
let earlier; // {tid, map}: stored before the bad input, checked after each
let earlierSmall;

before(async () => {
	[srv, small] = await Promise.all([startServe(), startServe({ args: ['--max-body', '1MiB'] })]);
	const e = edgeRequest({ serviceA: 'before-bad-input' });
	await mustSend(srv, e.req, { encoding: 'proto' });
	earlier = { tid: e.tid, map: spanMap(e.req) };
	const s = simpleRequest({ service: 'before-bad-input-small', names: ['x', 'y'] });
	await mustSend(small, s.req, { encoding: 'json' });
	earlierSmall = { tid: s.tid, map: spanMap(s.req) };
});

// After every bad request: still alive, still ready, earlier data unchanged.
async function stillServing(s = srv, e = earlier) {
	assert.ok(s.alive(), `obstui died: ${s.stderr().slice(-2000)}`);
	const r = await request(`${s.api}/ready`, { timeout: 5000 });
	assert.equal(r.status, 200, '/ready after bad input');
	await assertTrace(s, e.tid, e.map, 'data stored before the bad input');
	// and it still accepts good data
	const g = simpleRequest({ service: 'after-bad-input' });
	await mustSend(s, g.req, { encoding: 'proto' });
	await assertTrace(s, g.tid, spanMap(g.req), 'data sent after the bad input');
}

// Expect status `want` within `ms`, with a message matching `re`; for 400s
// also a google.rpc.Status with code 3 (INVALID_ARGUMENT) in the request's encoding.
function expectError(r, { want, re, ms = 5000, what, encoding }) {
	const em = errorMessage(r);
	const desc = `${what}: got ${r.status} in ${r.ms} ms, Content-Type ${r.headers['content-type']}, body ${JSON.stringify(em.raw.slice(0, 300))}`;
	assert.equal(r.status, want, desc);
	assert.ok(r.ms < ms, `${desc}: slower than ${ms} ms`);
	assert.match(em.message, re, `${desc}: the message must name the problem (${re})`);
	if (want === 400 && encoding === 'json') {
		assert.match(String(r.headers['content-type']), /^application\/json/, `${desc}: want a JSON google.rpc.Status`);
		assert.equal(em.code, 3, `${desc}: want "code":3`);
	}
	if (want === 400 && encoding === 'proto') {
		assert.match(String(r.headers['content-type']), /^application\/x-protobuf/, `${desc}: want a protobuf google.rpc.Status`);
		assert.equal(em.code, 3, `${desc}: want code 3`);
	}
}

// deterministic bytes that are not a valid TracesData
function junk(n, seed = 1) {
	const b = Buffer.alloc(n);
	let x = seed;
	for (let i = 0; i < n; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		b[i] = x >>> 24;
	}
	return b;
}

test('empty requests are valid: 200 with an ExportTraceServiceResponse', { timeout: 20000 }, async () => {
	const p = await post(`${srv.otlp}/v1/traces`, Buffer.alloc(0), PROTO_CT);
	assert.equal(p.status, 200, `empty protobuf body: ${p.status} ${p.body.toString().slice(0, 200)}`);
	ExportTraceServiceResponse.decode(p.body);
	for (const body of ['{}', '{"resourceSpans":[]}', '{"resourceSpans":[{"scopeSpans":[{"spans":[]}]}]}']) {
		const j = await post(`${srv.otlp}/v1/traces`, body, JSON_CT);
		assert.equal(j.status, 200, `${body}: ${j.status} ${j.body.toString().slice(0, 200)}`);
		assert.equal(typeof JSON.parse(j.body.toString()), 'object');
	}
	await stillServing();
});

test('truncated protobuf is 400', { timeout: 20000 }, async () => {
	const full = encodeTraces(simpleRequest({ names: ['a', 'b', 'c'] }).req);
	for (const cut of [full.length - 5, Math.floor(full.length / 2), 3]) {
		const body = full.subarray(0, cut);
		assert.throws(() => TracesData.decode(body), 'test bug: truncation left a valid message');
		const r = await post(`${srv.otlp}/v1/traces`, body, PROTO_CT);
		expectError(r, { want: 400, re: /proto|decod|pars|trunc|invalid|malformed|unexpected|wire/i, what: `protobuf cut to ${cut} of ${full.length} bytes`, encoding: 'proto' });
	}
	await stillServing();
});

test('random bytes as protobuf are 400', { timeout: 20000 }, async () => {
	for (const [n, seed] of [[4096, 7], [65536, 11], [17, 3]]) {
		const body = junk(n, seed);
		assert.throws(() => TracesData.decode(body), 'test bug: junk decodes');
		const r = await post(`${srv.otlp}/v1/traces`, body, PROTO_CT);
		expectError(r, { want: 400, re: /proto|decod|pars|invalid|malformed|unexpected|wire/i, what: `${n} random bytes`, encoding: 'proto' });
	}
	await stillServing();
});

test('invalid JSON is 400 with a JSON google.rpc.Status', { timeout: 20000 }, async () => {
	for (const body of ['{"resourceSpans": [', 'not json', '{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": }]}]}]}',
		'[1,2,3]', '{"resourceSpans": 5}', `{"resourceSpans": [{"scopeSpans": [{"spans": [{"traceId": "${traceId()}", "spanId": "${spanId()}", "startTimeUnixNano": "yesterday"}]}]}]}`]) {
		const r = await post(`${srv.otlp}/v1/traces`, body, JSON_CT);
		expectError(r, { want: 400, re: /json|pars|syntax|invalid|expect|type|number|integer/i, what: `JSON ${body.slice(0, 60)}`, encoding: 'json' });
	}
	await stillServing();
});

// A request with one good resource and one bad span: all of it is refused.
function withBadSpan(mutate) {
	const good = simpleRequest({ service: 'good-in-bad-request', names: ['good'] });
	const bad = simpleRequest({ service: 'bad', names: ['bad'] });
	mutate(bad.req.resourceSpans[0].scopeSpans[0].spans[0]);
	return { goodTid: good.tid, req: { resourceSpans: [...good.req.resourceSpans, ...bad.req.resourceSpans] } };
}

const BAD_IDS = [
	['trace id of 15 bytes', (s) => { s.traceId = s.traceId.slice(0, 30); }, /trace.?id/i],
	['trace id of 17 bytes', (s) => { s.traceId += 'ab'; }, /trace.?id/i],
	['all-zero trace id', (s) => { s.traceId = '0'.repeat(32); }, /trace.?id/i],
	['empty trace id', (s) => { s.traceId = ''; }, /trace.?id/i],
	['span id of 7 bytes', (s) => { s.spanId = s.spanId.slice(0, 14); }, /span.?id/i],
	['all-zero span id', (s) => { s.spanId = '0'.repeat(16); }, /span.?id/i],
	['missing span id', (s) => { delete s.spanId; }, /span.?id/i],
];

for (const encoding of ['json', 'proto']) {
	for (const [what, mutate, re] of BAD_IDS) {
		test(`${what} (${encoding}) rejects the whole request with 400`, { timeout: 20000 }, async () => {
			const { goodTid, req } = withBadSpan(mutate);
			const r = await sendTraces(srv, req, { encoding });
			expectError(r, { want: 400, re, what: `${what} (${encoding})`, encoding });
			const g = await request(`${srv.api}/api/v2/traces/${goodTid}`);
			assert.equal(g.status, 404, `the good trace of a rejected request was stored (GET answered ${g.status}): a request is stored wholly or not at all`);
		});
	}
}

test('the server is still whole after the invalid ids', { timeout: 20000 }, async () => { await stillServing(); });

test('a JSON id that is not hex is 400', { timeout: 20000 }, async () => {
	const { req } = withBadSpan((s) => { s.traceId = 'g'.repeat(32); });
	const r = await sendTraces(srv, req, { encoding: 'json' });
	expectError(r, { want: 400, re: /trace.?id|hex/i, what: 'non-hex trace id', encoding: 'json' });
	await stillServing();
});

test('corrupt gzip is 400', { timeout: 20000 }, async () => {
	const body = encodeTraces(simpleRequest({ names: ['gz'] }).req);
	const gz = gzipSync(body);
	const flipped = Buffer.from(gz);
	for (let i = 12; i < flipped.length - 8; i += 3) flipped[i] ^= 0x5a;
	const cases = [
		['gzip with flipped bytes', flipped],
		['truncated gzip', gz.subarray(0, Math.floor(gz.length / 2))],
		['not gzip at all', junk(2000, 5)],
		['gzip with bad CRC', Buffer.concat([gz.subarray(0, gz.length - 8), Buffer.from([1, 2, 3, 4]), gz.subarray(gz.length - 4)])],
	];
	for (const [what, b] of cases) {
		const r = await post(`${srv.otlp}/v1/traces`, b, { ...PROTO_CT, 'content-encoding': 'gzip' });
		expectError(r, { want: 400, re: /gzip|compress|inflat|decod|corrupt|crc|truncat|invalid/i, what, encoding: 'proto' });
	}
	const rj = await post(`${srv.otlp}/v1/traces`, flipped, { ...JSON_CT, 'content-encoding': 'gzip' });
	expectError(rj, { want: 400, re: /gzip|compress|inflat|decod|corrupt|invalid/i, what: 'corrupt gzip, JSON', encoding: 'json' });
	await stillServing();
});

test('an unknown Content-Encoding is refused with 415 (or 400)', { timeout: 20000 }, async () => {
	const body = encodeTraces(simpleRequest().req);
	const r = await post(`${srv.otlp}/v1/traces`, body, { ...PROTO_CT, 'content-encoding': 'br' });
	assert.ok([400, 415].includes(r.status), `Content-Encoding: br answered ${r.status}`);
	assert.match(errorMessage(r).message, /encoding|br|compress|unsupported/i);
	await stillServing();
});

async function gzipOfZeros(total) {
	const g = createGzip({ level: 9 });
	const out = [];
	g.on('data', (c) => out.push(c));
	const done = new Promise((res, rej) => { g.on('end', res); g.on('error', rej); });
	const z = Buffer.alloc(1 << 20);
	for (let n = 0; n < total; n += z.length)
		if (!g.write(z)) await new Promise((r) => g.once('drain', r));
	g.end();
	await done;
	return Buffer.concat(out);
}

test('a gzip bomb (1 GiB of zeros) is 413, without the memory to hold it', { timeout: 60000 }, async (t) => {
	const bomb = await gzipOfZeros(1 << 30);
	assert.ok(bomb.length < 16 << 20, 'test bug: the bomb is over the wire limit');
	const before = srv.peakRssMiB();
	for (const ct of [PROTO_CT, JSON_CT]) {
		const r = await post(`${srv.otlp}/v1/traces`, bomb, { ...ct, 'content-encoding': 'gzip' }, { timeout: 30000 });
		expectError(r, { want: 413, re: /too large|limit|exceed|size|big|bytes/i, ms: 20000, what: `gzip bomb (${bomb.length} bytes -> 1 GiB) as ${ct['content-type']}` });
	}
	const peak = srv.peakRssMiB();
	t.diagnostic(`obstui peak RSS: ${before?.toFixed(1)} MiB before the bombs, ${peak?.toFixed(1)} MiB after`);
	const limit = srv.sanitized() ? 1500 : 300;
	assert.ok(peak !== null && peak < limit,
		`obstui's peak RSS (VmHWM) is ${peak?.toFixed(0)} MiB after the gzip bomb (was ${before?.toFixed(0)} MiB before), want < ${limit} MiB`);
	await stillServing();
});

test('a body over --max-body 1MiB is 413, with Content-Length or chunked', { timeout: 30000 }, async () => {
	const big = simpleRequest({ service: 'too-big', attrs: [{ key: 'blob', value: { stringValue: 'z'.repeat(2 << 20) } }] });
	for (const encoding of ['json', 'proto']) {
		const r = await sendTraces(small, big.req, { encoding });
		expectError(r, { want: 413, re: /too large|limit|exceed|size|big|bytes/i, what: `2 MiB ${encoding} body, --max-body 1MiB` });
	}
	// the same without Content-Length (chunked transfer encoding)
	const body = encodeTraces(big.req);
	async function* chunks() { for (let i = 0; i < body.length; i += 65536) yield body.subarray(i, i + 65536); }
	const r = await request(`${small.otlp}/v1/traces`, { method: 'POST', body: chunks(), headers: PROTO_CT });
	expectError(r, { want: 413, re: /too large|limit|exceed|size|big|bytes/i, what: 'chunked 2 MiB body, --max-body 1MiB' });
	const g = await request(`${small.api}/api/v2/traces/${big.tid}`);
	assert.equal(g.status, 404, 'the oversized trace must not be stored');
	// a body just under the limit still goes in
	const ok = simpleRequest({ service: 'just-under', attrs: [{ key: 'blob', value: { stringValue: 'z'.repeat(900 << 10) } }] });
	await mustSend(small, ok.req, { encoding: 'proto' });
	await assertTrace(small, ok.tid, spanMap(ok.req), '900 KiB request under --max-body 1MiB');
	await stillServing(small, earlierSmall);
});

test('attributes nested deeper than 32 levels are 400', { timeout: 20000 }, async () => {
	const problems = [];
	for (const encoding of ['json', 'proto']) {
		for (const depth of [33, 40, 100]) {
			const { tid, req } = simpleRequest({ service: 'deep', attrs: [{ key: 'deep', value: nested(depth) }] });
			const r = await sendTraces(srv, req, { encoding });
			try {
				expectError(r, { want: 400, re: /nest|depth|deep|level/i, what: `attribute nested ${depth} deep (${encoding})`, encoding });
				assert.equal((await request(`${srv.api}/api/v2/traces/${tid}`)).status, 404, `attribute nested ${depth} deep (${encoding}) was stored`);
			} catch (e) { problems.push(e.message.split('\n')[0]); }
		}
	}
	// 20 levels are fine in both encodings
	for (const encoding of ['json', 'proto']) {
		const ok = simpleRequest({ service: 'deep-ok', attrs: [{ key: 'deep', value: nested(20) }] });
		await mustSend(srv, ok.req, { encoding });
		await assertTrace(srv, ok.tid, spanMap(ok.req), `attribute nested 20 deep (${encoding})`);
	}
	assert.deepEqual(problems, [], `nesting limit not enforced:\n  ${problems.join('\n  ')}`);
	await stillServing();
});

// AnyValue{array_value{values: AnyValue{...}}} `depth` times, built back to front.
function deepProtoAnyValue(depth) {
	let inner = Buffer.from([0x0a, 0x01, 0x78]); // string_value "x"
	const parts = [];
	let len = inner.length;
	const headers = [];
	for (let i = 0; i < depth; i++) {
		const arr = [0x0a, ...varint(len)]; // ArrayValue.values (1, LEN)
		len += arr.length;
		const any = [0x2a, ...varint(len)]; // AnyValue.array_value (5, LEN)
		len += any.length;
		headers.push(Buffer.from([...any, ...arr]));
	}
	for (let i = headers.length - 1; i >= 0; i--) parts.push(headers[i]);
	parts.push(inner);
	inner = null;
	return Buffer.concat(parts);
}

test('absurdly deep nesting (100 000 levels) is 400, not a crash', { timeout: 30000 }, async () => {
	const depth = 100000;
	// JSON
	const tid = traceId();
	const sid = spanId();
	const deepJson = `${'{"arrayValue":{"values":['.repeat(depth)}{"stringValue":"x"}${']}}'.repeat(depth)}`;
	const json = `{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"${tid}","spanId":"${sid}","name":"deep","startTimeUnixNano":"1","endTimeUnixNano":"2","attributes":[{"key":"deep","value":${deepJson}}]}]}]}]}`;
	const rj = await post(`${srv.otlp}/v1/traces`, json, JSON_CT);
	expectError(rj, { want: 400, re: /nest|depth|deep|level|json/i, what: `JSON nested ${depth} deep`, encoding: 'json' });
	assert.ok(srv.alive(), 'obstui crashed on deep JSON');
	// protobuf, by hand
	const any = deepProtoAnyValue(depth);
	const ld = lenField;
	const kv = Buffer.concat([ld(1, Buffer.from('deep')), ld(2, any)]);
	const span = Buffer.concat([ld(1, Buffer.from(tid, 'hex')), ld(2, Buffer.from(sid, 'hex')), ld(5, Buffer.from('deep')), ld(9, kv)]);
	const body = ld(1, ld(2, ld(2, span)));
	const rp = await post(`${srv.otlp}/v1/traces`, body, PROTO_CT);
	expectError(rp, { want: 400, re: /nest|depth|deep|level|proto|decod/i, what: `protobuf nested ${depth} deep`, encoding: 'proto' });
	await stillServing();
});

test('unsupported content types are 415', { timeout: 20000 }, async () => {
	const body = stringifyJson(simpleRequest().req);
	for (const ct of ['text/plain', 'application/xml', 'application/grpc', 'multipart/form-data; boundary=x']) {
		const r = await post(`${srv.otlp}/v1/traces`, body, { 'content-type': ct });
		expectError(r, { want: 415, re: /content.?type|media|unsupported|application\/(json|x-protobuf)/i, what: `Content-Type: ${ct}` });
	}
	const none = await request(`${srv.otlp}/v1/traces`, { method: 'POST', body, headers: { 'content-length': Buffer.byteLength(body) } });
	assert.ok([400, 415].includes(none.status), `no Content-Type answered ${none.status}`);
	// parameters on a supported type are fine
	const cs = simpleRequest({ service: 'charset' });
	const ok = await post(`${srv.otlp}/v1/traces`, stringifyJson(cs.req), { 'content-type': 'application/json; charset=utf-8' });
	assert.equal(ok.status, 200, `application/json; charset=utf-8 answered ${ok.status}: ${ok.body.toString().slice(0, 200)}`);
	await stillServing();
});

test('unknown JSON fields are ignored, as OTLP/JSON receivers must', { timeout: 20000 }, async () => {
	const { tid, req } = simpleRequest({ service: 'unknown-fields', names: ['u'] });
	const withExtra = structuredClone(req);
	withExtra.futureField = { a: [1, 2, { b: null }] };
	withExtra.resourceSpans[0].resource.schemaUrl = 'misplaced';
	withExtra.resourceSpans[0].scopeSpans[0].spans[0].someNewThing = 'x';
	await mustSend(srv, withExtra, { encoding: 'json' });
	await assertTrace(srv, tid, spanMap(req), 'request with unknown fields');
});

test('unknown protobuf fields are skipped, as protobuf receivers must', { timeout: 20000 }, async () => {
	const { tid, req } = simpleRequest({ service: 'unknown-pb-fields', names: ['u'] });
	const rs = req.resourceSpans[0];
	const unknown = Buffer.concat([
		varint((99 << 3) | 0), varint(12345), // varint
		varint((98 << 3) | 1), Buffer.alloc(8, 7), // fixed64
		varint((97 << 3) | 5), Buffer.alloc(4, 9), // fixed32
		lenField(96, Buffer.from('future field')), // length-delimited
	]);
	const span = Buffer.concat([encodeMessage('opentelemetry.proto.trace.v1.Span', rs.scopeSpans[0].spans[0]), unknown]);
	const scope = Buffer.concat([encodeMessage('opentelemetry.proto.common.v1.InstrumentationScope', rs.scopeSpans[0].scope), unknown]);
	const resource = Buffer.concat([encodeMessage('opentelemetry.proto.resource.v1.Resource', rs.resource), unknown]);
	const scopeSpans = Buffer.concat([lenField(1, scope), lenField(2, span), unknown]);
	// field 1000 of ResourceSpans is the retired instrumentation_library_spans
	const resourceSpans = Buffer.concat([lenField(1, resource), lenField(2, scopeSpans), lenField(1000, Buffer.from([0x0a, 0x00])), unknown]);
	const body = Buffer.concat([lenField(1, resourceSpans), unknown]);
	const r = await post(`${srv.otlp}/v1/traces`, body, PROTO_CT);
	assert.equal(r.status, 200, `protobuf with unknown fields answered ${r.status}: ${errorMessage(r).raw.slice(0, 300)}`);
	await assertTrace(srv, tid, spanMap(req), 'request with unknown protobuf fields');
});
