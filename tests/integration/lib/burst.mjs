// burst.mjs - many realistic spans quickly: requests of traces x 10 spans with
// the attributes of a small shop (random ids, current timestamps), encoded as
// OTLP protobuf once, sent with bounded concurrency.  For the tests of what a
// burst leaves on disk and of shutdown under load.

import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { post } from './obstui.mjs';
import { encodeTraces } from './otlp.mjs';

const SERVICES = ['frontend', 'cart', 'checkout', 'payment', 'catalog', 'db'];
const ROUTES = ['/api/cart', '/api/checkout', '/api/products/{id}', '/api/pay', '/healthz'];

const str = (key, v) => ({ key, value: { stringValue: v } });
const int = (key, v) => ({ key, value: { intValue: String(v) } });

// One ExportTraceServiceRequest (OTLP/JSON shape) of `traces` traces of 10
// spans, one resource per service.  Returns { req, tids, spans }.
export function burstRequest(traces, { nowMs = Date.now(), errorEvery = 50 } = {}) {
	const byService = new Map();
	const tids = [];
	for (let t = 0; t < traces; t++) {
		const tid = randomBytes(16).toString('hex');
		tids.push(tid);
		const start = BigInt(nowMs - Math.floor(Math.random() * 1000)) * 1000000n;
		let parent = '';
		for (let i = 0; i < 10; i++) {
			const svc = SERVICES[(t + i) % SERVICES.length];
			const sid = randomBytes(8).toString('hex');
			const s = start + BigInt(i) * 700000n;
			const dur = BigInt(1000000 + Math.floor(Math.random() * 50000000));
			const failed = errorEvery && t % errorEvery === 0 && i === 0;
			const span = {
				traceId: tid, spanId: sid, parentSpanId: i ? parent : '', name: `${svc} op${i % 4}`,
				kind: i % 3 === 0 ? 2 : 3,
				startTimeUnixNano: s.toString(), endTimeUnixNano: (s + dur).toString(),
				attributes: [
					str('http.method', i % 2 ? 'GET' : 'POST'), str('http.route', ROUTES[(t + i) % ROUTES.length]),
					int('http.status_code', failed ? 500 : 200), str('net.peer.name', `${svc}.shop.svc`),
					int('net.peer.port', 8080 + i), str('user.id', `u${Math.floor(Math.random() * 1e6)}`),
					int('thread.id', Math.floor(Math.random() * 64)), str('db.system', i % 5 === 4 ? 'postgresql' : ''),
				],
				status: failed ? { code: 2, message: 'failed' } : {},
			};
			if (!byService.has(svc)) byService.set(svc, []);
			byService.get(svc).push(span);
			parent = sid;
		}
	}
	const resourceSpans = [...byService].map(([svc, spans]) => ({
		resource: { attributes: [str('service.name', svc), str('host.name', `${svc}-7f9c`), str('k8s.namespace.name', 'shop')] },
		scopeSpans: [{ scope: { name: 'burst', version: '1.0' }, spans }],
	}));
	return { req: { resourceSpans }, tids, spans: traces * 10 };
}

// Send `requests` requests of `traces` traces each, `parallel` at a time; every
// one must be answered 200.  Returns { spans, tids, bytes } (bytes on the wire).
export async function sendBurst(srv, { requests = 20, traces = 100, parallel = 4 } = {}) {
	const bodies = Array.from({ length: requests }, () => burstRequest(traces));
	const out = { spans: 0, tids: [], bytes: 0 };
	let next = 0;
	async function lane() {
		while (next < bodies.length) {
			const b = bodies[next++];
			const body = encodeTraces(b.req);
			const r = await post(`${srv.otlp}/v1/traces`, body, { 'content-type': 'application/x-protobuf' });
			assert.equal(r.status, 200, `burst request answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
			out.spans += b.spans;
			out.tids.push(...b.tids);
			out.bytes += body.length;
		}
	}
	await Promise.all(Array.from({ length: parallel }, lane));
	return out;
}
