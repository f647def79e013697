// grpc.mjs - talk OTLP/gRPC to obstui by hand over node:http2, record what a
// real gRPC exporter sends, and speak raw HTTP/2 frames on a bare socket.
//
//   const s = connect(srv.grpc);                       // h2c; {ca} for TLS
//   const r = await unary(s, EXPORT, encodeTraces(req), {gzip: true});
//   expectOk(r, 'what');  // or expectGrpc(r, GRPC.INVALID_ARGUMENT, /trace.?id/i, 'what')
//   await stillServing(srv);                           // a good export on a new connection
//
// A gRPC message on the wire is 1 byte compressed flag, 4 bytes big-endian
// length, then the message.  call() resolves, never rejects: the result says
// what came back (headers, trailers, messages, the reset code, a timeout), so
// a test can word its own assertion.  startRecordingGrpcProxy() sits between
// an exporter and obstui (h2c both sides) and keeps every request and answer.

import http2 from 'node:http2';
import net from 'node:net';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync, gunzipSync } from 'node:zlib';
import { ExportTraceServiceRequest, ExportTraceServiceResponse, encodeTraces, spanMap } from './otlp.mjs';
import { simpleRequest, assertTrace } from './traces.mjs';
import { startServe } from './obstui.mjs';

export const EXPORT = '/opentelemetry.proto.collector.trace.v1.TraceService/Export';
export const METRICS_EXPORT = '/opentelemetry.proto.collector.metrics.v1.MetricsService/Export';
export const LOGS_EXPORT = '/opentelemetry.proto.collector.logs.v1.LogsService/Export';

export const GRPC = {
	OK: 0, CANCELLED: 1, INVALID_ARGUMENT: 3, RESOURCE_EXHAUSTED: 8, UNIMPLEMENTED: 12,
	INTERNAL: 13, UNAVAILABLE: 14,
};
const GRPC_NAMES = Object.fromEntries(Object.entries(GRPC).map(([k, v]) => [v, k]));
export const REFUSED_STREAM = http2.constants.NGHTTP2_REFUSED_STREAM;

// obstui serve with the gRPC receiver on 127.0.0.1:0 and `args` after it.
export async function startGrpc({ args = [], ...opts } = {}) {
	const srv = await startServe({ ...opts, args: ['--otlp-grpc', '127.0.0.1:0', ...args] });
	assert.match(String(srv.grpc), /^127\.0\.0\.1:\d+$/,
		`obstui serve printed no 'listening otlp-grpc 127.0.0.1:PORT' line before ready; stdout: ${srv.stdout()}`);
	return srv;
}

// --- framing ----------------------------------------------------------------------

// One length-prefixed message; `gzip` compresses it and sets the flag.
export function frame(message, { gzip = false } = {}) {
	const m = gzip ? gzipSync(message) : Buffer.from(message);
	const p = Buffer.alloc(5);
	p[0] = gzip ? 1 : 0;
	p.writeUInt32BE(m.length, 1);
	return Buffer.concat([p, m]);
}

// Split a body into its messages: [{compressed, raw, data}] (data gunzipped
// when flagged) and `rest`, bytes after the last whole message.
export function parseFrames(body) {
	const messages = [];
	let off = 0;
	while (body.length - off >= 5) {
		const len = body.readUInt32BE(off + 1);
		if (body.length - off - 5 < len) break;
		const compressed = body[off] === 1;
		const raw = body.subarray(off + 5, off + 5 + len);
		let data = raw;
		let error;
		if (compressed) try { data = gunzipSync(raw); } catch (e) { error = e.message; }
		messages.push({ flag: body[off], compressed, raw, data, error });
		off += 5 + len;
	}
	return { messages, rest: body.subarray(off) };
}

// grpc-message is percent-encoded (bytes outside 0x20-0x7E and '%' itself).
export function percentDecode(s) {
	const out = [];
	for (let i = 0; i < s.length; i++) {
		if (s[i] === '%' && /^[0-9a-fA-F]{2}$/.test(s.slice(i + 1, i + 3))) {
			out.push(parseInt(s.slice(i + 1, i + 3), 16));
			i += 2;
		} else {
			out.push(...Buffer.from(s[i], 'latin1'));
		}
	}
	return Buffer.from(out).toString('utf8');
}

// --- client -------------------------------------------------------------------------

// An HTTP/2 session to `authority` ('127.0.0.1:P'): h2c, or TLS when `ca` is
// given.  Errors and GOAWAYs are recorded on the session, never thrown.
export function connect(authority, { ca, servername, ...opts } = {}) {
	const url = ca ? `https://${authority}` : `http://${authority}`;
	const s = http2.connect(url, ca ? { ca, servername, ...opts } : opts);
	s.errors = [];
	s.goaways = [];
	s.pings = 0;
	s.on('error', (e) => s.errors.push(e));
	s.on('goaway', (code, lastStreamID) => s.goaways.push({ code, lastStreamID }));
	s.on('ping', () => { s.pings++; });
	s.settingsSeen = new Promise((r) => s.once('remoteSettings', r));
	s.closedAt = new Promise((r) => s.once('close', () => r(Date.now())));
	return s;
}

// Resolves with the peer's first SETTINGS, or rejects after `timeout`.
export async function remoteSettings(session, timeout = 5000) {
	const st = await within(session.settingsSeen, timeout);
	if (!st) throw new Error(`no SETTINGS from the server within ${timeout} ms (session errors: ${session.errors.map((e) => e.message).join('; ')})`);
	return st;
}

export function closeSession(s, timeout = 2000) {
	return new Promise((res) => {
		if (s.destroyed) return res();
		const t = setTimeout(() => { s.destroy(); res(); }, timeout);
		s.close(() => { clearTimeout(t); res(); });
	});
}

// Open a gRPC call; the caller writes the body on `stream`.  `result` resolves
// when the stream closes (or after `timeout`) with
//   {status, headers, trailers, grpcStatus, grpcMessage, grpcMessageRaw,
//    body, messages, rest, rstCode, error, timedOut, ms, trailersOnly}
// contentType: undefined sends none.
export function call(session, path, opts = {}) {
	const { gzip = false, headers = {}, timeout = 10000 } = opts;
	const contentType = 'contentType' in opts ? opts.contentType : 'application/grpc';
	const t0 = Date.now();
	const h = {
		':method': 'POST', ':path': path, 'content-type': contentType, te: 'trailers',
		'grpc-accept-encoding': 'identity,gzip', ...(gzip ? { 'grpc-encoding': 'gzip' } : {}), ...headers,
	};
	for (const k of Object.keys(h)) if (h[k] === undefined) delete h[k];
	const r = { path, status: undefined, headers: undefined, trailers: undefined, chunks: [] };
	const stream = session.request(h, { endStream: false });
	const result = new Promise((res) => {
		let done = false;
		const finish = (extra = {}) => {
			if (done) return;
			done = true;
			clearTimeout(timer);
			Object.assign(r, extra);
			r.ms = Date.now() - t0;
			r.body = Buffer.concat(r.chunks);
			delete r.chunks;
			r.rstCode = stream.rstCode;
			r.streamId = stream.id;
			const { messages, rest } = parseFrames(r.body);
			r.messages = messages;
			r.rest = rest;
			r.trailersOnly = r.trailers === undefined && r.headers?.['grpc-status'] !== undefined;
			const src = r.trailers?.['grpc-status'] !== undefined ? r.trailers : r.headers;
			if (src?.['grpc-status'] !== undefined) r.grpcStatus = Number(src['grpc-status']);
			if (src?.['grpc-message'] !== undefined) {
				r.grpcMessageRaw = String(src['grpc-message']);
				r.grpcMessage = percentDecode(r.grpcMessageRaw);
			}
			res(r);
		};
		const timer = setTimeout(() => {
			finish({ timedOut: true });
			stream.close(http2.constants.NGHTTP2_CANCEL);
		}, timeout);
		stream.on('response', (hd) => { r.headers = hd; r.status = hd[':status']; });
		stream.on('trailers', (t) => { r.trailers = t; });
		stream.on('data', (c) => { if (r.chunks) r.chunks.push(c); });
		stream.on('error', (e) => { r.error ??= e; });
		stream.on('close', () => finish());
		stream.resume();
	});
	return { stream, result };
}

// Write `buf` on `stream` and wait until it was handed to the session.
export function write(stream, buf) {
	return new Promise((res) => {
		if (stream.destroyed || stream.closed) return res(false);
		stream.write(buf, (e) => res(!e));
	});
}

// A unary call: `message` (protobuf bytes) is framed (gzip if asked), or
// `body` is sent exactly as given.
export function unary(session, path, message, { gzip = false, body, ...opts } = {}) {
	const c = call(session, path, { gzip, ...opts });
	c.stream.on('error', () => {});
	c.stream.end(body ?? frame(message, { gzip }));
	return c.result;
}

// One line describing a result, for assertion messages.
export function describe(r) {
	if (!r) return 'no result';
	const parts = [`:status ${r.status}`];
	if (r.grpcStatus !== undefined) parts.push(`grpc-status ${r.grpcStatus} (${GRPC_NAMES[r.grpcStatus] ?? '?'})`);
	if (r.grpcMessage !== undefined) parts.push(`grpc-message ${JSON.stringify(r.grpcMessage.slice(0, 300))}`);
	if (r.headers) parts.push(`headers ${JSON.stringify(strip(r.headers))}`);
	if (r.trailers) parts.push(`trailers ${JSON.stringify(strip(r.trailers))}`);
	parts.push(`${r.body?.length ?? 0} body bytes`);
	if (r.rstCode) parts.push(`RST_STREAM ${r.rstCode}`);
	if (r.error) parts.push(`error ${r.error.code ?? ''} ${r.error.message}`);
	if (r.timedOut) parts.push('TIMED OUT');
	parts.push(`${r.ms} ms`);
	return parts.join(', ');
}
function strip(h) {
	const o = {};
	for (const [k, v] of Object.entries(h)) if (k !== 'grpc-status-details-bin') o[k] = v;
	return o;
}

// The gRPC spec: grpc-message holds only printable ASCII, '%' escaped.
export function assertPercentEncoded(raw, what) {
	assert.ok(/^[\x20-\x7e]*$/.test(raw), `${what}: grpc-message must be printable ASCII (percent-encoded), got ${JSON.stringify(raw)}`);
	assert.ok(!/%(?![0-9A-Fa-f]{2})/.test(raw), `${what}: a '%' in grpc-message must start a %XX escape, got ${JSON.stringify(raw)}`);
}

// An OK answer as the contract says: HTTP 200, application/grpc, exactly one
// message that is an ExportTraceServiceResponse, grpc-status 0 in trailers.
// Returns the decoded response message.
export function expectOk(r, what, { gzip = false } = {}) {
	const d = `${what}: ${describe(r)}`;
	assert.ok(!r.timedOut, `${d}: no answer in time`);
	assert.equal(r.status, 200, d);
	assert.equal(r.grpcStatus, GRPC.OK, d);
	assert.match(String(r.headers['content-type']), /^application\/grpc/, `${d}: content-type`);
	assert.ok(r.trailers && r.trailers['grpc-status'] === '0', `${d}: grpc-status 0 must come in trailers after the message`);
	assert.equal(r.messages.length, 1, `${d}: want exactly one response message`);
	assert.equal(r.rest.length, 0, `${d}: bytes after the response message`);
	const m = r.messages[0];
	if (gzip) {
		assert.equal(r.headers['grpc-encoding'], 'gzip', `${d}: a gzip request gets a gzip answer (grpc-encoding)`);
		assert.equal(m.flag, 1, `${d}: a gzip request gets a gzip answer (compressed flag)`);
	} else {
		assert.equal(m.flag, 0, `${d}: an identity request must get an uncompressed answer`);
	}
	assert.equal(m.error, undefined, `${d}: response message does not gunzip: ${m.error}`);
	try {
		return ExportTraceServiceResponse.decode(m.data);
	} catch (e) {
		assert.fail(`${d}: the response is not an ExportTraceServiceResponse: ${e.message}`);
	}
}

// An error answer: HTTP 200, grpc-status `code`, a percent-encoded
// grpc-message matching `re`, no response message.
export function expectGrpc(r, code, re, what) {
	const d = `${what}: ${describe(r)}`;
	assert.ok(!r.timedOut, `${d}: no answer in time`);
	assert.equal(r.status, 200, `${d}: gRPC errors travel with HTTP :status 200`);
	assert.match(String(r.headers?.['content-type']), /^application\/grpc/, `${d}: content-type`);
	assert.equal(r.grpcStatus, code, `${d}: want grpc-status ${code} (${GRPC_NAMES[code]})`);
	assert.equal(r.messages.length, 0, `${d}: an error carries no response message`);
	assert.ok(r.grpcMessageRaw, `${d}: an error needs a grpc-message naming the problem`);
	assertPercentEncoded(r.grpcMessageRaw, what);
	if (re) assert.match(r.grpcMessage, re, `${d}: the message must name the problem`);
}

// After an edge case: obstui is alive and a good export on a NEW connection
// is acknowledged and readable in every form.
export async function stillServing(srv, { what = 'good export after the edge case', ca, servername } = {}) {
	assert.ok(srv.alive(), `obstui died (exit ${srv.child.exitCode}, signal ${srv.child.signalCode}): ${srv.stderr().slice(-3000)}`);
	const s = connect(srv.grpc, { ca, servername });
	try {
		const g = simpleRequest({ service: 'after-edge', names: ['a', 'b'] });
		const r = await unary(s, EXPORT, encodeTraces(g.req));
		expectOk(r, `${what} (stderr: ${srv.stderr().slice(-500)})`);
		await assertTrace(srv, g.tid, spanMap(g.req), what);
	} finally {
		await closeSession(s);
	}
}

// --- recording proxy ----------------------------------------------------------------

// An h2c gRPC proxy on 127.0.0.1:0 in front of `target` ('127.0.0.1:P').
// Each call is buffered whole, recorded, forwarded on one upstream session
// per downstream session, and obstui's answer (headers, data, trailers, or
// trailers-only) relayed as it came.  records[i]:
//   {path, headers, body, messages: [{compressed, data}], status,
//    responseHeaders, response, responseMessages, trailers, grpcStatus, error}
export async function startRecordingGrpcProxy(target) {
	const records = [];
	const server = http2.createServer();
	const sessions = new Set();
	server.on('session', (down) => {
		sessions.add(down);
		const up = http2.connect(`http://${target}`);
		up.on('error', () => {});
		down.on('error', () => {});
		down.on('close', () => { sessions.delete(down); up.close(); });
		down.up = up;
	});
	server.on('stream', (stream, headers) => {
		const rec = { path: headers[':path'], headers: { ...headers } };
		records.push(rec);
		const chunks = [];
		stream.on('error', () => {});
		stream.on('data', (c) => chunks.push(c));
		stream.on('end', () => {
			rec.body = Buffer.concat(chunks);
			rec.messages = parseFrames(rec.body).messages;
			const fwd = { ':method': headers[':method'], ':path': headers[':path'] };
			for (const [k, v] of Object.entries(headers)) if (!k.startsWith(':')) fwd[k] = v;
			const u = stream.session.up.request(fwd, { endStream: false });
			const rc = [];
			u.on('response', (h) => { rec.status = h[':status']; rec.responseHeaders = h; });
			u.on('trailers', (t) => { rec.trailers = t; });
			u.on('data', (c) => rc.push(c));
			u.on('error', (e) => { rec.error = e.message; });
			u.on('close', () => {
				rec.response = Buffer.concat(rc);
				rec.responseMessages = parseFrames(rec.response).messages;
				const src = rec.trailers ?? rec.responseHeaders;
				if (src?.['grpc-status'] !== undefined) rec.grpcStatus = Number(src['grpc-status']);
				if (stream.destroyed || stream.closed) return;
				if (!rec.responseHeaders) {
					stream.close(u.rstCode || http2.constants.NGHTTP2_INTERNAL_ERROR);
					return;
				}
				const rh = {};
				for (const [k, v] of Object.entries(rec.responseHeaders)) if (k === ':status' || !k.startsWith(':')) rh[k] = v;
				delete rh.date;
				if (!rec.trailers && rec.response.length === 0) {
					stream.respond(rh, { endStream: true });
					return;
				}
				stream.respond(rh, { waitForTrailers: true });
				stream.on('wantTrailers', () => stream.sendTrailers(rec.trailers ?? { 'grpc-status': '13', 'grpc-message': 'proxy: no trailers from obstui' }));
				stream.end(rec.response);
			});
			u.end(rec.body);
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	const { port } = server.address();
	return {
		authority: `127.0.0.1:${port}`,
		url: `http://127.0.0.1:${port}`,
		records,
		close: () => new Promise((r) => {
			for (const s of sessions) s.destroy();
			server.close(() => r());
		}),
	};
}

// --- TLS ----------------------------------------------------------------------------

// A self-signed certificate for localhost and 127.0.0.1, made by the openssl CLI.
export function makeCert(dir) {
	const cert = join(dir, 'cert.pem');
	const key = join(dir, 'key.pem');
	const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-sha256',
		'-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=localhost',
		'-addext', 'subjectAltName=DNS:localhost,IP:127.0.0.1'], { encoding: 'utf8', timeout: 30000 });
	if (r.status !== 0) throw new Error(`openssl req failed (${r.status}): ${r.stderr}`);
	return { cert, key, certPem: readFileSync(cert) };
}

// --- raw HTTP/2 ---------------------------------------------------------------------

export const PREFACE = Buffer.from('PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n');
export const H2 = { DATA: 0, HEADERS: 1, RST_STREAM: 3, SETTINGS: 4, PING: 6, GOAWAY: 7, WINDOW_UPDATE: 8 };
export const FLAG = { END_STREAM: 1, ACK: 1, END_HEADERS: 4 };

export function h2frame(type, flags, streamId, payload = Buffer.alloc(0)) {
	const h = Buffer.alloc(9);
	h.writeUIntBE(payload.length, 0, 3);
	h[3] = type;
	h[4] = flags;
	h.writeUInt32BE(streamId & 0x7fffffff, 5);
	return Buffer.concat([h, payload]);
}

export function settingsFrame(pairs = []) {
	const p = Buffer.alloc(6 * pairs.length);
	pairs.forEach(([id, v], i) => { p.writeUInt16BE(id, 6 * i); p.writeUInt32BE(v, 6 * i + 2); });
	return h2frame(H2.SETTINGS, 0, 0, p);
}

function hpackInt(value, prefixBits, first = 0) {
	const max = (1 << prefixBits) - 1;
	if (value < max) return [first | value];
	const out = [first | max];
	value -= max;
	while (value >= 128) { out.push((value & 127) | 128); value >>>= 7; }
	out.push(value);
	return out;
}

// A header block of literals without indexing (no HPACK state needed).
export function hpackBlock(headers) {
	const out = [];
	for (const [name, value] of headers) {
		const n = Buffer.from(name);
		const v = Buffer.from(value);
		out.push(0x00, ...hpackInt(n.length, 7), ...n, ...hpackInt(v.length, 7), ...v);
	}
	return Buffer.from(out);
}

// HEADERS + DATA of a complete Export call on `streamId`.
export function rawExport(streamId, body, authority = '127.0.0.1') {
	const block = hpackBlock([
		[':method', 'POST'], [':scheme', 'http'], [':path', EXPORT], [':authority', authority],
		['content-type', 'application/grpc'], ['te', 'trailers'],
	]);
	return Buffer.concat([
		h2frame(H2.HEADERS, FLAG.END_HEADERS, streamId, block),
		h2frame(H2.DATA, FLAG.END_STREAM, streamId, body),
	]);
}

// Frames in `buf`: {frames: [{type, flags, streamId, payload}], rest}.
export function parseH2Frames(buf) {
	const frames = [];
	let off = 0;
	while (buf.length - off >= 9) {
		const len = buf.readUIntBE(off, 3);
		if (buf.length - off - 9 < len) break;
		frames.push({
			type: buf[off + 3], flags: buf[off + 4], streamId: buf.readUInt32BE(off + 5) & 0x7fffffff,
			payload: buf.subarray(off + 9, off + 9 + len),
		});
		off += 9 + len;
	}
	return { frames, rest: buf.subarray(off) };
}

// A bare TCP connection to `authority` that keeps what it receives;
// whenConnected resolves on connect, whenClosed with the time of the close.
export function rawSocket(authority) {
	const [host, port] = authority.split(':');
	const sock = net.connect({ host, port: Number(port) });
	sock.received = [];
	sock.on('data', (d) => sock.received.push(d));
	sock.on('error', (e) => { sock.lastError = e; });
	sock.whenConnected = new Promise((res, rej) => { sock.once('connect', res); sock.once('error', rej); });
	sock.whenClosed = new Promise((r) => sock.once('close', () => r(Date.now())));
	return sock;
}

// Resolves with the value of `p`, or with `fallback` after `ms`.
export function within(p, ms, fallback = undefined) {
	let t;
	return Promise.race([p, new Promise((r) => { t = setTimeout(() => r(fallback), ms); })]).finally(() => clearTimeout(t));
}

export const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

// The protobuf of an ExportTraceServiceRequest, checked by an independent decoder.
export function exportBytes(req) {
	const b = encodeTraces(req);
	ExportTraceServiceRequest.decode(b);
	return b;
}
