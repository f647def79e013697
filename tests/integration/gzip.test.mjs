// Gzip-compressed requests (Content-Encoding: gzip), protobuf and JSON, from
// the SDK exporters and hand-built, round-trip like plain ones.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { OTLPTraceExporter as JsonExporter } from '@opentelemetry/exporter-trace-otlp-http';
import { startServe } from './lib/obstui.mjs';
import { startRecordingProxy } from './lib/proxy.mjs';
import { richTrace, takeExportErrors } from './lib/sdk.mjs';
import { mustSend, assertTrace, captured } from './lib/traces.mjs';
import { edgeRequest } from './lib/fixtures.mjs';
import { spanMap, onlyTrace } from './lib/otlp.mjs';

let srv;
let proxy;
before(async () => {
	srv = await startServe();
	proxy = await startRecordingProxy(srv.otlp);
});
after(async () => { await proxy?.close(); });

for (const [label, Exporter, enc] of [['proto', ProtoExporter, 'proto'], ['json', JsonExporter, 'json']]) {
	test(`SDK ${label} exporter with compression: gzip round-trips`, { timeout: 30000 }, async () => {
		proxy.records.length = 0;
		const exporter = new Exporter({ url: `${proxy.url}/v1/traces`, compression: 'gzip' });
		const { traceId, flushError } = await richTrace(exporter, { service: `sdk-gzip-${enc}` });
		const errors = takeExportErrors();
		assert.ok(proxy.records.every((r) => r.headers['content-encoding'] === 'gzip'), 'test bug: exporter did not gzip');
		const sent = onlyTrace(captured(proxy.records, { expectEncoding: enc }), traceId);
		assert.deepEqual(errors, [], 'the exporter reported errors');
		assert.equal(flushError, null, 'forceFlush failed');
		await assertTrace(srv, traceId, sent, `SDK ${enc}+gzip`);
	});
}

for (const encoding of ['json', 'proto']) {
	test(`hand-built ${encoding} request, gzipped, round-trips exactly`, { timeout: 20000 }, async () => {
		const { tid, req } = edgeRequest({ serviceA: `gz-${encoding}` });
		await mustSend(srv, req, { encoding, gzip: true });
		await assertTrace(srv, tid, spanMap(req), `gzip ${encoding}`);
	});
}
