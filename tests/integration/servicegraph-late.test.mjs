// The service graph when the two sides of a request do not arrive together
// (issue 12): spans of one request in separate OTLP requests and out of
// order (server first), across a seal (one side sealed into a block before
// the other arrives, both ways round), and pulled from a remote (a second
// obstui store holds one side, or whole traces; pushed to a file:// remote
// and pulled into the first store while it serves).  Each still makes one
// edge, and what waits for its partner is counted as unpaired until the
// partner comes.  Expectations come from the spans the OpenTelemetry SDK
// put on the wire (lib/sgmodel.mjs); the edge counts at the later end of its
// two sides, which here fall either side of a minute boundary.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, tempDir } from './lib/obstui.mjs';
import { startRecordingProxy } from './lib/proxy.mjs';
import { captured } from './lib/traces.mjs';
import { mergeMaps } from './lib/otlp.mjs';
import { takeExportErrors } from './lib/sdk.mjs';
import { cliOk, parseSyncLine, stats } from './lib/sync.mjs';
import { Services } from './lib/sgtraces.mjs';
import {
	flatSpans, serviceGraph, spanMetrics, apiGraph, diffApiGraph, promSeries, samplesOf, instantValue, edgeKey,
} from './lib/sgmodel.mjs';
import { pollGraph, serviceGraphApi, waitSealedMore, promQuery, diffVector, report } from './lib/sgcheck.mjs';

const T30 = { timeout: 30000 };
let s1;
let s2;
let p1;
let p2;
const S = {};

before(async () => {
	[s1, s2] = await Promise.all([
		startServe({ args: ['--seal-idle', '1s', '--origin', 'sg-here'] }),
		startServe({ args: ['--seal-idle', '1s', '--origin', 'sg-there'] }),
	]);
	[p1, p2] = await Promise.all([startRecordingProxy(s1.otlp), startRecordingProxy(s2.otlp)]);
	S.sv1 = new Services(p1.url);
	S.sv2 = new Services(p2.url);
});
after(async () => {
	await p1?.close();
	await p2?.close();
});

// A client/server pair of trace k around the minute boundary B: the server
// ends 100+10k ms before B, the client 100+10k ms after, so the edge's time
// (the later end) is in the minute after B.  c and s: the Services (sv)
// and provider (via) each side goes through.
function pair(B, k, { client, server, c = {}, s = {}, cFail = false, sFail = false, attrs = {} }) {
	const call = c.sv.span(client, `call ${server}`, {
		kind: 'client', start: B - 400 - 10 * k, end: B + 100 + 10 * k, error: cFail, via: c.via, attrs,
	});
	s.sv.span(server, `handle ${client}`, {
		kind: 'server', start: B - 350, end: B - 100 - 10 * k, parent: call, error: sFail, via: s.via, ok: !sFail,
	});
}

// What S1 must show once it has `maps` (span maps) and nothing else.
function expected(...maps) {
	const spans = flatSpans(mergeMaps(...maps));
	const g = serviceGraph(spans);
	// (the latency of a side no span measured: servicegraph.test.mjs)
	return { spans, g, m: spanMetrics(spans), api: apiGraph(g, { skipUnmeasured: true }) };
}
const sent = (proxy) => captured(proxy.records, { expectEncoding: 'proto' });
const requests = (g, c, s) => g.edges.get(edgeKey(c, s, ''))?.events.length ?? 0;

async function graphIs(exp, what) {
	const { got, diffs } = await pollGraph(s1, exp.api, S.start, S.end);
	assert.deepEqual(diffs, [], `${what}: ${report(diffs)}\nanswer: ${JSON.stringify(got).slice(0, 2500)}`);
}

test('split across requests and out of order: server spans first, their clients in a later request; sides held back are unpaired', T30, async () => {
	const now = Date.now();
	S.B = Math.floor((now - 3000) / 60000) * 60000;
	S.start = Math.floor(S.B / 1000) - 600;
	S.end = Math.ceil(now / 1000) + 120;
	const { sv1, sv2 } = S;
	const B = S.B;
	const here = { sv: sv1 };
	for (let k = 0; k < 4; k++) pair(B, k, { client: 'split-web', server: 'split-api', c: here, s: here, sFail: k === 1 });
	for (let k = 0; k < 5; k++) {
		const first = k < 3; // client first, then server; else server first
		pair(B, k, {
			client: 'seal-web', server: 'seal-api', c: { sv: sv1, via: first ? '' : 'later' }, s: { sv: sv1, via: first ? 'later' : '' },
			sFail: k === 2, cFail: k === 4,
		});
	}
	// a client naming its server by peer.service is a virtual edge only while the server is missing
	for (let k = 0; k < 2; k++) {
		pair(B, k, { client: 'seal-web', server: 'seal-peer', c: { sv: sv1 }, s: { sv: sv1, via: 'later' }, attrs: { 'peer.service': 'seal-peer' } });
	}
	for (let k = 0; k < 5; k++) {
		const clientHere = k < 3;
		pair(B, k, {
			client: 'pull-web', server: 'pull-api', c: { sv: clientHere ? sv1 : sv2 }, s: { sv: clientHere ? sv2 : sv1 }, sFail: k === 1,
		});
	}
	for (let k = 0; k < 2; k++) pair(B, k, { client: 'remote-web', server: 'remote-api', c: { sv: sv2 }, s: { sv: sv2 } });

	await sv1.flush('split-api');
	await sv1.flush('split-web');
	await sv1.flush('seal-web', 'seal-api', 'pull-web', 'pull-api');
	assert.deepEqual(takeExportErrors(), [], 'the SDK exporter reported errors');
	const a = expected(sent(p1));
	const firstReq = [...captured(p1.records.slice(0, 1), { expectEncoding: 'proto' }).values()];
	assert.ok(firstReq.length === 4 && firstReq.every((x) => x.span.kind === 2), 'test bug: the first request holds the four split-api server spans');
	assert.equal(requests(a.g, 'split-web', 'split-api'), 4);
	assert.equal(a.g.unpaired, 10, 'test bug: 3 + 2 seal sides and 3 + 2 pull sides wait');
	assert.equal(a.g.edges.get(edgeKey('seal-web', 'seal-peer', 'virtual_node'))?.events.length, 2, 'test bug: peer.service edges');
	assert.ok(a.spans.every((x) => x.endNs < BigInt(Date.now()) * 1000000n), 'test bug: a span ends in the future');
	S.blocksA = (await waitSealedMore(s1.store, 0)).blocks;
	await graphIs(a, 'after the first requests');
});

test('across a seal: the other side of sealed spans arrives later and pairs (both ways round); a virtual edge gives way to the real one', T30, async () => {
	assert.ok(S.blocksA, 'the first test did not get this far');
	const before = sent(p1).size;
	await S.sv1.flush('seal-api#later', 'seal-web#later', 'seal-peer#later');
	const b = expected(sent(p1));
	assert.equal(b.spans.length, before + 7);
	assert.equal(requests(b.g, 'seal-web', 'seal-api'), 5);
	assert.deepEqual([requests(b.g, 'seal-web', 'seal-peer'), b.g.edges.has(edgeKey('seal-web', 'seal-peer', 'virtual_node'))], [2, false],
		'test bug: the server side turns the virtual edge into a plain one');
	assert.equal(b.g.unpaired, 5);
	await waitSealedMore(s1.store, S.blocksA);
	await graphIs(b, 'after the other sides of the sealed spans');
});

test('pulled from a remote: one side (or a whole trace) in another store, pushed and pulled in while serving, pairs', T30, async () => {
	assert.ok(S.blocksA, 'the first test did not get this far');
	await S.sv2.flush();
	const there = sent(p2);
	assert.equal((await s2.stop()).code, 0, 'the second store stopped (sealing its head)');
	assert.equal(stats(s2.store).headSpans, 0);
	const url = `file://${tempDir('obstui-sg-remote-')}/team`;
	S.url = url;
	S.there = there;
	const p = parseSyncLine(cliOk(['push', url, '--store', s2.store]).stdout, 'push');
	assert.ok(p.n >= 1 && p.failed === 0, JSON.stringify(p));
	const q = parseSyncLine(cliOk(['pull', url, '--store', s1.store]).stdout, 'pull');
	assert.deepEqual([q.n, q.failed], [p.n, 0], JSON.stringify(q));

	const c = expected(sent(p1), there);
	assert.deepEqual([requests(c.g, 'pull-web', 'pull-api'), requests(c.g, 'remote-web', 'remote-api'), c.g.unpaired], [5, 2, 0]);
	S.c = c;
	await graphIs(c, 'after the pull');
});

test('Prometheus after all that: exact counts and sums, and every edge counted in the minute of its later side', T30, async () => {
	assert.ok(S.c, 'the pull test did not get this far');
	const T = Date.now() - 500;
	const series = promSeries(S.c.g, S.c.m);
	const diffs = [];
	for (const name of ['traces_service_graph_request_total', 'traces_service_graph_request_failed_total',
		'traces_service_graph_request_server_seconds_count', 'traces_service_graph_request_server_seconds_sum',
		'traces_service_graph_request_client_seconds_sum', 'traces_spanmetrics_calls_total', 'traces_spanmetrics_latency_sum']) {
		const exp = new Map(series.filter((s) => s.labels.__name__ === name).map((s) => [s, { labels: s.labels, value: instantValue(s, T) }]));
		diffs.push(...diffVector(`${name} @${T}`, await promQuery(s1, name, T), exp,
			{ rel: 1e-9, allowExtra: (l, v) => name.includes('failed') && v === 0 }));
	}
	// the samples on minute boundaries: 0 at B, the whole count after it
	const tot = series.filter((s) => s.labels.__name__ === 'traces_service_graph_request_total');
	const raw = await promQuery(s1, 'traces_service_graph_request_total[1h]', T);
	const onB = (xs) => xs.filter(([t]) => t % 60000 === 0);
	for (const s of tot) {
		const got = raw.result.find((r) => r.metric.client === s.labels.client && r.metric.server === s.labels.server);
		const want = onB(samplesOf(s, T));
		const have = got ? onB(got.values.map(([t, v]) => [Math.round(Number(t) * 1000), Number(v)])) : [];
		if (JSON.stringify(have) !== JSON.stringify(want))
			diffs.push(`${s.labels.client} -> ${s.labels.server}: samples on minute boundaries ${JSON.stringify(have)}, want ${JSON.stringify(want)} (B = ${S.B})`);
	}
	assert.deepEqual(diffs, [], report(diffs));
});

test('an edge belongs to the minute of its later side: none in the minute before B, all in the minute from B', T30, async () => {
	assert.ok(S.c, 'the pull test did not get this far');
	const slice = (lo, hi) => {
		const edges = new Map();
		for (const [k, e] of S.c.g.edges) {
			const events = e.events.filter((x) => x.tMs >= lo && x.tMs < hi);
			if (events.length) edges.set(k, { ...e, events });
		}
		const exp = apiGraph({ edges }, { skipUnmeasured: true });
		delete exp.unpaired; // which window an unpaired side belongs to is not specified
		return exp;
	};
	const b = S.B / 1000;
	const diffs = [];
	const before = slice(S.B - 60000, S.B);
	assert.equal(before.edges.size, 0, 'test bug: every edge here ends after B');
	diffs.push(...diffApiGraph(await serviceGraphApi(s1, b - 60, b - 1), before).map((x) => `[B-60, B-1]: ${x}`));
	const from = slice(S.B, S.B + 60000);
	assert.equal(from.edges.size, S.c.g.edges.size, 'test bug: every edge here ends in the minute from B');
	diffs.push(...diffApiGraph(await serviceGraphApi(s1, b, b + 59), from).map((x) => `[B, B+59]: ${x}`));
	assert.deepEqual(diffs, [], report(diffs));
});

test('a restart on the same store: the same graph, nothing counted twice', T30, async () => {
	assert.ok(S.c, 'the pull test did not get this far');
	const store = s1.store;
	assert.equal((await s1.stop()).code, 0);
	s1 = await startServe({ store, args: ['--seal-idle', '1s', '--origin', 'sg-here'] });
	await graphIs(S.c, 'after a restart');
	// and it stays so once the sealer has looked at the blocks again
	await new Promise((r) => setTimeout(r, 2500));
	await graphIs(S.c, 'a few seconds after the restart');
});

test('pulled into a store nobody serves: obstui query and then serve see the pulled graph', T30, async () => {
	assert.ok(S.url, 'the pull test did not get this far');
	const store = tempDir('obstui-sg-pulled-');
	const q = parseSyncLine(cliOk(['pull', S.url, '--store', store]).stdout, 'pull');
	assert.ok(q.n >= 1 && q.failed === 0, JSON.stringify(q));
	const d = expected(S.there);
	assert.deepEqual([requests(d.g, 'remote-web', 'remote-api'), d.g.unpaired], [2, 5], 'test bug: the other store alone');
	const T = Date.now() - 500;
	const args = ['query', 'sum by (client, server) (traces_service_graph_request_total)', '--time', (T / 1000).toFixed(3), '--json', '--store', store];
	const r = cliOk(args);
	const data = JSON.parse(r.stdout).data;
	const want = new Map([...d.g.edges.values()].map((e) => [e, { labels: { client: e.client, server: e.server }, value: e.events.length }]));
	const diffs = diffVector(`obstui query ${args[1]}`, data, want, { rel: 0 });
	assert.deepEqual(diffs, [], report(diffs));
	const srv = await startServe({ store });
	try {
		const { got, diffs: g } = await pollGraph(srv, d.api, S.start, S.end);
		assert.deepEqual(g, [], `serve on the pulled store: ${report(g)}\nanswer: ${JSON.stringify(got).slice(0, 1500)}`);
	} finally {
		await srv.stop();
	}
});

test('the servers exit cleanly after all that (status 0, no sanitizer report)', T30, async () => {
	for (const x of [s1, s2]) {
		const st = await x.stop();
		assert.deepEqual([st.code, st.signal], [0, null], `obstui serve: ${x.stderr().slice(-2000)}`);
		assert.doesNotMatch(x.stderr(), /runtime error|AddressSanitizer|LeakSanitizer|ThreadSanitizer/, x.stderr().slice(-3000));
	}
});
