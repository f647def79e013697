// Fidelity for what the SDK cannot express: hand-built OTLP/JSON and OTLP
// protobuf requests with bytes values, nested arrays and kvlists, empty
// arrays and strings, U+0000, a 64 KiB string, int64 extremes, 1e300 and 0.1,
// flags on spans and links, dropped counts, scope attributes and schema URLs
// come back exactly from /api/v2/traces, /api/traces and its protobuf form.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, request } from './lib/obstui.mjs';
import {
	mustSend, sendTraces, assertTrace, assertSameSpans, fetchV2, fetchProto, traceId, spanId, simpleRequest,
} from './lib/traces.mjs';
import { edgeRequest, INT64_MIN, INT64_MAX } from './lib/fixtures.mjs';
import { spanMap, encodeTraces, decodeTraces } from './lib/otlp.mjs';

let srv;
before(async () => { srv = await startServe(); });

for (const encoding of ['json', 'proto']) {
	test(`hand-built OTLP (${encoding}) with edge values round-trips exactly`, { timeout: 30000 }, async () => {
		const { tid, req } = edgeRequest({ serviceA: `edge-a-${encoding}`, serviceB: `edge-b-${encoding}` });
		// what we compare against is what was encoded, read back by an independent decoder
		const sentMap = encoding === 'proto' ? spanMap(decodeTraces(encodeTraces(req))) : spanMap(req);
		assert.equal(sentMap.size, 8);
		await mustSend(srv, req, { encoding });
		await assertTrace(srv, tid, sentMap, `edge ${encoding}`);
	});
}

test('int64 extremes, 1e300 and 0.1 are written as the OTLP/JSON mapping says', { timeout: 20000 }, async () => {
	const { tid, req } = edgeRequest();
	await mustSend(srv, req, { encoding: 'proto' });
	const r = await request(`${srv.api}/api/v2/traces/${tid}`);
	assert.equal(r.status, 200);
	const text = r.body.toString('utf8');
	// int64 as decimal strings, never as (rounded) JSON numbers
	assert.ok(text.includes(`"intValue":"${INT64_MIN}"`) || text.includes(`"intValue": "${INT64_MIN}"`),
		`int64 minimum must appear as "intValue":"${INT64_MIN}"`);
	assert.ok(text.includes(`"intValue":"${INT64_MAX}"`) || text.includes(`"intValue": "${INT64_MAX}"`),
		`int64 maximum must appear as "intValue":"${INT64_MAX}"`);
	assert.ok(/"intValue":\s*"9007199254740993"/.test(text), '2^53+1 must not be rounded');
	const j = JSON.parse(text);
	const attrs = j.trace.resourceSpans.flatMap((rs) => rs.scopeSpans.flatMap((ss) => ss.spans))
		.find((s) => s.name === 'root edge').attributes;
	const dv = (k) => attrs.find((a) => a.key === k).value.doubleValue;
	assert.equal(dv('double.1e300'), 1e300);
	assert.equal(dv('double.0.1'), 0.1);
	assert.equal(dv('double.denorm'), 5e-324);
	assert.equal(dv('double.third'), 1 / 3);
	assert.equal(attrs.find((a) => a.key === 'str.64k').value.stringValue.length, 65536);
});

// U+0000 is a valid character in OTLP strings (protobuf strings are UTF-8,
// and JSON escapes it as \u0000); DESIGN §2 requires it to round-trip.
for (const encoding of ['json', 'proto']) {
	test(`U+0000 inside strings round-trips (${encoding})`, { timeout: 20000 }, async () => {
		const { tid, req } = simpleRequest({
			service: `nul\u0000service-${encoding}`,
			names: ['span\u0000name'],
			attrs: [
				{ key: 'str.nul', value: { stringValue: 'before\u0000after\u0000' } },
				{ key: 'key\u0000with nul', value: { stringValue: 'v' } },
				{ key: 'only.nul', value: { stringValue: '\u0000' } },
				{ key: 'nested', value: { kvlistValue: { values: [{ key: 'k', value: { arrayValue: { values: [{ stringValue: 'a\u0000b' }] } } }] } } },
			],
		});
		const span = req.resourceSpans[0].scopeSpans[0].spans[0];
		span.status = { code: 2, message: 'failed:\u0000after nul' };
		span.events = [{ timeUnixNano: span.startTimeUnixNano, name: 'ev\u0000', attributes: [{ key: 'e', value: { stringValue: '\u0000\u0000' } }] }];
		span.traceState = 'k=v';
		req.resourceSpans[0].scopeSpans[0].scope = { name: 'scope\u0000name', version: 'v\u00001' };
		const r = await sendTraces(srv, req, { encoding });
		assert.equal(r.status, 200, `POST /v1/traces (${encoding}) with U+0000 in strings answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
		await assertTrace(srv, tid, spanMap(req), `U+0000 (${encoding})`);
		const text = (await request(`${srv.api}/api/v2/traces/${tid}`)).body;
		assert.ok(!text.includes(0), 'raw NUL byte in the JSON answer: it must be written \\u0000');
		assert.ok(/before\\u0000after\\u0000/.test(text.toString()), 'U+0000 must come back as \\u0000');
	});
}

test('a request holding several traces is split into them, and spans of one trace sent apart are merged', { timeout: 20000 }, async () => {
	const a = simpleRequest({ service: 'multi', names: ['a0', 'a1'] });
	const b = simpleRequest({ service: 'multi', names: ['b0'] });
	const both = { resourceSpans: [{ ...a.req.resourceSpans[0], scopeSpans: [{ scope: { name: 'it' }, spans: [...a.req.resourceSpans[0].scopeSpans[0].spans, ...b.req.resourceSpans[0].scopeSpans[0].spans] }] }] };
	await mustSend(srv, both, { encoding: 'json' });
	await assertTrace(srv, a.tid, spanMap(both), 'trace a of a mixed request');
	await assertTrace(srv, b.tid, spanMap(both), 'trace b of a mixed request');

	// more spans of trace a, in a later request, from another service
	const more = simpleRequest({ service: 'multi-later', tid: a.tid, names: ['a2', 'a3'] });
	await mustSend(srv, more.req, { encoding: 'proto' });
	const want = new Map([...spanMap(both), ...spanMap(more.req)]);
	await assertTrace(srv, a.tid, want, 'trace a after a second request');
});

test('a trace id with leading zeros is found by its short form, as Tempo does', { timeout: 20000 }, async () => {
	const tid = `0000000000000000${spanId()}`;
	const { req } = simpleRequest({ service: 'short-id', tid, names: ['short'] });
	await mustSend(srv, req, { encoding: 'proto' });
	await assertTrace(srv, tid, spanMap(req), 'full id');
	const short = tid.replace(/^0+/, '');
	const got = await fetchV2(srv, short);
	assert.equal(got.size, 1, `GET /api/v2/traces/${short} (leading zeros dropped) must find ${tid}`);
});

test('unknown trace ids are 404, malformed ones 400', { timeout: 20000 }, async () => {
	for (const path of [`/api/traces/${traceId()}`, `/api/v2/traces/${traceId()}`]) {
		const r = await request(srv.api + path);
		assert.equal(r.status, 404, `GET ${path} (unknown id) answered ${r.status}`);
	}
	const r = await request(`${srv.api}/api/traces/${traceId()}`, { headers: { accept: 'application/protobuf' } });
	assert.equal(r.status, 404, `GET /api/traces/<unknown> with Accept: application/protobuf answered ${r.status}`);
	for (const bad of ['not-hex-at-all', 'zz'.repeat(16), '1'.repeat(33)]) {
		const q = await request(`${srv.api}/api/v2/traces/${bad}`);
		assert.equal(q.status, 400, `GET /api/v2/traces/${bad} answered ${q.status}: ${q.body.toString().slice(0, 200)}`);
	}
});

test('the query API basics: /ready, /api/echo, /metrics', { timeout: 20000 }, async () => {
	const ready = await request(`${srv.api}/ready`);
	assert.equal(ready.status, 200);
	assert.equal(ready.body.toString().trim(), 'ready');
	const echo = await request(`${srv.api}/api/echo`);
	assert.equal(echo.status, 200);
	assert.equal(echo.body.toString().trim(), 'echo');
	const m = await request(`${srv.api}/metrics`);
	assert.equal(m.status, 200);
	assert.match(String(m.headers['content-type']), /^text\/plain/);
	const text = m.body.toString();
	assert.match(text, /^# (HELP|TYPE) \S+/m, 'Prometheus text format');
	for (const line of text.split('\n')) {
		if (!line || line.startsWith('#')) continue;
		assert.match(line, /^[a-zA-Z_:][a-zA-Z0-9_:]*(\{.*\})? (-?[0-9.eE+-]+|NaN|[+-]Inf)( -?\d+)?$/, `bad metrics line: ${line}`);
	}
});

// Big but within the limits (16 MiB on the wire, 64 MiB decompressed).
function bigTrace(spans, attrBytes, service) {
	const tid = traceId();
	const t0 = BigInt(Date.now() - 120000) * 1000000n;
	const list = [];
	for (let i = 0; i < spans; i++) {
		list.push({
			traceId: tid, spanId: spanId(), parentSpanId: i ? list[0].spanId : '', name: `op-${i % 50}`, kind: 1,
			startTimeUnixNano: (t0 + BigInt(i) * 1000n).toString(), endTimeUnixNano: (t0 + BigInt(i) * 1000n + 500000n).toString(),
			attributes: [{ key: 'payload', value: { stringValue: `${i}:`.padEnd(attrBytes, 'abcdefghijklmnopqrstuvwxyz') } }],
		});
	}
	return {
		tid,
		req: { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] }, scopeSpans: [{ scope: { name: 'big' }, spans: list }] }] },
	};
}

test('a 12 MiB protobuf request and a 40 MiB (decompressed) JSON request are taken whole', { timeout: 60000 }, async () => {
	const pb = bigTrace(3000, 4000, 'big-proto');
	const pbBody = encodeTraces(pb.req);
	assert.ok(pbBody.length > 11 << 20 && pbBody.length < 15 << 20, `test bug: ${pbBody.length} bytes`);
	await mustSend(srv, pb.req, { encoding: 'proto' });
	assertSameSpans(spanMap(pb.req), await fetchV2(srv, pb.tid), '12 MiB protobuf trace');

	const js = bigTrace(2500, 16000, 'big-json');
	await mustSend(srv, js.req, { encoding: 'json', gzip: true });
	assertSameSpans(spanMap(js.req), await fetchProto(srv, js.tid), '40 MiB JSON trace');
});
