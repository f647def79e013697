// sgtraces.mjs - service-graph traffic made with the real OpenTelemetry JS
// SDK: one BasicTracerProvider per service (its own resource with
// service.name, as separate processes would be), spans with explicit start
// and end times (whole milliseconds), kinds, status and attributes, and
// parents passed across services as a propagated (remote) span context.
// Each provider exports OTLP/protobuf when flushed, so a test decides which
// spans go in which request, and in what order.
//
//   const sv = new Services(proxy.url);
//   const root = sv.span('frontend', 'GET /', { kind: 'server', start: t, end: t + 300 });
//   const call = sv.span('frontend', 'POST /cart', { kind: 'client', start: t + 10, end: t + 60, parent: root });
//   sv.span('cart', 'POST /cart', { kind: 'server', start: t + 12, end: t + 55, parent: call, error: true });
//   await sv.flush('cart');            // the server side first
//   await sv.flush();                  // then everything else
//   sv.span('cart', 'late', { ..., via: 'later' }); await sv.flush('cart#later');
//
// mainSet() is the service-graph trace set of servicegraph.test.mjs.

import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags } from '@opentelemetry/api';
import { traceId as newTraceId, spanId as newSpanId } from './traces.mjs';

const KINDS = {
	internal: SpanKind.INTERNAL, server: SpanKind.SERVER, client: SpanKind.CLIENT,
	producer: SpanKind.PRODUCER, consumer: SpanKind.CONSUMER,
};

// A parent that never arrives: a remote span context of a trace (new unless given).
export function remoteParent(traceId = newTraceId()) {
	return { traceId, spanId: newSpanId() };
}

export class Services {
	constructor(url) {
		this.url = url;
		this.providers = new Map();
	}

	// The provider of a service; `via` names a second one for the same
	// service (its own exporter, flushed on its own: spans held back).
	provider(service, resourceAttrs = {}, via = '') {
		const key = via ? `${service}#${via}` : service;
		let p = this.providers.get(key);
		if (!p) {
			p = new BasicTracerProvider({
				resource: resourceFromAttributes({ 'service.name': service, ...resourceAttrs }),
				spanProcessors: [new BatchSpanProcessor(new ProtoExporter({ url: `${this.url}/v1/traces`, timeoutMillis: 10000 }),
					{ scheduledDelayMillis: 600000, maxExportBatchSize: 4096, maxQueueSize: 8192 })],
			});
			p.tracer = p.getTracer('sg-it', '1.0.0');
			this.providers.set(key, p);
		}
		return p;
	}

	// Starts and ends one span; returns it.  parent: a span made here, a
	// {traceId, spanId} (remoteParent()), or null for a root.
	span(service, name, { kind = 'internal', start, end, parent = null, attrs = {}, error = false, ok = false, resource, via = '' } = {}) {
		if (!Number.isInteger(start) || !Number.isInteger(end) || end < start)
			throw new Error(`test bug: span ${name}: start/end must be whole milliseconds, end >= start`);
		const p = this.provider(service, resource, via);
		let ctx = ROOT_CONTEXT;
		if (parent) {
			const pc = typeof parent.spanContext === 'function' ? parent.spanContext() : parent;
			ctx = trace.setSpanContext(ROOT_CONTEXT, {
				traceId: pc.traceId, spanId: pc.spanId, traceFlags: TraceFlags.SAMPLED, isRemote: true,
			});
		}
		const s = p.tracer.startSpan(name, { kind: KINDS[kind], startTime: new Date(start), attributes: attrs }, ctx);
		if (error) s.setStatus({ code: SpanStatusCode.ERROR, message: `${name} failed` });
		else if (ok) s.setStatus({ code: SpanStatusCode.OK });
		s.end(new Date(end));
		return s;
	}

	// forceFlush the named providers ("service" or "service#via") in that
	// order (all when none named).
	async flush(...services) {
		const list = services.length ? services : [...this.providers.keys()];
		for (const name of list) {
			const p = this.providers.get(name);
			if (!p) throw new Error(`test bug: no service ${name}`);
			await p.forceFlush();
		}
	}

	async shutdown() {
		for (const p of this.providers.values()) await p.shutdown().catch(() => {});
		this.providers.clear();
	}
}

// The main trace set, all spans between t0 and t0 + ~125 s:
//  - 20 checkout requests: a root SERVER span in frontend (-> user, virtual
//    node), frontend CLIENT -> cart SERVER "POST /cart" (server 10..200 ms;
//    failures: server only, client only, both), cart INTERNAL, cart CLIENT
//    with db.system.name + server.address (database -> pg-main), every
//    other request cart PRODUCER -> billing CONSUMER (messaging; one
//    consumer failure) and billing CLIENT with peer.service stripe (virtual
//    server), every sixth billing CLIENT with db.namespace (database ->
//    ledger), every fourth cart CLIENT -> inventory SERVER "GET /stock/{sku}"
//    with inventory's database calls (peer.service before server.address;
//    db.name before db.system);
//  - 6 root SERVER "GET /health" with peer.service k8s-probe (virtual client);
//  - 3 root SERVER "POST /login" in gateway (-> user), one failing;
//  - 5 root CLIENT spans of sessions, whose resource says db.system redis,
//    with network.peer.address (and port on 3 of them); root CLIENT spans of
//    reporting (resource: db.name, server.address; one with peer.service on
//    the span) and archiver (resource db.namespace, span db.name);
//  - an unpaired CLIENT (cart, no peer.service), an unpaired SERVER
//    (inventory, its parent never sent) and an unpaired SERVER under an
//    INTERNAL span (billing "GET /quote");
//  - 3 cart PRODUCER spans with peer.service audit-bus and no consumer, and
//    3 billing CONSUMER spans with no parent (-> user), one failing.
export function mainSet(sv, t0) {
	for (let i = 0; i < 20; i++) {
		const b = t0 + i * 6000;
		const fail = { server: i === 3 || i === 11, client: i === 7 || i === 11 };
		const root = sv.span('frontend', 'GET /checkout', {
			kind: 'server', start: b, end: b + 300 + 10 * i, error: i === 11,
			attrs: { 'http.request.method': 'GET', 'url.path': '/checkout' },
		});
		const sdur = 10 * (i + 1);
		const call = sv.span('frontend', 'POST /cart', {
			kind: 'client', start: b + 10, end: b + 10 + sdur + 4 + (i % 3), parent: root, error: fail.client,
			attrs: { 'server.address': 'cart', 'server.port': 8080 },
		});
		const cart = sv.span('cart', 'POST /cart', {
			kind: 'server', start: b + 12, end: b + 12 + sdur, parent: call, error: fail.server, ok: !fail.server,
		});
		const price = sv.span('cart', 'price cart', { kind: 'internal', start: b + 13, end: b + 14 + (i % 5), parent: cart });
		if (i === 5) // a server span whose parent is in the trace but is no client: unpaired
			sv.span('billing', 'GET /quote', { kind: 'server', start: b + 13, end: b + 14, parent: price });
		sv.span('cart', 'SELECT carts', {
			kind: 'client', start: b + 13, end: b + 18 + ((7 * i) % 23), parent: cart, error: i === 9,
			attrs: { 'db.system.name': 'postgresql', 'server.address': 'pg-main', 'db.query.text': 'SELECT * FROM carts' },
		});
		if (i % 2 === 0) {
			const pub = sv.span('cart', 'orders publish', {
				kind: 'producer', start: b + 14, end: b + 16 + (i % 4), parent: cart,
				attrs: { 'messaging.system': 'kafka', 'messaging.destination.name': 'orders' },
			});
			const proc = sv.span('billing', 'orders process', {
				kind: 'consumer', start: b + 20, end: b + 40 + 3 * i, parent: pub, error: i === 4,
			});
			sv.span('billing', 'POST /charge', {
				kind: 'client', start: b + 21, end: b + 36 + i, parent: proc, error: i === 8,
				attrs: { 'peer.service': 'stripe', 'server.address': 'api.stripe.com' },
			});
			if (i % 6 === 0) {
				sv.span('billing', 'INSERT ledger', {
					kind: 'client', start: b + 22, end: b + 25 + (i % 7), parent: proc,
					attrs: { 'db.namespace': 'ledger', 'db.system.name': 'postgresql' },
				});
			}
		}
		if (i % 4 === 0) {
			const get = sv.span('cart', 'GET /stock/{sku}', {
				kind: 'client', start: b + 15, end: b + 60 + i, parent: cart,
			});
			const inv = sv.span('inventory', 'GET /stock/{sku}', {
				kind: 'server', start: b + 17, end: b + 50 + 2 * i, parent: get,
			});
			if (i <= 8) {
				sv.span('inventory', 'SELECT stock', {
					kind: 'client', start: b + 18, end: b + 30 + i, parent: inv,
					attrs: { 'db.name': 'stockdb', 'db.system': 'mysql', 'peer.service': 'stock-db', 'server.address': 'mysql.internal' },
				});
			} else {
				sv.span('inventory', 'SELECT items', {
					kind: 'client', start: b + 18, end: b + 22 + i, parent: inv,
					attrs: { 'db.name': 'itemsdb', 'db.system': 'mysql' },
				});
			}
		}
		if (i === 19) {
			sv.span('cart', 'GET /recommendations', { kind: 'client', start: b + 15, end: b + 45, parent: cart });
		}
	}
	for (let k = 0; k < 6; k++) {
		const b = t0 + 1000 + k * 20000;
		sv.span('frontend', 'GET /health', { kind: 'server', start: b, end: b + 1 + k, attrs: { 'peer.service': 'k8s-probe' } });
	}
	for (let k = 0; k < 3; k++) {
		const b = t0 + 2000 + k * 30000;
		sv.span('gateway', 'POST /login', { kind: 'server', start: b, end: b + 50 + 25 * k, error: k === 2 });
	}
	for (let k = 0; k < 5; k++) {
		const b = t0 + 3000 + k * 15000;
		sv.span('sessions', 'GET session', {
			kind: 'client', start: b, end: b + 1 + k, resource: { 'db.system': 'redis' },
			attrs: k < 3 ? { 'network.peer.address': '10.1.2.3', 'network.peer.port': 6379 } : { 'network.peer.address': '10.1.2.4' },
		});
	}
	sv.span('inventory', 'GET /restock', { kind: 'server', start: t0 + 5000, end: t0 + 5040, parent: remoteParent() });
	// database attributes on the resource: server.address there names the server
	// unless the span has peer.service; db.namespace there comes before the span's db.name
	for (let k = 0; k < 3; k++) {
		const b = t0 + 4000 + k * 21000;
		sv.span('reporting', 'nightly query', {
			kind: 'client', start: b, end: b + 40 + 10 * k, resource: { 'db.name': 'warehouse', 'server.address': 'dwh.internal' },
			attrs: k === 2 ? { 'peer.service': 'dwh-primary' } : {}, error: k === 1,
		});
		sv.span('archiver', 'archive rows', {
			kind: 'client', start: b + 100, end: b + 130 + k, resource: { 'db.namespace': 'archive' }, attrs: { 'db.name': 'not-this' },
		});
	}
	// messaging without its other side: a producer naming its bus, a consumer with no parent
	for (let k = 0; k < 3; k++) {
		const b = t0 + 7000 + k * 25000;
		sv.span('cart', 'audit publish', { kind: 'producer', start: b, end: b + 2 + k, attrs: { 'peer.service': 'audit-bus' } });
		sv.span('billing', 'nightly batch', { kind: 'consumer', start: b + 500, end: b + 800 + 100 * k, error: k === 1 });
	}
}

// What the SDK cannot send, as a raw OTLP request (OTLP/JSON form, to be
// encoded as protobuf): spans of kind UNSPECIFIED (0) and spans whose end is
// before their start (latency 0, as Tempo clamps it).  Service legacy: two
// root SERVER spans, the first ending 5 ms before it starts, each with an
// UNSPECIFIED child and an INTERNAL child "backwards" (the first of which
// also ends before it starts).  The backward spans are never the newest of
// their minute, and their start and end are in the same minute, so where a
// backward span is counted (its end, or its start) moves no sample.
export function rawOddities(t0) {
	let base = t0 + 9000;
	if (base % 60000 > 50000) base += 12000;
	const ns = (ms) => (BigInt(ms) * 1000000n).toString();
	const spans = [];
	for (let k = 0; k < 2; k++) {
		const tid = newTraceId();
		const root = newSpanId();
		const b = base + 100 * k;
		const back = k === 0;
		const span = (spanId, parentSpanId, name, kind, start, end) => ({
			traceId: tid, spanId, parentSpanId, name, kind, startTimeUnixNano: ns(start), endTimeUnixNano: ns(end), status: {},
		});
		spans.push(
			back ? span(root, '', 'GET /legacy', 2, b + 5, b) : span(root, '', 'GET /legacy', 2, b, b + 20),
			span(newSpanId(), root, 'unspecified work', 0, b + 1, b + 4),
			back ? span(newSpanId(), root, 'backwards', 1, b + 3, b + 2) : span(newSpanId(), root, 'backwards', 1, b + 2, b + 3),
		);
	}
	return {
		resourceSpans: [{
			resource: { attributes: [{ key: 'service.name', value: { stringValue: 'legacy' } }] },
			scopeSpans: [{ scope: { name: 'raw' }, spans }],
		}],
	};
}
