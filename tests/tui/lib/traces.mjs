// traces.mjs - the fixed trace set the UI tests send: fixed ids, names,
// services and timestamps, so every screen is the same on every run.
//
// Base time 2025-03-14 09:26:40 UTC.  Five traces, oldest first:
//
//   +0s   reports   GET /report       2.50s  slow        (SLOW)
//   +10s  frontend  GET /checkout     120ms  3 services  (CHECKOUT)
//   +20s  orders    POST /orders      80.0ms error span  (ERROR)
//   +30s  inventory attrs.demo        3.00ms every attribute type (ATTRS)
//   +40s  worker    process.batch     15.0ms a link to CHECKOUT (LINK)
//
// and LATE (+50s, scheduler, nightly.job) sent later by the live-update test.
//
// CHECKOUT, in ms from its start (the waterfall's tree order):
//
//   frontend GET /checkout        SERVER    0..120
//     frontend cart.get           CLIENT    5..35
//       cart GET /cart            SERVER    7..33
//         cart redis GET          CLIENT   10..20
//     frontend recommendations    INTERNAL 36..60   (beside payment: off the critical path)
//     frontend payment.charge     CLIENT   40..110
//       payment POST /charge      SERVER   42..108
//         payment fraud.check     INTERNAL 45..60   (overlaps bank.authorize: off the path)
//         payment bank.authorize  CLIENT   50..105

export const BASE_NS = BigInt(Date.UTC(2025, 2, 14, 9, 26, 40)) * 1000000n;

export const TID = {
	SLOW: '5a0c0000000000000000000000000005',
	CHECKOUT: '1c0c0000000000000000000000000001',
	ERROR: '2e0e0000000000000000000000000002',
	ATTRS: '3a0a0000000000000000000000000003',
	LINK: '4b1b0000000000000000000000000004',
	LATE: '6d0d0000000000000000000000000006',
};

// span ids: 8 bytes, readable
const sid = (trace, n) => `${trace.slice(0, 4)}00000000${String(n).padStart(4, '0')}`;

const ns = (traceOffsetS, ms) => (BASE_NS + BigInt(traceOffsetS) * 1000000000n + BigInt(Math.round(ms * 1000)) * 1000n).toString();
const str = (key, v) => ({ key, value: { stringValue: v } });

const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };

function span(tid, off, n, parent, name, kind, fromMs, toMs, extra = {}) {
	return {
		traceId: tid, spanId: sid(tid, n), ...(parent ? { parentSpanId: sid(tid, parent) } : {}),
		name, kind: KIND[kind], startTimeUnixNano: ns(off, fromMs), endTimeUnixNano: ns(off, toMs),
		...extra,
	};
}

function rs(service, spans, { resource = [], scope = { name: 'tui-test' } } = {}) {
	return {
		resource: { attributes: [str('service.name', service), ...resource] },
		scopeSpans: [{ scope, spans }],
	};
}

// The spans of CHECKOUT as the tests expect them in the waterfall: tree
// order, depth, service, name, start and end in ms from the trace start.
export const CHECKOUT_TREE = [
	{ n: 1, depth: 0, service: 'frontend', name: 'GET /checkout', from: 0, to: 120 },
	{ n: 2, depth: 1, service: 'frontend', name: 'cart.get', from: 5, to: 35 },
	{ n: 3, depth: 2, service: 'cart', name: 'GET /cart', from: 7, to: 33 },
	{ n: 4, depth: 3, service: 'cart', name: 'redis GET', from: 10, to: 20 },
	{ n: 5, depth: 1, service: 'frontend', name: 'recommendations', from: 36, to: 60 },
	{ n: 6, depth: 1, service: 'frontend', name: 'payment.charge', from: 40, to: 110 },
	{ n: 7, depth: 2, service: 'payment', name: 'POST /charge', from: 42, to: 108 },
	{ n: 8, depth: 3, service: 'payment', name: 'fraud.check', from: 45, to: 60 },
	{ n: 9, depth: 3, service: 'payment', name: 'bank.authorize', from: 50, to: 105 },
];
// on the critical path: everything but recommendations and fraud.check
export const CHECKOUT_OFF_PATH = ['recommendations', 'fraud.check'];

function checkout() {
	const t = TID.CHECKOUT;
	const o = 10;
	const res = [str('service.version', '1.4.2'), str('host.name', 'web-1')];
	return [
		rs('frontend', [
			span(t, o, 1, 0, 'GET /checkout', 'SERVER', 0, 120, {
				attributes: [str('http.method', 'GET'), str('http.route', '/checkout'),
					{ key: 'http.status_code', value: { intValue: '200' } }],
			}),
			span(t, o, 2, 1, 'cart.get', 'CLIENT', 5, 35),
			span(t, o, 5, 1, 'recommendations', 'INTERNAL', 36, 60),
			span(t, o, 6, 1, 'payment.charge', 'CLIENT', 40, 110, {
				attributes: [{ key: 'payment.amount', value: { doubleValue: 19.99 } }, str('payment.currency', 'EUR')],
			}),
		], { resource: res, scope: { name: 'checkout-instrumentation', version: '0.3.1' } }),
		rs('cart', [
			span(t, o, 3, 2, 'GET /cart', 'SERVER', 7, 33),
			span(t, o, 4, 3, 'redis GET', 'CLIENT', 10, 20),
		]),
		rs('payment', [
			span(t, o, 7, 6, 'POST /charge', 'SERVER', 42, 108),
			span(t, o, 8, 7, 'fraud.check', 'INTERNAL', 45, 60),
			span(t, o, 9, 7, 'bank.authorize', 'CLIENT', 50, 105),
		]),
	];
}

function errorTrace() {
	const t = TID.ERROR;
	const o = 20;
	return [rs('orders', [
		span(t, o, 1, 0, 'POST /orders', 'SERVER', 0, 80),
		span(t, o, 2, 1, 'validate', 'INTERNAL', 2, 8),
		span(t, o, 3, 1, 'db.insert', 'CLIENT', 10, 70, {
			attributes: [str('db.system', 'postgresql'), str('db.statement', 'INSERT INTO orders VALUES ($1)')],
			status: { code: 2, message: 'deadlock detected' },
			events: [{
				timeUnixNano: ns(o, 69.5), name: 'exception',
				attributes: [str('exception.type', 'PgError'), str('exception.message', 'deadlock detected'),
					str('exception.stacktrace', 'at insert (db.js:10)')],
			}],
		}),
		span(t, o, 4, 1, 'publish', 'PRODUCER', 72, 78),
	])];
}

function attrsTrace() {
	const t = TID.ATTRS;
	const o = 30;
	return [rs('inventory', [
		span(t, o, 1, 0, 'attrs.demo', 'SERVER', 0, 3, {
			attributes: [
				str('str', 'hello world'),
				{ key: 'bool', value: { boolValue: true } },
				{ key: 'int', value: { intValue: '-42' } },
				{ key: 'double', value: { doubleValue: 0.25 } },
				{ key: 'bytes', value: { bytesValue: Buffer.from([0xde, 0xad, 0xbe, 0xef]).toString('base64') } },
				{ key: 'array', value: { arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }, { boolValue: false }] } } },
				{ key: 'kvlist', value: { kvlistValue: { values: [str('region', 'eu'), { key: 'zone', value: { intValue: '3' } }] } } },
			],
			events: [{ timeUnixNano: ns(o, 1), name: 'cache.miss', attributes: [str('key', 'sku-1')] }],
		}),
	], { resource: [str('service.version', '2.0.0')], scope: { name: 'attrs-scope', version: '1.0' } })];
}

function linkTrace() {
	const t = TID.LINK;
	const o = 40;
	return [rs('worker', [
		span(t, o, 1, 0, 'process.batch', 'CONSUMER', 0, 15, {
			links: [{ traceId: TID.CHECKOUT, spanId: sid(TID.CHECKOUT, 1), attributes: [str('link.reason', 'batch member')] }],
		}),
	])];
}

function slowTrace() {
	const t = TID.SLOW;
	const o = 0;
	return [rs('reports', [
		span(t, o, 1, 0, 'GET /report', 'SERVER', 0, 2500),
		span(t, o, 2, 1, 'query.db', 'CLIENT', 100, 1800),
		span(t, o, 3, 1, 'render.pdf', 'INTERNAL', 1800, 2400),
	])];
}

function lateTrace() {
	const t = TID.LATE;
	return [rs('scheduler', [span(t, 50, 1, 0, 'nightly.job', 'INTERNAL', 0, 40)])];
}

// The five traces in one ExportTraceServiceRequest (OTLP/JSON form).
export function traceSet() {
	return { resourceSpans: [...slowTrace(), ...checkout(), ...errorTrace(), ...attrsTrace(), ...linkTrace()] };
}

// The trace sent while the list is open.
export function lateRequest() {
	return { resourceSpans: lateTrace() };
}

export { sid as spanIdOf };
