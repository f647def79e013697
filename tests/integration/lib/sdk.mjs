// sdk.mjs - produce a rich trace with the real OpenTelemetry JS SDK.
//
// richTrace(exporter) exercises what the SDK can express: every span kind,
// status OK/ERROR with a message, attributes of every supported type (string,
// bool, int, double, homogeneous arrays of each, with null holes), events with
// attributes and explicit times, an exception event, links with attributes
// and trace state, a remote parent with trace state, a parent/child tree over
// two instrumentation scopes (name, version, schema URL), resource attributes
// with a schema URL, and span limits set low so that dropped attribute, event
// and link counts are non-zero.  (This SDK has no API for scope attributes;
// the hand-built tests cover them.)

import { BasicTracerProvider, BatchSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { TraceState } from '@opentelemetry/core';
import { trace, ROOT_CONTEXT, SpanKind, SpanStatusCode, TraceFlags, diag, DiagLogLevel } from '@opentelemetry/api';
import { traceId as newTraceId, spanId as newSpanId } from './traces.mjs';

// Surface exporter errors in the test output instead of swallowing them.
const exportErrors = [];
diag.setLogger({
	error: (...a) => exportErrors.push(a.map(String).join(' ')),
	warn: () => {}, info: () => {}, debug: () => {}, verbose: () => {},
}, DiagLogLevel.ERROR);
export function takeExportErrors() { return exportErrors.splice(0); }

export const RESOURCE_SCHEMA = 'https://opentelemetry.io/schemas/1.25.0';
export const SCOPE_SCHEMA = 'https://opentelemetry.io/schemas/1.24.0';

// hrtime [seconds, nanoseconds] `ms` milliseconds + `ns` nanoseconds after t0.
function at(t0, ms, ns = 0) {
	const total = BigInt(t0[0]) * 1000000000n + BigInt(t0[1]) + BigInt(ms) * 1000000n + BigInt(ns);
	return [Number(total / 1000000000n), Number(total % 1000000000n)];
}

export async function richTrace(exporter, { service = 'sdk-fidelity' } = {}) {
	const provider = new BasicTracerProvider({
		resource: resourceFromAttributes({
			'service.name': service,
			'service.version': '1.4.2',
			'service.namespace': 'it',
			'deployment.environment.name': 'test',
			'host.name': 'loopback',
			'process.pid': 4242,
			'resource.bool': true,
			'resource.double': 0.5,
			'resource.list': ['x', 'y'],
		}, { schemaUrl: RESOURCE_SCHEMA }),
		spanLimits: {
			attributeCountLimit: 16,
			eventCountLimit: 4,
			linkCountLimit: 2,
			attributePerEventCountLimit: 3,
			attributePerLinkCountLimit: 2,
		},
		spanProcessors: [new BatchSpanProcessor(exporter, { scheduledDelayMillis: 60000, maxExportBatchSize: 512 })],
	});
	const ta = provider.getTracer('it-scope-a', '1.2.3', { schemaUrl: SCOPE_SCHEMA });
	const tb = provider.getTracer('it-scope-b');

	const tid = newTraceId();
	const remote = trace.setSpanContext(ROOT_CONTEXT, {
		traceId: tid, spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED, isRemote: true,
		traceState: new TraceState('vendora=abc,vendorb=x-y_z'),
	});
	const t0 = [Math.floor(Date.now() / 1000) - 5, 123456789];
	const other = { traceId: newTraceId(), spanId: newSpanId(), traceFlags: TraceFlags.SAMPLED, isRemote: true,
		traceState: new TraceState('lk=1') };
	const other2 = { traceId: newTraceId(), spanId: newSpanId(), traceFlags: TraceFlags.NONE, isRemote: false };

	const root = ta.startSpan('GET /checkout', {
		kind: SpanKind.SERVER,
		startTime: at(t0, 0),
		attributes: {
			'http.request.method': 'GET',
			'url.path': '/checkout',
			'http.response.status_code': 200,
			'attr.bool': true,
			'attr.false': false,
			'attr.int': 42,
			'attr.negative': -7,
			'attr.zero': 0,
			'attr.double': 3.25,
			'attr.empty': '',
			'attr.unicode': 'héllo wörld ✓ 😀',
			'attr.strings': ['a', 'b', ''],
			'attr.bools': [true, false, true],
			'attr.ints': [1, -2, 3000000000],
			'attr.doubles': [1.5, -2.25, 0.1],
			'attr.holes': ['x', null, 'y'],
			'attr.empty_array': [],
		},
		links: [
			{ context: other, attributes: { 'link.kind': 'follows', 'link.n': 1 } },
			{ context: other2 },
		],
	}, remote);
	root.addEvent('request.received', { 'ev.size': 512, 'ev.ok': true }, at(t0, 1, 7));
	root.addEvent('no-attributes', undefined, at(t0, 2));
	root.setStatus({ code: SpanStatusCode.OK });
	const rootCtx = trace.setSpan(ROOT_CONTEXT, root);

	const client = ta.startSpan('POST payments', {
		kind: SpanKind.CLIENT, startTime: at(t0, 5, 1),
		attributes: { 'server.address': 'payments', 'server.port': 8443 },
	}, rootCtx);
	client.addEvent('big event', { e1: 1, e2: 2, e3: 3, e4: 4, e5: 5 }, at(t0, 6));
	client.recordException(Object.assign(new Error('card declined'), { name: 'PaymentError' }), at(t0, 30));
	client.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed: card declined' });
	client.end(at(t0, 31, 999));

	const producer = tb.startSpan('orders publish', { kind: SpanKind.PRODUCER, startTime: at(t0, 40) }, rootCtx);
	producer.setAttribute('messaging.system', 'kafka');
	producer.end(at(t0, 41));

	const consumer = tb.startSpan('orders process', {
		kind: SpanKind.CONSUMER, startTime: at(t0, 45),
		links: [{ context: producer.spanContext(), attributes: { 'messaging.batch': true } }],
	}, trace.setSpan(ROOT_CONTEXT, producer));

	// limits: 20 attributes (4 dropped), 5 events (1 dropped), 3 links (1 dropped),
	// a link with 3 attributes (1 dropped); the client span has an event with 5
	// attributes (2 dropped)
	const attrs = {};
	for (let i = 0; i < 20; i++) attrs[`many.${String(i).padStart(2, '0')}`] = i;
	const internal = ta.startSpan('compute totals', {
		kind: SpanKind.INTERNAL, startTime: at(t0, 50), attributes: attrs,
		links: [ // the SDK drops the oldest link over the limit
			{ context: producer.spanContext() },
			{ context: other2, attributes: { only: 'one' } },
			{ context: other, attributes: { a: 1, b: 2, c: 3 } },
		],
	}, trace.setSpan(ROOT_CONTEXT, consumer));
	for (let i = 0; i < 5; i++) internal.addEvent(`tick ${i}`, { i }, at(t0, 52 + i));
	internal.updateName('compute totals (renamed)');
	internal.end(at(t0, 60));
	consumer.end(at(t0, 70));

	const unset = tb.startSpan('cache lookup', { kind: SpanKind.INTERNAL, startTime: at(t0, 71) }, rootCtx);
	unset.end(at(t0, 71, 500));

	root.end(at(t0, 100));

	// an export failure is reported by the caller, after it has looked at
	// what obstui answered
	const flushError = await provider.forceFlush().then(() => null, (e) => e);
	await provider.shutdown().catch(() => {});
	return { traceId: tid, spanCount: 6, flushError };
}
