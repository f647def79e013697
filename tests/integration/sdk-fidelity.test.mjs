// Fidelity with the real SDK: what the OpenTelemetry JS exporters send (as
// captured on the wire by a recording proxy) comes back unchanged from the
// query API, in its three forms.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startServe } from './lib/obstui.mjs';
import { startRecordingProxy } from './lib/proxy.mjs';
import { richTrace, takeExportErrors } from './lib/sdk.mjs';
import { assertTrace, captured } from './lib/traces.mjs';
import { onlyTrace } from './lib/otlp.mjs';

let srv;
let proxy;
before(async () => {
	srv = await startServe();
	proxy = await startRecordingProxy(srv.otlp);
});
after(async () => { await proxy?.close(); });

for (const [label, Exporter, enc] of [
	['exporter-trace-otlp-proto (application/x-protobuf)', ProtoExporter, 'proto'],
	['exporter-trace-otlp-http (application/json)', JsonExporter, 'json'],
]) {
	test(`SDK rich trace via ${label} round-trips through the query API`, { timeout: 30000 }, async () => {
		proxy.records.length = 0;
		const exporter = new Exporter({ url: `${proxy.url}/v1/traces`, timeoutMillis: 10000 });
		const { traceId, spanCount, flushError } = await richTrace(exporter, { service: `sdk-${enc}` });
		const errors = takeExportErrors();
		const sent = onlyTrace(captured(proxy.records, { expectEncoding: enc }), traceId);
		assert.deepEqual(errors, [], 'the exporter reported errors');
		assert.equal(flushError, null, 'forceFlush failed');
		assert.equal(sent.size, spanCount, 'test bug: the SDK did not export every span');

		// sanity: the capture holds what this test is about
		const all = [...sent.values()];
		assert.deepEqual(new Set(all.map((x) => x.span.kind)), new Set([1, 2, 3, 4, 5]), 'every span kind');
		assert.ok(all.some((x) => x.span.status.code === 2 && x.span.status.message), 'an error with a message');
		assert.ok(all.some((x) => x.span.droppedAttributesCount > 0), 'dropped attributes');
		assert.ok(all.some((x) => x.span.droppedEventsCount > 0), 'dropped events');
		assert.ok(all.some((x) => x.span.droppedLinksCount > 0), 'dropped links');
		assert.ok(all.some((x) => x.span.events.some((e) => e.droppedAttributesCount > 0)), 'event dropped attributes');
		assert.ok(all.some((x) => x.span.links.some((l) => l.droppedAttributesCount > 0)), 'link dropped attributes');
		assert.ok(all.some((x) => x.span.links.some((l) => l.traceState)), 'link trace state');
		assert.ok(all.some((x) => x.span.traceState), 'span trace state');
		assert.ok(all.every((x) => x.resource.schemaUrl), 'resource schema URL');
		assert.ok(all.some((x) => x.scope.version && x.scope.schemaUrl), 'scope version and schema URL');

		await assertTrace(srv, traceId, sent, `SDK ${enc}`);
	});
}

test('a trace id asked for in upper case finds the same trace', { timeout: 20000 }, async () => {
	proxy.records.length = 0;
	const exporter = new ProtoExporter({ url: `${proxy.url}/v1/traces` });
	const { traceId, flushError } = await richTrace(exporter, { service: 'sdk-idcase' });
	const sent = onlyTrace(captured(proxy.records, { expectEncoding: 'proto' }), traceId);
	await assertTrace(srv, traceId.toUpperCase(), sent, 'upper-case id');
});
