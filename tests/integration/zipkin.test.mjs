// The Zipkin v2 receiver (--zipkin, POST /api/v2/spans): spans from the real
// @opentelemetry/exporter-zipkin and hand-written Zipkin JSON come back from
// /api/v2/traces/<id> mapped as the OpenTelemetry Collector's Zipkin receiver
// maps them (src/codec/zipkin.h), field by field; bad input gets a 400 and
// the server keeps serving; `obstui import` reads Zipkin JSON files.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { gzipSync } from 'node:zlib';
import { context, trace, SpanKind, SpanStatusCode } from '@opentelemetry/api';
import { BasicTracerProvider, SimpleSpanProcessor } from '@opentelemetry/sdk-trace-base';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { ZipkinExporter } from '@opentelemetry/exporter-zipkin';
import { startServe, post, get, getJson, waitFor, cli, describeCli, tempDir } from './lib/obstui.mjs';

let srv;
let zipkin;
before(async () => {
	// startServe passes --zipkin off; a later flag wins
	srv = await startServe({ args: ['--zipkin', '127.0.0.1:0'] });
	assert.ok(srv.listeners.zipkin, `no zipkin listener: ${srv.stdout()}`);
	zipkin = `http://${srv.listeners.zipkin}`;
});

async function fetchTrace(server, traceId) {
	return waitFor(`trace ${traceId}`, async () => {
		const r = await get(`${server.api}/api/v2/traces/${traceId}`, { accept: 'application/json' });
		return r.status === 200 ? JSON.parse(r.body.toString('utf8')) : null;
	});
}

// name -> {resource: {k: v}, scope, span} with attributes as {k: value object}
function spansByName(doc) {
	const out = {};
	for (const rs of doc.trace.resourceSpans) {
		const resource = Object.fromEntries((rs.resource?.attributes ?? []).map((a) => [a.key, a.value]));
		for (const ss of rs.scopeSpans)
			for (const s of ss.spans) {
				const attrs = Object.fromEntries((s.attributes ?? []).map((a) => [a.key, a.value]));
				out[s.name] = { resource, scope: ss.scope ?? {}, span: s, attrs };
			}
	}
	return out;
}

const str = (v) => ({ stringValue: v });
const int = (v) => ({ intValue: String(v) });

test('the real ZipkinExporter: spans round-trip as the Collector maps them', { timeout: 30000 }, async () => {
	const exporter = new ZipkinExporter({ url: `${zipkin}/api/v2/spans` });
	const provider = new BasicTracerProvider({
		resource: resourceFromAttributes({ 'service.name': 'zk-sdk', 'service.version': '1.4.2', 'deployment.environment': 'test' }),
		spanProcessors: [new SimpleSpanProcessor(exporter)],
	});
	const tracer = provider.getTracer('zk-lib', '0.1.0');
	const t0 = [1700000000, 123456000];
	const root = tracer.startSpan('GET /checkout', {
		kind: SpanKind.SERVER, startTime: t0,
		attributes: { 'http.method': 'GET', 'http.status_code': 500, retry: true, ratio: 0.25 },
	});
	root.addEvent('cache miss', [1700000000, 124000000]);
	root.setStatus({ code: SpanStatusCode.ERROR, message: 'payment failed' });
	const ctx = trace.setSpan(context.active(), root);
	const kids = [
		['charge', SpanKind.CLIENT], ['enqueue', SpanKind.PRODUCER], ['dequeue', SpanKind.CONSUMER],
		['compute', SpanKind.INTERNAL],
	].map(([name, kind], i) => {
		const s = tracer.startSpan(name, { kind, startTime: [1700000000, 124000000 + i * 1000000] }, ctx);
		s.end([1700000000, 124500000 + i * 1000000]);
		return s;
	});
	root.end([1700000000, 130456000]);
	await provider.forceFlush();
	await provider.shutdown();

	const traceId = root.spanContext().traceId;
	const doc = await fetchTrace(srv, traceId);
	const got = spansByName(doc);
	assert.deepEqual(Object.keys(got).sort(), ['GET /checkout', 'charge', 'compute', 'dequeue', 'enqueue']);
	const r = got['GET /checkout'];
	// resource: localEndpoint.serviceName, plus the resource tags the exporter copies into every span
	assert.deepEqual(r.resource['service.name'], str('zk-sdk'));
	assert.deepEqual(r.resource['service.version'], str('1.4.2'));
	assert.deepEqual(r.resource['deployment.environment'], str('test'));
	assert.equal(r.span.traceId, traceId);
	assert.equal(r.span.spanId, root.spanContext().spanId);
	assert.equal(r.span.parentSpanId ?? '', '');
	assert.equal(r.span.kind, 2);
	assert.equal(r.span.startTimeUnixNano, '1700000000123456000');
	assert.equal(r.span.endTimeUnixNano, '1700000000130456000');
	// Zipkin tags are strings
	assert.deepEqual(r.attrs['http.method'], str('GET'));
	assert.deepEqual(r.attrs['http.status_code'], str('500'));
	assert.deepEqual(r.attrs.retry, str('true'));
	assert.deepEqual(r.attrs.ratio, str('0.25'));
	assert.equal(r.attrs['service.name'], undefined, 'resource tags are not span attributes');
	assert.equal(r.attrs['otel.status_code'], undefined);
	assert.deepEqual(r.span.status, { code: 2, message: 'payment failed' });
	assert.deepEqual(r.span.events, [{ timeUnixNano: '1700000000124000000', name: 'cache miss' }]);
	const kinds = { charge: 3, enqueue: 4, dequeue: 5, compute: 0 }; // INTERNAL is sent without a kind
	kids.forEach((s, i) => {
		const name = ['charge', 'enqueue', 'dequeue', 'compute'][i];
		const g = got[name];
		assert.equal(g.span.spanId, s.spanContext().spanId, name);
		assert.equal(g.span.parentSpanId, root.spanContext().spanId, name);
		assert.equal(g.span.kind ?? 0, kinds[name], name);
		assert.equal(g.span.startTimeUnixNano, String(1700000000124000000n + BigInt(i) * 1000000n), name);
		assert.equal(g.span.endTimeUnixNano, String(1700000000124500000n + BigInt(i) * 1000000n), name);
	});
});

const richJson = (traceId) => JSON.stringify([
	{
		traceId, id: 'a2fb4a1d1a96d312', parentId: '0020000000000001', name: 'get /api', kind: 'SERVER',
		timestamp: 1700000000123456, duration: 2500, shared: true,
		localEndpoint: { serviceName: 'frontend', ipv4: '10.0.0.1', port: 8080 },
		remoteEndpoint: { serviceName: 'backend', ipv6: '2001:db8::1', port: 9000 },
		tags: { 'http.method': 'GET', error: 'boom', 'host.name': 'h1', 'otel.library.name': 'lib', 'otel.library.version': '1.2', 'w3c.tracestate': 'k=v' },
		annotations: [{ timestamp: 1700000000123500, value: 'ws' }],
	},
	{ traceId, id: '0000000000000002', parentId: 'a2fb4a1d1a96d312', name: 'db', kind: 'CLIENT', timestamp: 1700000000123460, duration: 100, localEndpoint: { serviceName: 'db-svc' } },
]);

function checkRich(doc, traceId) {
	const got = spansByName(doc);
	const a = got['get /api'];
	assert.deepEqual(a.resource, { 'service.name': str('frontend'), 'host.name': str('h1') });
	assert.deepEqual(a.scope, { name: 'lib', version: '1.2' });
	assert.equal(a.span.traceId, traceId.padStart(32, '0'));
	assert.equal(a.span.parentSpanId, '0020000000000001');
	assert.equal(a.span.traceState, 'k=v');
	assert.equal(a.span.kind, 2);
	assert.equal(a.span.startTimeUnixNano, '1700000000123456000');
	assert.equal(a.span.endTimeUnixNano, '1700000000125956000');
	assert.deepEqual(a.span.status, { code: 2, message: 'boom' });
	assert.deepEqual(a.attrs, {
		'http.method': str('GET'), error: str('boom'), 'net.host.ip': str('10.0.0.1'), 'net.host.port': int(8080),
		'peer.service': str('backend'), 'net.peer.ip': str('2001:db8::1'), 'net.peer.port': int(9000),
	});
	assert.deepEqual(a.span.events, [{ timeUnixNano: '1700000000123500000', name: 'ws' }]);
	const d = got.db;
	assert.deepEqual(d.resource, { 'service.name': str('db-svc') });
	assert.equal(d.span.parentSpanId, 'a2fb4a1d1a96d312');
	assert.equal(d.span.kind, 3);
}

test('hand-written Zipkin JSON, plain and gzipped, 128- and 64-bit trace ids', { timeout: 20000 }, async () => {
	const cases = [
		['463ac35c9f6413ad48485a3953bb6124', false, { 'content-type': 'application/json' }],
		['48485a3953bb6125', true, { 'content-type': 'application/json', 'content-encoding': 'gzip' }],
		['58485a3953bb6126', false, {}],
	];
	for (const [tid, gz, headers] of cases) {
		const body = gz ? gzipSync(richJson(tid)) : richJson(tid);
		const r = await post(`${zipkin}/api/v2/spans`, body, headers);
		assert.equal(r.status, 202, `${tid}: ${r.body}`);
		checkRich(await fetchTrace(srv, tid.padStart(32, '0')), tid);
	}
});

test('bad input: 400 naming the span and field, and the server keeps serving', { timeout: 20000 }, async () => {
	const bad = [
		['not json', /^not valid JSON/],
		['{"traceId":"1"}', /^expected a JSON array of Zipkin v2 spans, got an object/],
		['[{"traceId":"0000000000000001","id":"0000000000000001"},{"traceId":"123","id":"0000000000000001"}]',
			/^spans\[1\]\.traceId: expected 16 or 32 hex digits, got 3 characters/],
		['[{"traceId":"0000000000000001","id":"00000000000000zz"}]', /^spans\[0\]\.id: '00000000000000zz' is not hexadecimal/],
		['[{"traceId":"0000000000000001"}]', /^spans\[0\]\.id: missing/],
	];
	for (const [body, re] of bad) {
		const r = await post(`${zipkin}/api/v2/spans`, body, { 'content-type': 'application/json' });
		assert.equal(r.status, 400, body);
		assert.match(r.body.toString(), re);
	}
	const v1 = await post(`${zipkin}/api/v1/spans`, '[]', { 'content-type': 'application/json' });
	assert.equal(v1.status, 415);
	assert.match(v1.body.toString(), /only Zipkin v2 JSON/);
	const thrift = await post(`${zipkin}/api/v2/spans`, 'x', { 'content-type': 'application/x-thrift' });
	assert.equal(thrift.status, 415);
	const empty = await post(`${zipkin}/api/v2/spans`, '[]', { 'content-type': 'application/json' });
	assert.equal(empty.status, 202);
	const tid = '68485a3953bb6127';
	const ok = await post(`${zipkin}/api/v2/spans`, richJson(tid), { 'content-type': 'application/json' });
	assert.equal(ok.status, 202);
	checkRich(await fetchTrace(srv, tid.padStart(32, '0')), tid);
	assert.ok(srv.alive());
});

test('obstui import reads a Zipkin v2 JSON file', { timeout: 30000 }, async () => {
	const store = tempDir();
	const file = join(tempDir(), 'spans.json');
	const tid = '78485a3953bb6128';
	writeFileSync(file, `\n  ${richJson(tid)}\n`);
	const args = ['import', file, '--store', store];
	const r = cli(args);
	assert.equal(r.code, 0, describeCli(args, r));
	const bad = join(tempDir(), 'bad.json');
	writeFileSync(bad, '[{"traceId":"x"}]');
	const rb = cli(['import', bad, '--store', store]);
	assert.equal(rb.code, 1);
	assert.match(rb.stderr, /spans\[0\]\.traceId: expected 16 or 32 hex digits/);
	const s2 = await startServe({ store });
	checkRich(await fetchTrace(s2, tid.padStart(32, '0')), tid);
	await s2.stop();
	assert.ok(getJson); // helper kept for symmetry with the other suites
});
