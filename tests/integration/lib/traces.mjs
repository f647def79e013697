// traces.mjs - send OTLP to obstui and read traces back through every form of the API.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { request, post } from './obstui.mjs';
import {
	parseJsonLossless, stringifyJson, checkOtlpJson, spanMap, decodeTraces, encodeTraces,
	diffSpanMaps, onlyTrace, decodeStatus, mergeMaps, ExportTraceServiceResponse,
} from './otlp.mjs';

export const JSON_CT = { 'content-type': 'application/json' };
export const PROTO_CT = { 'content-type': 'application/x-protobuf' };

export function traceId() {
	let b;
	do b = randomBytes(16); while (b.every((x) => x === 0));
	return b.toString('hex');
}
export function spanId() {
	let b;
	do b = randomBytes(8); while (b.every((x) => x === 0));
	return b.toString('hex');
}

// Send an OTLP/JSON object (ExportTraceServiceRequest) as JSON or protobuf,
// optionally gzipped.  Returns the raw answer.
export async function sendTraces(srv, obj, { encoding = 'json', gzip = false, headers = {} } = {}) {
	let body = encoding === 'json' ? Buffer.from(stringifyJson(obj)) : encodeTraces(obj);
	const h = { ...(encoding === 'json' ? JSON_CT : PROTO_CT), ...headers };
	if (gzip) {
		body = gzipSync(body);
		h['content-encoding'] = 'gzip';
	}
	return died(srv, post(`${srv.otlp}/v1/traces`, body, h));
}

// Await `p`; if it fails and the server is gone, say so with its last words.
export async function died(srv, p) {
	try {
		return await p;
	} catch (e) {
		await new Promise((r) => setTimeout(r, 50));
		if (srv.alive && !srv.alive()) {
			const { code, signal } = await srv.exited;
			e.message += `\nobstui DIED (exit ${code}, signal ${signal}); stderr:\n${srv.stderr().slice(-3000)}`;
		}
		throw e;
	}
}

// Send and insist on 200 with a well-formed ExportTraceServiceResponse.
export async function mustSend(srv, obj, opts = {}) {
	const r = await sendTraces(srv, obj, opts);
	assert.equal(r.status, 200,
		`POST /v1/traces (${opts.encoding ?? 'json'}${opts.gzip ? '+gzip' : ''}) answered ${r.status}: ${r.body.toString().slice(0, 400)}`);
	return r;
}

// The text of an error answer: the message of a google.rpc.Status in JSON or
// protobuf, else the body as text.
export function errorMessage(r) {
	const ct = String(r.headers['content-type'] ?? '');
	if (/json/.test(ct)) {
		try {
			const j = JSON.parse(r.body.toString('utf8'));
			return { code: j.code, message: String(j.message ?? ''), raw: r.body.toString('utf8') };
		} catch { /* fall through */ }
	}
	if (/protobuf/.test(ct)) {
		try {
			const s = decodeStatus(r.body);
			return { code: s.code, message: s.message, raw: JSON.stringify(s) };
		} catch { /* fall through */ }
	}
	return { code: undefined, message: r.body.toString('utf8'), raw: r.body.toString('utf8') };
}

// GET /api/v2/traces/<id>, checked to be OTLP/JSON, as a span map.
export async function fetchV2(srv, id) {
	const r = await died(srv, request(`${srv.api}/api/v2/traces/${id}`, { headers: { accept: 'application/json' } }));
	assert.equal(r.status, 200, `GET /api/v2/traces/${id} answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
	const j = parseJsonLossless(r.body);
	assert.ok(j.trace && Array.isArray(j.trace.resourceSpans),
		`GET /api/v2/traces/${id}: want {"trace":{"resourceSpans":[...]}}, got ${r.body.toString().slice(0, 300)}`);
	const problems = checkOtlpJson(j.trace, 'TracesData', 'trace');
	assert.deepEqual(problems, [], `GET /api/v2/traces/${id} is not OTLP/JSON:\n  ${problems.slice(0, 20).join('\n  ')}`);
	return spanMap(j.trace);
}

// GET /api/traces/<id> ({"batches":[...]}), checked, as a span map.
export async function fetchV1(srv, id) {
	const r = await died(srv, request(`${srv.api}/api/traces/${id}`, { headers: { accept: 'application/json' } }));
	assert.equal(r.status, 200, `GET /api/traces/${id} answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
	const j = parseJsonLossless(r.body);
	assert.ok(Array.isArray(j.batches), `GET /api/traces/${id}: want {"batches":[...]}, got ${r.body.toString().slice(0, 300)}`);
	const td = { resourceSpans: j.batches };
	const problems = checkOtlpJson(td, 'TracesData', 'batches');
	assert.deepEqual(problems, [], `GET /api/traces/${id} is not OTLP/JSON:\n  ${problems.slice(0, 20).join('\n  ')}`);
	return spanMap(td);
}

// GET /api/traces/<id> with Accept: application/protobuf, as a span map.
export async function fetchProto(srv, id) {
	const r = await died(srv, request(`${srv.api}/api/traces/${id}`, { headers: { accept: 'application/protobuf' } }));
	assert.equal(r.status, 200, `GET /api/traces/${id} (Accept: application/protobuf) answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
	assert.match(String(r.headers['content-type']), /protobuf/,
		`GET /api/traces/${id} (Accept: application/protobuf): Content-Type is ${r.headers['content-type']}`);
	let td;
	try {
		td = decodeTraces(r.body);
	} catch (e) {
		assert.fail(`GET /api/traces/${id} (Accept: application/protobuf): not a TracesData message: ${e.message}; first bytes ${r.body.subarray(0, 32).toString('hex')}`);
	}
	return spanMap(td);
}

export function assertSameSpans(expected, got, what) {
	const d = diffSpanMaps(expected, got);
	assert.deepEqual(d, [], `${what}: ${d.length} difference(s):\n  ${d.slice(0, 15).join('\n  ')}`);
}

// Fetch trace `id` in all three forms and compare each with `expected`
// (a span map of what was sent, restricted to that trace).
export async function assertTrace(srv, id, expected, what = 'trace') {
	const exp = onlyTrace(expected, id);
	assert.ok(exp.size > 0, 'test bug: nothing expected');
	assertSameSpans(exp, await fetchV2(srv, id), `${what}: /api/v2/traces/${id}`);
	assertSameSpans(exp, await fetchV1(srv, id), `${what}: /api/traces/${id}`);
	assertSameSpans(exp, await fetchProto(srv, id), `${what}: /api/traces/${id} as protobuf`);
}

// A small well-formed request: one resource, one scope, `n` spans of one trace.
export function simpleRequest({
	service = 'svc', tid = traceId(), names = ['root'], startNs = BigInt(Date.now()) * 1000000n,
	durMs = 10, attrs = [], status = 0,
} = {}) {
	const spans = [];
	let parent = '';
	names.forEach((name, i) => {
		const sid = spanId();
		const s = startNs + BigInt(i) * 1000000n;
		spans.push({
			traceId: tid, spanId: sid, parentSpanId: parent, name, kind: i === 0 ? 2 : 1,
			startTimeUnixNano: s.toString(), endTimeUnixNano: (s + BigInt(durMs) * 1000000n).toString(),
			attributes: attrs, status: status ? { code: status } : {},
		});
		parent = sid;
	});
	return {
		tid,
		req: {
			resourceSpans: [{
				resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
				scopeSpans: [{ scope: { name: 'it' }, spans }],
			}],
		},
	};
}

// The span map of everything the exporter sent, after checking every request got 200.
export function captured(records, { expectEncoding }) {
	assert.ok(records.length > 0, 'the exporter sent nothing');
	const maps = [];
	for (const rec of records) {
		assert.equal(rec.path, '/v1/traces');
		assert.equal(rec.status, 200,
			`obstui answered ${rec.status} to the exporter's ${rec.headers['content-type']} request: ${rec.response?.toString().slice(0, 400)}`);
		const ct = rec.headers['content-type'];
		if (expectEncoding === 'proto') {
			assert.match(ct, /^application\/x-protobuf/);
			assert.match(String(rec.responseHeaders['content-type']), /^application\/x-protobuf/,
				'a protobuf request must get a protobuf ExportTraceServiceResponse');
			ExportTraceServiceResponse.decode(rec.response); // throws if not one
			maps.push(spanMap(decodeTraces(rec.plain)));
		} else {
			assert.match(ct, /^application\/json/);
			assert.match(String(rec.responseHeaders['content-type']), /^application\/json/,
				'a JSON request must get a JSON ExportTraceServiceResponse');
			const resp = JSON.parse(rec.response.toString('utf8') || 'null');
			assert.ok(resp !== null && typeof resp === 'object' && !Array.isArray(resp),
				`ExportTraceServiceResponse must be a JSON object, got ${rec.response.toString().slice(0, 200)}`);
			maps.push(spanMap(parseJsonLossless(rec.plain)));
		}
	}
	return mergeMaps(...maps);
}

