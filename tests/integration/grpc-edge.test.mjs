// OTLP/gRPC edge cases with hand-driven HTTP/2 clients (node:http2, and raw
// frames on a bare socket where node:http2 is too polite): gzip, the size
// limits, bad protobuf, ids and framing, unknown methods and encodings, the
// wrong content type, empty and concurrent calls, clients that vanish, crawl,
// never read or go silent, and SIGTERM with calls in flight.
//
// Each error must come as the gRPC spec says (HTTP 200, grpc-status, a
// percent-encoded grpc-message naming the problem; 415 for a non-gRPC
// content type) and be followed by a good export on a NEW connection that is
// readable at once: after any edge case the server keeps serving.  Every
// wait is bounded.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { randomBytes } from 'node:crypto';
import { createGzip, gzipSync, gunzipSync } from 'node:zlib';
import protobuf from 'protobufjs';
import { tempDir, request } from './lib/obstui.mjs';
import { simpleRequest, assertTrace, assertSameSpans, fetchV2 } from './lib/traces.mjs';
import { spanMap, encodeTraces, decodeTraces, varint, lenField, RpcStatus } from './lib/otlp.mjs';
import {
	startGrpc, connect, remoteSettings, closeSession, call, write, unary, frame, describe, expectOk, expectGrpc,
	stillServing, exportBytes, rawSocket, PREFACE, settingsFrame, h2frame, rawExport, parseH2Frames, within, sleep,
	EXPORT, METRICS_EXPORT, LOGS_EXPORT, GRPC, REFUSED_STREAM, H2, FLAG,
} from './lib/grpc.mjs';

let srv; // defaults: --max-body 16MiB, --max-decoded 64MiB, --grpc-keepalive 60s
before(async () => { srv = await startGrpc(); });

// One unary call on a connection of its own.
async function once(s, path, message, opts = {}) {
	const c = connect(s.grpc);
	try {
		return await unary(c, path, message, opts);
	} finally {
		await closeSession(c);
	}
}

// Assert that trace `tid` was not stored.
async function notStored(s, tid, what) {
	const g = await request(`${s.api}/api/v2/traces/${tid}`);
	assert.equal(g.status, 404, `${what}: trace ${tid} was stored (GET answered ${g.status})`);
}

const pad = (n, ch = 'p') => [{ key: 'pad', value: { stringValue: ch.repeat(n) } }];
const TOO_BIG = /large|limit|exceed|size|big|bytes|max|long/i;

test('a gzip-compressed message is stored and answered in gzip', { timeout: 20000 }, async () => {
	const g = simpleRequest({ service: 'grpc-gzip', names: ['a', 'b', 'c'], attrs: pad(20000) });
	const msg = exportBytes(g.req);
	const r = await once(srv, EXPORT, msg, { gzip: true });
	assert.ok(frame(msg, { gzip: true }).length < msg.length / 4, 'test bug: the message did not compress');
	expectOk(r, 'gzip message', { gzip: true });
	await assertTrace(srv, g.tid, spanMap(g.req), 'gzip message');
	// grpc-encoding gzip with the compressed flag 0 is an uncompressed message (gRPC spec)
	const u = simpleRequest({ service: 'grpc-gzip-flag0' });
	const r0 = await once(srv, EXPORT, null, { headers: { 'grpc-encoding': 'gzip' }, body: frame(exportBytes(u.req)) });
	assert.equal(r0.grpcStatus, GRPC.OK, `grpc-encoding gzip, compressed flag 0: ${describe(r0)}`);
	await assertTrace(srv, u.tid, spanMap(u.req), 'grpc-encoding gzip, compressed flag 0');
	await stillServing(srv);
});

test('a message over --max-body 64KiB is RESOURCE_EXHAUSTED; the limit is on the message as received', { timeout: 30000 }, async () => {
	const small = await startGrpc({ args: ['--max-body', '64KiB'] });
	const big = simpleRequest({ service: 'grpc-too-big', attrs: pad(100 << 10, 'z') });
	const r = await once(small, EXPORT, exportBytes(big.req));
	expectGrpc(r, GRPC.RESOURCE_EXHAUSTED, TOO_BIG, '100 KiB message, --max-body 64KiB');
	await notStored(small, big.tid, 'message over --max-body');

	// incompressible: over the limit after gzip too
	const noise = simpleRequest({ service: 'grpc-too-big-gz', attrs: [{ key: 'noise', value: { bytesValue: randomBytes(100 << 10).toString('base64') } }] });
	const nb = exportBytes(noise.req);
	assert.ok(gzipSync(nb).length > 66000, 'test bug: the noise compressed');
	const rz = await once(small, EXPORT, nb, { gzip: true });
	expectGrpc(rz, GRPC.RESOURCE_EXHAUSTED, TOO_BIG, '100 KiB gzip message of noise, --max-body 64KiB');
	await notStored(small, noise.tid, 'gzip message over --max-body');

	// as received: 200 KiB that gzip to a few KiB are fine
	const squeezed = simpleRequest({ service: 'grpc-gz-under', attrs: pad(200 << 10, 's') });
	const rs = await once(small, EXPORT, exportBytes(squeezed.req), { gzip: true });
	expectOk(rs, '200 KiB message gzipped under --max-body 64KiB', { gzip: true });
	await assertTrace(small, squeezed.tid, spanMap(squeezed.req), 'gzip under --max-body');

	// just under the limit
	const ok = simpleRequest({ service: 'grpc-just-under', attrs: pad(60 << 10, 'u') });
	const ro = await once(small, EXPORT, exportBytes(ok.req));
	expectOk(ro, '61 KiB message, --max-body 64KiB');
	await assertTrace(small, ok.tid, spanMap(ok.req), 'just under --max-body');
	await stillServing(small);
});

// The gzip of a valid ExportTraceServiceRequest whose one resource attribute
// is a string of `n` bytes of 'z', streamed so it is never held whole.
async function gzipBigString(n) {
	const any = Buffer.concat([varint((1 << 3) | 2), varint(n)]); // AnyValue.string_value
	const kvHead = Buffer.concat([lenField(1, Buffer.from('k')), varint((2 << 3) | 2), varint(any.length + n)]);
	const kvLen = kvHead.length + any.length + n;
	const resHead = Buffer.concat([varint((1 << 3) | 2), varint(kvLen)]); // Resource.attributes
	const resLen = resHead.length + kvLen;
	const rsHead = Buffer.concat([varint((1 << 3) | 2), varint(resLen)]); // ResourceSpans.resource
	const rsLen = rsHead.length + resLen;
	const reqHead = Buffer.concat([varint((1 << 3) | 2), varint(rsLen)]); // ExportTraceServiceRequest.resource_spans
	const g = createGzip({ level: 9 });
	const out = [];
	g.on('data', (c) => out.push(c));
	const done = new Promise((res, rej) => { g.on('end', res); g.on('error', rej); });
	g.write(Buffer.concat([reqHead, rsHead, resHead, kvHead, any]));
	const z = Buffer.alloc(1 << 20, 'z');
	for (let left = n; left > 0; left -= z.length)
		if (!g.write(left >= z.length ? z : z.subarray(0, left))) await new Promise((r) => g.once('drain', r));
	g.end();
	await done;
	return Buffer.concat(out);
}

function gzFrame(gz) {
	const p = Buffer.alloc(5);
	p[0] = 1;
	p.writeUInt32BE(gz.length, 1);
	return Buffer.concat([p, gz]);
}

test('gzip bombs over --max-decoded 1MiB are RESOURCE_EXHAUSTED, without the memory to hold them', { timeout: 60000 }, async (t) => {
	const lim = await startGrpc({ args: ['--max-decoded', '1MiB'] });
	// the test's own decoder agrees a small one is a valid request
	const small = decodeTraces(gunzipSync(await gzipBigString(1000)));
	assert.equal(small.resourceSpans[0].resource.attributes[0].value.stringValue, 'z'.repeat(1000), 'test bug: gzipBigString');

	const rssBefore = lim.peakRssMiB();
	for (const n of [8 << 20, 1 << 30]) {
		const gz = await gzipBigString(n);
		assert.ok(gz.length < 2 << 20, `test bug: the bomb is ${gz.length} bytes`);
		const r = await once(lim, EXPORT, null, { headers: { 'grpc-encoding': 'gzip' }, body: gzFrame(gz), timeout: 20000 });
		expectGrpc(r, GRPC.RESOURCE_EXHAUSTED, TOO_BIG, `gzip bomb (${gz.length} bytes -> ${n} bytes), --max-decoded 1MiB`);
	}
	const peak = lim.peakRssMiB();
	t.diagnostic(`obstui peak RSS: ${rssBefore?.toFixed(1)} MiB before the bombs, ${peak?.toFixed(1)} MiB after`);
	const limit = lim.sanitized() ? 1500 : 300;
	assert.ok(peak !== null && peak < limit, `obstui's peak RSS is ${peak?.toFixed(0)} MiB after a 1 GiB gzip bomb, want < ${limit} MiB`);

	// under the limit once gunzipped: stored
	const ok = simpleRequest({ service: 'grpc-decoded-under', attrs: pad(512 << 10, 'd') });
	const r = await once(lim, EXPORT, exportBytes(ok.req), { gzip: true });
	expectOk(r, '512 KiB decoded, --max-decoded 1MiB', { gzip: true });
	await assertTrace(lim, ok.tid, spanMap(ok.req), 'gzip under --max-decoded');
	await stillServing(lim);
});

// deterministic bytes that are not a valid ExportTraceServiceRequest
function junk(n, seed = 1) {
	const b = Buffer.alloc(n);
	let x = seed;
	for (let i = 0; i < n; i++) {
		x = (x * 1103515245 + 12345) >>> 0;
		b[i] = x >>> 24;
	}
	return b;
}

test('undecodable protobuf is INVALID_ARGUMENT', { timeout: 20000 }, async () => {
	const full = exportBytes(simpleRequest({ names: ['a', 'b', 'c'] }).req);
	const cases = [
		['4096 random bytes', junk(4096, 7)],
		['17 random bytes', junk(17, 3)],
		[`protobuf cut to ${full.length - 5} of ${full.length} bytes`, full.subarray(0, full.length - 5)],
		['a length beyond the message', Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01])],
		['wire type 7', Buffer.from([0x0f, 0x01])],
	];
	for (const [what, msg] of cases) {
		assert.throws(() => decodeTraces(msg), `test bug: ${what} decodes`);
		const r = await once(srv, EXPORT, msg);
		expectGrpc(r, GRPC.INVALID_ARGUMENT, /proto|decod|pars|invalid|malformed|unexpected|wire|trunc/i, what);
	}
	await stillServing(srv);
});

// A request with one good resource and one bad span: all of it is refused.
function withBadSpan(mutate) {
	const good = simpleRequest({ service: 'good-in-bad-request', names: ['good'] });
	const bad = simpleRequest({ service: 'bad', names: ['bad'] });
	mutate(bad.req.resourceSpans[0].scopeSpans[0].spans[0]);
	return { goodTid: good.tid, req: { resourceSpans: [...good.req.resourceSpans, ...bad.req.resourceSpans] } };
}

test('invalid trace and span ids are INVALID_ARGUMENT and store nothing of the request', { timeout: 30000 }, async () => {
	for (const [what, mutate, re] of [
		['all-zero trace id', (s) => { s.traceId = '0'.repeat(32); }, /trace.?id/i],
		['trace id of 15 bytes', (s) => { s.traceId = s.traceId.slice(0, 30); }, /trace.?id/i],
		['trace id of 17 bytes', (s) => { s.traceId += 'ab'; }, /trace.?id/i],
		['empty trace id', (s) => { s.traceId = ''; }, /trace.?id/i],
		['all-zero span id', (s) => { s.spanId = '0'.repeat(16); }, /span.?id/i],
		['span id of 7 bytes', (s) => { s.spanId = s.spanId.slice(0, 14); }, /span.?id/i],
		['span id of 9 bytes', (s) => { s.spanId += 'cd'; }, /span.?id/i],
	]) {
		const { goodTid, req } = withBadSpan(mutate);
		const r = await once(srv, EXPORT, encodeTraces(req));
		expectGrpc(r, GRPC.INVALID_ARGUMENT, re, what);
		await notStored(srv, goodTid, `${what}: the good trace of a rejected request (stored wholly or not at all)`);
	}
	await stillServing(srv);
});

test('a truncated gRPC frame is INVALID_ARGUMENT', { timeout: 20000 }, async () => {
	const g = simpleRequest({ service: 'grpc-truncated', names: ['a', 'b'] });
	const full = frame(exportBytes(g.req));
	for (const [what, body] of [
		[`prefix says ${full.length - 5} bytes, ${Math.floor(full.length / 2) - 5} follow`, full.subarray(0, Math.floor(full.length / 2))],
		['the 5-byte prefix alone', full.subarray(0, 5)],
		['3 bytes of the prefix', full.subarray(0, 3)],
	]) {
		const r = await once(srv, EXPORT, null, { body });
		expectGrpc(r, GRPC.INVALID_ARGUMENT, /trunc|short|incomplete|frame|length|prefix|expect|bytes|end|partial|message/i, what);
	}
	await notStored(srv, g.tid, 'truncated frame');
	await stillServing(srv);
});

test('two messages in one unary call are INVALID_ARGUMENT and neither is stored', { timeout: 20000 }, async () => {
	const a = simpleRequest({ service: 'grpc-two-a' });
	const b = simpleRequest({ service: 'grpc-two-b' });
	// in one DATA frame
	const r = await once(srv, EXPORT, null, { body: Buffer.concat([frame(exportBytes(a.req)), frame(exportBytes(b.req))]) });
	expectGrpc(r, GRPC.INVALID_ARGUMENT, /message|one|single|unary|more|second|multiple|extra/i, 'two messages in one DATA frame');
	// the second one a moment later, in its own DATA frame
	const c = connect(srv.grpc);
	const k = call(c, EXPORT);
	await write(k.stream, frame(exportBytes(a.req)));
	await sleep(100);
	k.stream.end(frame(exportBytes(b.req)));
	const r2 = await k.result;
	await closeSession(c);
	expectGrpc(r2, GRPC.INVALID_ARGUMENT, /message|one|single|unary|more|second|multiple|extra/i, 'two messages, 100 ms apart');
	await notStored(srv, a.tid, 'first of two messages');
	await notStored(srv, b.tid, 'second of two messages');
	await stillServing(srv);
});

test('unknown methods and services are UNIMPLEMENTED', { timeout: 20000 }, async () => {
	const msg = exportBytes(simpleRequest({}).req);
	for (const path of [
		'/opentelemetry.proto.collector.trace.v1.TraceService/Nope',
		'/opentelemetry.proto.collector.trace.v1.TraceService/export',
		'/no.such.Service/Export',
		'/grpc.reflection.v1alpha.ServerReflection/ServerReflectionInfo',
		'/',
	]) {
		const r = await once(srv, path, msg);
		expectGrpc(r, GRPC.UNIMPLEMENTED, /unimplemented|unknown|not (implemented|supported)|no such|method|service/i, path);
	}
	await stillServing(srv);
});

test('the metrics service takes an (empty) export; the logs service is UNIMPLEMENTED with a message naming it', { timeout: 20000 }, async () => {
	const r = await once(srv, METRICS_EXPORT, Buffer.alloc(0));
	assert.equal(r.grpcStatus, GRPC.OK, `MetricsService/Export of an empty request: ${JSON.stringify(r.trailers ?? r.headers)}`);
	assert.equal(r.messages.length, 1, 'one (empty) ExportMetricsServiceResponse');
	const bad = await once(srv, METRICS_EXPORT, Buffer.from([0x0a, 0xff, 0xff]));
	expectGrpc(bad, GRPC.INVALID_ARGUMENT, /./, 'MetricsService/Export with a truncated message');
	const l = await once(srv, LOGS_EXPORT, Buffer.alloc(0));
	expectGrpc(l, GRPC.UNIMPLEMENTED, /log/i, 'LogsService/Export');
	await stillServing(srv);
});

test('grpc-encoding other than identity and gzip is UNIMPLEMENTED with grpc-accept-encoding', { timeout: 20000 }, async () => {
	const g = simpleRequest({ service: 'grpc-snappy' });
	const m = exportBytes(g.req);
	const flagged = Buffer.concat([Buffer.from([1, 0, 0, 0, 0]), m]);
	flagged.writeUInt32BE(m.length, 1);
	for (const enc of ['snappy', 'deflate', 'zstd']) {
		const r = await once(srv, EXPORT, null, { headers: { 'grpc-encoding': enc }, body: flagged });
		expectGrpc(r, GRPC.UNIMPLEMENTED, /encoding|compress|snappy|deflate|zstd|support/i, `grpc-encoding ${enc}`);
		const accept = String(r.headers?.['grpc-accept-encoding'] ?? r.trailers?.['grpc-accept-encoding'] ?? '');
		assert.ok(accept.split(/\s*,\s*/).includes('gzip'), `grpc-encoding ${enc}: want a grpc-accept-encoding listing gzip, got ${JSON.stringify(accept)}; ${describe(r)}`);
	}
	await notStored(srv, g.tid, 'unsupported grpc-encoding');
	// identity, said out loud, is fine
	const i = simpleRequest({ service: 'grpc-identity' });
	const ri = await once(srv, EXPORT, exportBytes(i.req), { headers: { 'grpc-encoding': 'identity' } });
	expectOk(ri, 'grpc-encoding identity');
	await assertTrace(srv, i.tid, spanMap(i.req), 'grpc-encoding identity');
	await stillServing(srv);
});

test('a content type that is not application/grpc is HTTP 415; application/grpc+proto is fine', { timeout: 20000 }, async () => {
	const g = simpleRequest({ service: 'grpc-415' });
	const msg = exportBytes(g.req);
	for (const ct of ['application/json', 'application/x-protobuf', 'text/plain', undefined]) {
		const r = await once(srv, EXPORT, msg, { contentType: ct });
		assert.ok(!r.timedOut, `content-type ${ct}: ${describe(r)}`);
		assert.equal(r.status, 415, `content-type ${ct}: ${describe(r)}`);
	}
	await notStored(srv, g.tid, 'wrong content type');
	const p = simpleRequest({ service: 'grpc-plus-proto' });
	const rp = await once(srv, EXPORT, exportBytes(p.req), { contentType: 'application/grpc+proto' });
	expectOk(rp, 'content-type application/grpc+proto');
	await assertTrace(srv, p.tid, spanMap(p.req), 'application/grpc+proto');
	await stillServing(srv);
});

test('an empty request (a zero-length message) is OK', { timeout: 20000 }, async () => {
	const r = await once(srv, EXPORT, Buffer.alloc(0));
	expectOk(r, 'zero-length message');
	const rz = await once(srv, EXPORT, Buffer.alloc(0), { gzip: true });
	expectOk(rz, 'zero-length message, gzip', { gzip: true });
	await stillServing(srv);
});

test('200 concurrent calls on one connection, each its own trace: all OK, all readable', { timeout: 60000 }, async () => {
	const s = connect(srv.grpc);
	const st = await remoteSettings(s);
	assert.equal(st.maxConcurrentStreams, 256, `SETTINGS_MAX_CONCURRENT_STREAMS: ${JSON.stringify(st)}`);
	const reqs = Array.from({ length: 200 }, (_, i) => simpleRequest({ service: `grpc-conc-${i % 7}`, names: ['root', `child-${i}`] }));
	const results = await Promise.all(reqs.map((r, i) => unary(s, EXPORT, exportBytes(r.req), { gzip: i % 3 === 0, timeout: 30000 })));
	const bad = results.map((r, i) => [i, r]).filter(([, r]) => r.grpcStatus !== GRPC.OK);
	assert.deepEqual(bad.map(([i, r]) => `#${i}: ${describe(r)}`).slice(0, 5), [], `${bad.length} of 200 concurrent calls failed`);
	results.forEach((r, i) => expectOk(r, `concurrent call #${i}`, { gzip: i % 3 === 0 }));
	assert.equal(new Set(results.map((r) => r.streamId)).size, 200, 'test bug: not 200 streams');
	assert.deepEqual(s.errors.map((e) => e.message), [], 'session errors');
	await closeSession(s);
	for (let i = 0; i < reqs.length; i += 20)
		await Promise.all(reqs.slice(i, i + 20).map(async (r) => assertSameSpans(spanMap(r.req), await fetchV2(srv, r.tid), `concurrent trace ${r.tid}`)));
	await stillServing(srv);
});

test('a client that sends half of 50 calls and drops the connection: nothing half-sent is stored', { timeout: 30000 }, async () => {
	const [host, port] = srv.grpc.split(':');
	const sock = net.connect({ host, port: Number(port) });
	sock.on('error', () => {});
	const s = connect(srv.grpc, { createConnection: () => sock });
	await remoteSettings(s);
	const reqs = Array.from({ length: 50 }, (_, i) => simpleRequest({ service: 'grpc-half', names: [`half-${i}`], attrs: pad(1200) }));
	const calls = reqs.map(() => call(s, EXPORT, { timeout: 8000 }));
	const sent = await within(Promise.all(calls.map((c, i) => {
		const b = frame(exportBytes(reqs[i].req));
		return write(c.stream, b.subarray(0, b.length >> 1));
	})), 5000);
	assert.ok(sent && sent.every(Boolean), 'test bug: the half bodies were not written');
	await sleep(300);
	sock.destroy();
	const results = await within(Promise.all(calls.map((c) => c.result)), 8000);
	assert.ok(results, 'the client streams did not close after the socket was destroyed');
	assert.ok(results.every((r) => r.grpcStatus !== GRPC.OK), 'a half-sent call was answered OK');
	await sleep(500);
	assert.ok(srv.alive(), `obstui died: ${srv.stderr().slice(-2000)}`);
	await stillServing(srv);
	for (const r of reqs) await notStored(srv, r.tid, 'half-sent call of a dropped connection');
});

test('a slow client sending 1 MiB in 16 KiB pieces with pauses is answered OK', { timeout: 40000 }, async () => {
	const g = simpleRequest({ service: 'grpc-slow', attrs: pad(1 << 20, 's') });
	const body = frame(exportBytes(g.req));
	const s = connect(srv.grpc);
	const c = call(s, EXPORT, { timeout: 25000 });
	const t0 = Date.now();
	for (let off = 0; off < body.length; off += 16384) {
		const ok = await within(write(c.stream, body.subarray(off, off + 16384)), 5000);
		assert.ok(ok, `the server stopped taking data at byte ${off} of ${body.length} (flow control?): ${srv.stderr().slice(-500)}`);
		await sleep(off % (128 << 10) === 0 ? 250 : 30);
	}
	c.stream.end();
	const r = await c.result;
	await closeSession(s);
	assert.ok(Date.now() - t0 > 2000, 'test bug: the client was not slow');
	expectOk(r, `1 MiB sent slowly over ${Date.now() - t0} ms`);
	await assertTrace(srv, g.tid, spanMap(g.req), 'slow client');
	await stillServing(srv);
});

test('clients that never read do not hold up anyone else', { timeout: 40000 }, async () => {
	// raw sockets that never read a byte: one grants the server no
	// flow-control window (its answers to 100 calls cannot go out), the
	// other also sends 100,000 PINGs to acknowledge (more than the socket
	// buffers hold)
	const stuck = [];
	for (const flood of [false, true]) {
		const sock = rawSocket(srv.grpc);
		await sock.whenConnected;
		sock.pause();
		const frames = [PREFACE, settingsFrame([[0x4, 0], [0x2, 0]])];
		for (let i = 0; i < 100; i++) {
			const g = simpleRequest({ service: 'grpc-never-reads', names: [`n${i}`] });
			frames.push(rawExport(2 * i + 1, frame(exportBytes(g.req))));
		}
		if (flood) for (let i = 0; i < 100000; i++) frames.push(h2frame(H2.PING, 0, 0, Buffer.alloc(8, i & 255)));
		sock.write(Buffer.concat(frames));
		stuck.push(sock);
	}
	await sleep(1000);

	// meanwhile, others are served promptly
	const others = Array.from({ length: 5 }, (_, i) => simpleRequest({ service: 'grpc-others', names: [`o${i}`] }));
	const t0 = Date.now();
	const results = await Promise.all(others.map((o) => once(srv, EXPORT, exportBytes(o.req), { timeout: 5000 })));
	results.forEach((r, i) => expectOk(r, `export #${i} while clients never read`));
	assert.ok(Date.now() - t0 < 5000, `other clients waited ${Date.now() - t0} ms`);
	for (const o of others) await assertTrace(srv, o.tid, spanMap(o.req), 'served while clients never read');
	assert.ok(srv.alive(), `obstui died: ${srv.stderr().slice(-2000)}`);
	for (const sock of stuck) sock.destroy();
	await stillServing(srv);
});

test('--grpc-keepalive 1s: a silent connection is closed after an unanswered PING; one that answers stays', { timeout: 30000 }, async (t) => {
	const ka = await startGrpc({ args: ['--grpc-keepalive', '1s'] });
	const sock = rawSocket(ka.grpc);
	await sock.whenConnected;
	const t0 = Date.now();
	sock.write(Buffer.concat([PREFACE, settingsFrame()]));
	// a well-behaved idle client alongside (node:http2 answers PINGs)
	const live = connect(ka.grpc);
	await remoteSettings(live);
	const closedAt = await within(sock.whenClosed, 8000);
	const frames = parseH2Frames(Buffer.concat(sock.received)).frames;
	const kinds = frames.map((f) => `${f.type}/${f.flags}`).join(' ');
	assert.ok(closedAt, `the silent connection was still open after 8 s (frames received: ${kinds})`);
	const dt = closedAt - t0;
	t.diagnostic(`silent connection closed after ${dt} ms; frames received (type/flags): ${kinds}`);
	assert.ok(dt >= 1500, `the silent connection was closed after ${dt} ms, before 1 s idle + a 1 s wait for the PING ACK`);
	assert.ok(frames.some((f) => f.type === H2.PING && !(f.flags & FLAG.ACK)), `no PING before the close (frames: ${kinds})`);

	await sleep(Math.max(0, t0 + 4000 - Date.now()));
	assert.ok(live.pings >= 1, 'the idle client got no PING from the server within 4 s of --grpc-keepalive 1s');
	assert.ok(!live.closed && !live.destroyed && live.goaways.length === 0,
		`a client that answers PINGs was disconnected (goaways ${JSON.stringify(live.goaways)}, errors ${live.errors.map((e) => e.message)})`);
	const g = simpleRequest({ service: 'grpc-keepalive' });
	const r = await unary(live, EXPORT, exportBytes(g.req));
	await closeSession(live);
	expectOk(r, 'export on the connection kept alive by PINGs');
	await assertTrace(ka, g.tid, spanMap(g.req), 'kept alive');
	await stillServing(ka);
});

test('SIGTERM with 20 calls in flight: each is answered OK or refused retryably, exit 0, the OK ones survive', { timeout: 60000 }, async (t) => {
	const store = tempDir();
	const st = await startGrpc({ store });
	const s = connect(st.grpc);
	await remoteSettings(s);
	const reqs = Array.from({ length: 20 }, (_, i) => simpleRequest({ service: 'grpc-sigterm', names: [`t${i}`, 'child'], attrs: pad(2000) }));
	const bodies = reqs.map((r) => frame(exportBytes(r.req)));
	const calls = reqs.map(() => call(s, EXPORT, { timeout: 15000 }));
	const half = await within(Promise.all(calls.map((c, i) => write(c.stream, bodies[i].subarray(0, bodies[i].length >> 1)))), 5000);
	assert.ok(half && half.every(Boolean), 'test bug: the first halves were not written');
	await sleep(300);
	st.child.kill('SIGTERM');
	await sleep(200);
	calls.forEach((c, i) => {
		if (!c.stream.destroyed && !c.stream.closed) c.stream.end(bodies[i].subarray(bodies[i].length >> 1));
	});
	const results = await Promise.all(calls.map((c) => c.result));
	const exit = await within(st.exited, 20000);
	assert.ok(exit, `obstui did not exit within 20 s of SIGTERM: ${st.stderr().slice(-2000)}`);
	await st.stop();
	assert.deepEqual(exit, { code: 0, signal: null }, `exit after SIGTERM; stderr: ${st.stderr().slice(-2000)}`);
	assert.ok(s.goaways.length > 0, 'no GOAWAY from the server after SIGTERM');
	const ok = [];
	const refused = [];
	results.forEach((r, i) => {
		if (r.grpcStatus === GRPC.OK) {
			expectOk(r, `call #${i} in flight at SIGTERM`);
			ok.push(i);
		} else {
			assert.equal(r.rstCode, REFUSED_STREAM,
				`call #${i} in flight at SIGTERM: want OK or REFUSED_STREAM, got ${describe(r)}; goaways ${JSON.stringify(s.goaways)}`);
			refused.push(i);
		}
	});
	s.destroy();
	t.diagnostic(`${ok.length} answered OK, ${refused.length} refused; GOAWAY ${JSON.stringify(s.goaways)}`);
	assert.ok(ok.length > 0, `every call in flight at SIGTERM was refused: the server must finish what it started (GOAWAY ${JSON.stringify(s.goaways)})`);

	const again = await startGrpc({ store });
	for (const i of ok) assertSameSpans(spanMap(reqs[i].req), await fetchV2(again, reqs[i].tid), `call #${i}, answered OK before the exit`);
	await stillServing(again);
});

// google.rpc.RetryInfo, for the details of UNAVAILABLE
const retryRoot = protobuf.parse(`
syntax = "proto3";
package google.rpc;
message Duration { int64 seconds = 1; int32 nanos = 2; }
message RetryInfo { Duration retry_delay = 1; }
`).root;
const RetryInfo = retryRoot.lookupType('google.rpc.RetryInfo');

test('a full queue answers UNAVAILABLE with RetryInfo and loses nothing acknowledged', { timeout: 60000 }, async (t) => {
	const ov = await startGrpc({ args: ['--queue-bytes', '1', '--queue-wait', '0s'] });
	const acked = [];
	const busy = [];
	for (let round = 0; round < 8 && busy.length === 0; round++) {
		const sessions = Array.from({ length: 4 }, () => connect(ov.grpc));
		const reqs = Array.from({ length: 48 }, () => simpleRequest({ service: 'grpc-overload', names: Array.from({ length: 50 }, (_, i) => `op${i}`) }));
		const results = await Promise.all(reqs.map((r, i) => unary(sessions[i % 4], EXPORT, exportBytes(r.req), { timeout: 20000 })));
		await Promise.all(sessions.map((x) => closeSession(x)));
		results.forEach((r, i) => {
			if (r.grpcStatus === GRPC.OK) {
				acked.push(reqs[i]);
			} else {
				expectGrpc(r, GRPC.UNAVAILABLE, null, 'overloaded export');
				busy.push(r);
			}
		});
	}
	// 8 rounds of 48 concurrent calls against a one-byte queue: some must wait
	assert.ok(busy.length > 0, 'no call got UNAVAILABLE with --queue-bytes 1 --queue-wait 0s');
	for (const r of busy) {
		const src = r.trailers ?? r.headers;
		const bin = src['grpc-status-details-bin'];
		assert.ok(bin, `UNAVAILABLE without grpc-status-details-bin: ${describe(r)}`);
		const status = RpcStatus.decode(Buffer.from(String(bin), 'base64'));
		assert.equal(status.code, GRPC.UNAVAILABLE, 'google.rpc.Status code in grpc-status-details-bin');
		const ri = status.details.find((d) => d.typeUrl === 'type.googleapis.com/google.rpc.RetryInfo');
		assert.ok(ri, `no google.rpc.RetryInfo in the details: ${JSON.stringify(status.details.map((d) => d.typeUrl))}`);
		const info = RetryInfo.decode(ri.value);
		assert.ok(info.retryDelay && (Number(info.retryDelay.seconds) > 0 || info.retryDelay.nanos > 0), `RetryInfo without a delay: ${JSON.stringify(info)}`);
	}
	t.diagnostic(`${busy.length} UNAVAILABLE, ${acked.length} acknowledged`);
	for (const r of acked) assertSameSpans(spanMap(r.req), await fetchV2(ov, r.tid), 'acknowledged under overload');
	await stillServing(ov);
});
