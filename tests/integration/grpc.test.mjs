// Fidelity over OTLP/gRPC with the real exporter: what
// @opentelemetry/exporter-trace-otlp-grpc sends (captured on the wire by a
// recording HTTP/2 proxy), uncompressed and gzip, comes back unchanged from
// the query API in its three forms, and every answer is what the gRPC and
// OTLP specifications say.  Then the same exporter over TLS (a self-signed
// certificate made by openssl): the trace is stored, ALPN offers h2 only,
// and a cleartext client on the TLS port fails quickly while the server
// keeps serving.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import tls from 'node:tls';
import { OTLPTraceExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { CompressionAlgorithm } from '@opentelemetry/otlp-exporter-base';
import grpc from '@grpc/grpc-js';
import { tempDir } from './lib/obstui.mjs';
import { richTrace, takeExportErrors } from './lib/sdk.mjs';
import { assertTrace, fetchV2 } from './lib/traces.mjs';
import { spanMap, mergeMaps, onlyTrace, decodeTraces, ExportTraceServiceRequest, ExportTraceServiceResponse } from './lib/otlp.mjs';
import {
	startGrpc, startRecordingGrpcProxy, makeCert, connect, unary, closeSession, stillServing, within,
	describe, EXPORT, GRPC,
} from './lib/grpc.mjs';

let srv;
let proxy;
before(async () => {
	srv = await startGrpc();
	proxy = await startRecordingGrpcProxy(srv.grpc);
});
after(async () => { await proxy?.close(); });

// The span map of everything the exporter sent, after checking each call and
// its answer against the contract.
function capturedGrpc(records, { gzip }) {
	assert.ok(records.length > 0, 'the exporter sent nothing');
	const maps = [];
	for (const rec of records) {
		const what = `exporter call ${rec.path} (${rec.headers['grpc-encoding'] ?? 'identity'})`;
		assert.equal(rec.path, EXPORT, what);
		assert.equal(rec.headers[':method'], 'POST', what);
		assert.match(String(rec.headers['content-type']), /^application\/grpc/, `${what}: request content-type`);
		assert.equal(rec.headers.te, 'trailers', `${what}: te`);
		assert.equal(rec.messages.length, 1, `${what}: the exporter sends one message per unary call`);
		const m = rec.messages[0];
		if (gzip) {
			assert.equal(rec.headers['grpc-encoding'], 'gzip', `${what}: compression gzip must send grpc-encoding gzip`);
			assert.equal(m.flag, 1, `${what}: compression gzip must set the compressed flag`);
		} else {
			assert.ok([undefined, 'identity'].includes(rec.headers['grpc-encoding']), `${what}: no compression asked for`);
			assert.equal(m.flag, 0, `${what}: no compression asked for, compressed flag set`);
		}
		assert.equal(m.error, undefined, `${what}: the recorded message does not gunzip`);
		ExportTraceServiceRequest.decode(m.data); // throws if the exporter sent something else

		// obstui's answer
		const ans = `${what}: obstui answered :status ${rec.status}, headers ${JSON.stringify(rec.responseHeaders)}, trailers ${JSON.stringify(rec.trailers)}, ${rec.response?.length} bytes${rec.error ? `, error ${rec.error}` : ''}`;
		assert.equal(rec.status, 200, ans);
		assert.match(String(rec.responseHeaders['content-type']), /^application\/grpc/, `${ans}: response content-type`);
		assert.ok(rec.trailers, `${ans}: an OK answer ends with trailers`);
		assert.equal(rec.trailers['grpc-status'], '0', ans);
		assert.equal(rec.responseMessages.length, 1, `${ans}: want one ExportTraceServiceResponse message`);
		const rm = rec.responseMessages[0];
		if (gzip) {
			assert.equal(rec.responseHeaders['grpc-encoding'], 'gzip', `${ans}: a gzip request gets a gzip answer (grpc-encoding)`);
			assert.equal(rm.flag, 1, `${ans}: a gzip request gets a gzip answer (compressed flag)`);
			assert.equal(rm.error, undefined, `${ans}: the response message does not gunzip: ${rm.error}`);
		} else {
			assert.equal(rm.flag, 0, `${ans}: an identity request gets an identity answer`);
		}
		ExportTraceServiceResponse.decode(rm.data);
		maps.push(spanMap(decodeTraces(m.data)));
	}
	return mergeMaps(...maps);
}

for (const [label, compression] of [['no compression (the default)', undefined], ['compression gzip', CompressionAlgorithm.GZIP]]) {
	test(`exporter-trace-otlp-grpc, ${label}: a rich trace round-trips through the query API`, { timeout: 40000 }, async () => {
		proxy.records.length = 0;
		const exporter = new OTLPTraceExporter({ url: proxy.url, timeoutMillis: 10000, ...(compression ? { compression } : {}) });
		const { traceId, spanCount, flushError } = await richTrace(exporter, { service: `grpc-${compression ?? 'none'}` });
		const errors = takeExportErrors();
		assert.deepEqual(errors, [], `the exporter reported errors; obstui stderr: ${srv.stderr().slice(-1500)}`);
		assert.equal(flushError, null, 'forceFlush failed');
		const sent = onlyTrace(capturedGrpc(proxy.records, { gzip: !!compression }), traceId);
		assert.equal(sent.size, spanCount, 'test bug: the SDK did not export every span');

		// sanity: the capture holds what this test is about
		const all = [...sent.values()];
		assert.deepEqual(new Set(all.map((x) => x.span.kind)), new Set([1, 2, 3, 4, 5]), 'every span kind');
		assert.ok(all.some((x) => x.span.status.code === 2 && x.span.status.message), 'an error with a message');
		assert.ok(all.some((x) => x.span.droppedAttributesCount > 0), 'dropped attributes');
		assert.ok(all.some((x) => x.span.droppedEventsCount > 0), 'dropped events');
		assert.ok(all.some((x) => x.span.droppedLinksCount > 0), 'dropped links');
		assert.ok(all.some((x) => x.span.links.some((l) => l.traceState)), 'link trace state');
		assert.ok(all.some((x) => x.span.traceState), 'span trace state');
		assert.ok(all.every((x) => x.resource.schemaUrl), 'resource schema URL');
		assert.ok(all.some((x) => x.scope.version && x.scope.schemaUrl), 'scope version and schema URL');

		// acknowledged means durable: readable at once, no waiting
		await assertTrace(srv, traceId, sent, `gRPC ${compression ?? 'identity'}`);
	});
}

test('exporter-trace-otlp-grpc straight to obstui, identity then gzip then identity: every trace is stored', { timeout: 40000 }, async () => {
	const ids = [];
	for (const compression of [undefined, CompressionAlgorithm.GZIP, undefined]) {
		const exporter = new OTLPTraceExporter({ url: `http://${srv.grpc}`, timeoutMillis: 10000, ...(compression ? { compression } : {}) });
		const { traceId, spanCount, flushError } = await richTrace(exporter, { service: 'grpc-direct' });
		assert.equal(flushError, null, `forceFlush failed: ${flushError?.message}; obstui stderr: ${srv.stderr().slice(-1500)}`);
		assert.deepEqual(takeExportErrors(), [], 'the exporter reported errors');
		ids.push([traceId, spanCount]);
	}
	for (const [id, n] of ids) {
		const got = await fetchV2(srv, id);
		assert.equal(got.size, n, `trace ${id}: ${got.size} spans stored, ${n} exported`);
		assert.ok([...got.values()].every((x) => x.resource.attributes.some((a) => a.key === 'service.name' && a.value.stringValue === 'grpc-direct')),
			`trace ${id}: service.name lost`);
	}
});

test('OTLP/gRPC over TLS: the exporter with a CA stores its trace; ALPN is h2 only; h2c on the TLS port fails cleanly', { timeout: 60000 }, async (t) => {
	const dir = tempDir('obstui-tls-');
	const { cert, key, certPem } = makeCert(dir);
	const ts = await startGrpc({ args: ['--tls-cert', cert, '--tls-key', key], ca: certPem });
	const port = ts.grpc.split(':')[1];

	// ALPN: h2 is chosen; a client offering only http/1.1 does not get it
	const alpn = async (protocols) => {
		const sock = tls.connect({ host: '127.0.0.1', port: Number(port), ca: certPem, servername: 'localhost', ALPNProtocols: protocols });
		const r = await within(new Promise((res) => {
			sock.once('secureConnect', () => res({ ok: true, protocol: sock.alpnProtocol }));
			sock.once('error', (e) => res({ ok: false, error: e.message }));
		}), 5000, { ok: false, error: 'TLS handshake timed out' });
		sock.destroy();
		return r;
	};
	const h2 = await alpn(['h2', 'http/1.1']);
	assert.deepEqual(h2, { ok: true, protocol: 'h2' }, `TLS with ALPN h2,http/1.1: ${JSON.stringify(h2)}`);
	const h1 = await alpn(['http/1.1']);
	t.diagnostic(`TLS offering only http/1.1: ${JSON.stringify(h1)}`);
	assert.ok(!h1.ok || h1.protocol !== 'http/1.1', `the gRPC port must not speak http/1.1: ${JSON.stringify(h1)}`);

	const exportOverTls = async (service) => {
		const exporter = new OTLPTraceExporter({
			url: `https://127.0.0.1:${port}`, timeoutMillis: 10000, credentials: grpc.credentials.createSsl(certPem),
		});
		const { traceId, spanCount, flushError } = await richTrace(exporter, { service });
		assert.equal(flushError, null, `forceFlush over TLS failed: ${flushError?.message}; obstui stderr: ${ts.stderr().slice(-1500)}`);
		assert.deepEqual(takeExportErrors(), [], 'the exporter reported errors over TLS');
		const got = await fetchV2(ts, traceId);
		assert.equal(got.size, spanCount, `TLS trace ${traceId}: ${got.size} spans stored, ${spanCount} exported`);
	};
	await exportOverTls('grpc-tls');

	// a raw HTTP/2 client over TLS gets the same answers
	const s = connect(`127.0.0.1:${port}`, { ca: certPem });
	const r = await unary(s, '/no.such.Service/Export', Buffer.alloc(0));
	await closeSession(s);
	assert.equal(r.grpcStatus, GRPC.UNIMPLEMENTED, `unknown service over TLS: ${describe(r)}`);

	// cleartext h2c on the TLS port: an error soon, not an answer and not a hang
	const t0 = Date.now();
	const c = connect(ts.grpc);
	const cr = await unary(c, EXPORT, Buffer.alloc(0), { timeout: 8000 });
	const closed = await within(c.closedAt, 8000);
	c.destroy();
	t.diagnostic(`h2c on the TLS port: ${describe(cr)}; session errors: ${c.errors.map((e) => e.message).join('; ')}`);
	assert.equal(cr.grpcStatus, undefined, `h2c on the TLS port must not be answered: ${describe(cr)}`);
	assert.ok(!cr.timedOut, `h2c on the TLS port hung instead of failing: ${describe(cr)}`);
	assert.ok(closed && closed - t0 < 8000, 'the server did not close the cleartext connection on its TLS port');

	assert.ok(ts.alive(), `obstui died after a cleartext client on its TLS port: ${ts.stderr().slice(-2000)}`);
	await exportOverTls('grpc-tls-after-h2c');
	await stillServing(ts, { ca: certPem, servername: 'localhost', what: 'raw TLS export after the h2c client' });
});
