// overload.test.mjs - when the store cannot keep up, the receiver answers
// 503 with Retry-After instead of buffering without bound, nothing that was
// acknowledged is lost, and the server keeps serving.
//
// The queue is made tiny (--queue-bytes 1: one request waits at a time) and
// requests may not wait for room (--queue-wait 0s), so concurrent senders
// must see some 503s.  Bounded: 96 requests, 8 rounds at most.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, post } from './lib/obstui.mjs';
import { simpleRequest, JSON_CT, assertTrace, mustSend } from './lib/traces.mjs';
import { spanMap } from './lib/otlp.mjs';

test('a full queue answers 503 with Retry-After and loses nothing acknowledged', async () => {
	const srv = await startServe({ args: ['--queue-bytes', '1', '--queue-wait', '0s'] });
	const acked = [];
	let busy = 0;
	for (let round = 0; round < 8 && busy === 0; round++) {
		const reqs = Array.from({ length: 12 }, () =>
			simpleRequest({ names: Array.from({ length: 50 }, (_, i) => `op${i}`) }));
		const answers = await Promise.all(reqs.map((r) =>
			post(srv.otlp + '/v1/traces', JSON.stringify(r.req), JSON_CT)));
		answers.forEach((a, i) => {
			if (a.status === 200) {
				acked.push(reqs[i]);
			} else {
				assert.equal(a.status, 503, `unexpected ${a.status}: ${a.body}`);
				assert.equal(a.headers['retry-after'], '1');
				const st = JSON.parse(a.body.toString());
				assert.equal(st.code, 14, 'google.rpc.Status UNAVAILABLE');
				assert.match(st.message, /not keeping up/);
				busy++;
			}
		});
	}
	assert.ok(busy > 0, 'no 503 in 96 concurrent requests against a one-request queue');
	assert.ok(acked.length > 0, 'nothing was accepted at all');
	for (const r of acked)
		await assertTrace(srv, r.tid, spanMap(r.req), 'acknowledged under overload');
	// and once the burst is over, a request goes through
	const after = simpleRequest({});
	await mustSend(srv, after.req);
	await assertTrace(srv, after.tid, spanMap(after.req), 'after the burst');
});
