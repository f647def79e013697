// Metrics ingest over the real binary: Prometheus remote write on both
// ports, bad input of every kind the issue lists (each gets a clear error,
// the server keeps serving, memory stays bounded, earlier samples intact),
// OTLP metrics over HTTP (protobuf is covered by the SDK test; here JSON and
// a bucket mismatch), and durability: acknowledged samples survive kill -9.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, post, tempDir, cli } from './lib/obstui.mjs';
import { promApi } from './lib/prom.mjs';
import { sendWrite, encodeWriteRequest, snappyEncode, RW_HEADERS, STALE_NAN } from './lib/promrw.mjs';

const T0 = Date.now() - 10 * 60 * 1000;   // ten minutes ago, inside the head's window

let srv;
before(async () => { srv = await startServe({ args: ['--zipkin', 'off'] }); });
after(async () => { await srv?.stop(); });

// The instant value of a selector at time t (ms), as obstui's API answers it.
async function valueAt(api, sel, t) {
	const r = await promApi(api, '/api/v1/query', { query: sel, time: t / 1000 });
	assert.equal(r.status, 200, r.text);
	assert.equal(r.json.status, 'success', r.text);
	return r.json.data.result;
}

const good = (name, v, t = T0, extra = {}) => ({ labels: { __name__: name, job: 'it', ...extra }, samples: [[t, v]] });

test('remote write on the OTLP/HTTP port and on the API port: 204, then queryable', async () => {
	let r = await sendWrite(`${srv.otlp}/api/v1/write`, { series: [good('rw_http_port', 1.5)] });
	assert.equal(r.status, 204, r.body.toString());
	r = await sendWrite(`${srv.api}/api/v1/write`, { series: [good('rw_api_port', 2.5)] });
	assert.equal(r.status, 204, r.body.toString());
	const a = await valueAt(srv.api, 'rw_http_port', T0 + 1000);
	assert.equal(a.length, 1);
	assert.deepEqual(a[0].metric, { __name__: 'rw_http_port', job: 'it' });
	assert.equal(a[0].value[1], '1.5');
	const b = await valueAt(srv.api, 'rw_api_port', T0 + 1000);
	assert.equal(b[0].value[1], '2.5');
});

test('NaN, ±Inf and stale markers are stored as sent', async () => {
	const series = [
		{ labels: { __name__: 'rw_special', k: 'nan' }, samples: [[T0, NaN]] },
		{ labels: { __name__: 'rw_special', k: 'inf' }, samples: [[T0, Infinity]] },
		{ labels: { __name__: 'rw_special', k: 'minf' }, samples: [[T0, -Infinity]] },
		{ labels: { __name__: 'rw_special', k: 'stale' }, samples: [[T0, 1], [T0 + 15000, STALE_NAN]] },
	];
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series });
	assert.equal(r.status, 204, r.body.toString());
	const got = await valueAt(srv.api, 'rw_special', T0 + 1000);
	const by = Object.fromEntries(got.map((s) => [s.metric.k, s.value[1]]));
	assert.deepEqual(by, { nan: 'NaN', inf: '+Inf', minf: '-Inf', stale: '1' });
	// after the stale marker the series is gone, as in Prometheus
	const later = await valueAt(srv.api, 'rw_special{k="stale"}', T0 + 20000);
	assert.equal(later.length, 0);
});

// One bad request per case: status, a message that names the problem.
const badCases = [
	['corrupt snappy', () => ({ body: Buffer.from([0x10, 0xff, 0xff, 0xff, 0x01, 0x02]), raw: true }), 400, /snappy/],
	['a snappy length bomb (claims 4 GiB)', () => ({ body: Buffer.from([0xff, 0xff, 0xff, 0xff, 0x0f, 0x00]), raw: true }), 413, /./],
	['another content type', () => ({ wr: { series: [good('x', 1)] }, headers: { 'content-type': 'application/json' } }), 415, /content.type/i],
	['another encoding', () => ({ wr: { series: [good('x', 1)] }, headers: { 'content-encoding': 'gzip' } }), 415, /encoding/i],
	['a remote write version obstui does not know', () => ({ wr: { series: [good('x', 1)] }, headers: { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v9.Request' } }), 415, /proto/],
	['truncated protobuf', () => ({ body: snappyEncode(encodeWriteRequest({ series: [good('x', 1)] }).subarray(0, 9)), raw: true }), 400, /./],
	['unsorted labels', () => ({ wr: { series: [{ labels: { __name__: 'x' }, samples: [[T0, 1]] }] }, unsorted: true }), 400, /sort|order/i],
	['an empty metric name', () => ({ wr: { series: [{ labels: { __name__: '', a: 'b' }, samples: [[T0, 1]] }] } }), 400, /name/i],
	['an over-long label value', () => ({ wr: { series: [good('x', 1, T0, { big: 'v'.repeat(70000) })] } }), 400, /long|length|value/i],
	['an invalid label name', () => ({ wr: { series: [good('x', 1, T0, { 'bad-name': 'v' })] } }), 400, /name/i],
	['an over-long label name', () => ({ wr: { series: [good('x', 1, T0, { ['n'.repeat(5000)]: 'v' })] } }), 400, /long|length|name/i],
	['a label given twice', () => ({ dup: true }), 400, /repeat|twice|duplicate/i],
];

for (const [what, make, status, msg] of badCases) {
	test(`bad input: ${what} -> ${status}, and the server keeps serving`, async () => {
		const c = make();
		let r;
		if (c.raw) {
			r = await post(`${srv.otlp}/api/v1/write`, c.body, { ...RW_HEADERS, 'content-length': c.body.length });
		} else if (c.dup) {
			// {__name__="dup", a="1", a="2"}, written by hand (the lib keeps labels in an object)
			const label = (n, v) => { const b = Buffer.concat([Buffer.from([0x0a, n.length]), Buffer.from(n), Buffer.from([0x12, v.length]), Buffer.from(v)]); return Buffer.concat([Buffer.from([0x0a, b.length]), b]); };
			const sample = Buffer.from([0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01]);
			const ts = Buffer.concat([label('__name__', 'dup'), label('a', '1'), label('a', '2'), sample]);
			r = await sendWrite(`${srv.otlp}/api/v1/write`, Buffer.concat([Buffer.from([0x0a, ts.length]), ts]));
		} else if (c.unsorted) {
			// the lib sorts labels, so this TimeSeries is written by hand:
			// {__name__="unsorted"}, {b="2"}, {a="1"}, one sample
			const label = (n, v) => { const b = Buffer.concat([Buffer.from([0x0a, n.length]), Buffer.from(n), Buffer.from([0x12, v.length]), Buffer.from(v)]); return Buffer.concat([Buffer.from([0x0a, b.length]), b]); };
			const sample = Buffer.from([0x12, 0x0b, 0x09, 0, 0, 0, 0, 0, 0, 0xf0, 0x3f, 0x10, 0x01]);
			const ts = Buffer.concat([label('__name__', 'unsorted'), label('b', '2'), label('a', '1'), sample]);
			const wr = Buffer.concat([Buffer.from([0x0a, ts.length]), ts]);
			r = await sendWrite(`${srv.otlp}/api/v1/write`, wr);
		} else {
			r = await sendWrite(`${srv.otlp}/api/v1/write`, c.wr, { headers: c.headers ?? {} });
		}
		assert.equal(r.status, status, `${what}: ${r.status} ${r.body.toString().slice(0, 300)}`);
		assert.match(r.body.toString(), msg);
		// still serving, earlier data intact
		const ok = await sendWrite(`${srv.otlp}/api/v1/write`, { series: [good('rw_after_bad', 7, T0 + 5000)] });
		assert.equal(ok.status, 204);
		const a = await valueAt(srv.api, 'rw_http_port', T0 + 1000);
		assert.equal(a[0].value[1], '1.5');
	});
}

// A remote write 2.0 Request by hand: symbols (field 4) and timeseries
// (field 5: labels_refs 1 packed, samples 2 {value 1 double, timestamp 2}).
function v2Request(symbols, series) {
	const varint = (n) => { const b = []; n = BigInt(n); while (n >= 0x80n) { b.push(Number(n & 0x7fn) | 0x80); n >>= 7n; } b.push(Number(n)); return Buffer.from(b); };
	const field = (num, payload) => Buffer.concat([varint((num << 3) | 2), varint(payload.length), payload]);
	const parts = symbols.map((s) => field(4, Buffer.from(s)));
	for (const { refs, samples } of series) {
		const sm = samples.map(([t, v]) => {
			const d = Buffer.alloc(8); d.writeDoubleLE(v);
			return field(2, Buffer.concat([Buffer.from([0x09]), d, Buffer.from([0x10]), varint(t)]));
		});
		parts.push(field(5, Buffer.concat([field(1, Buffer.concat(refs.map(varint))), ...sm])));
	}
	return Buffer.concat(parts);
}

test('remote write 2.0: stored, and the Written headers say how much', async () => {
	const body = v2Request(['', '__name__', 'rw2_metric', 'job', 'v2'], [{ refs: [1, 2, 3, 4], samples: [[T0, 42], [T0 + 15000, 43]] }]);
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, body, {
		headers: { 'content-type': 'application/x-protobuf;proto=io.prometheus.write.v2.Request', 'x-prometheus-remote-write-version': '2.0.0' },
	});
	assert.equal(r.status, 204, r.body.toString());
	assert.equal(r.headers['x-prometheus-remote-write-samples-written'], '2');
	assert.equal(r.headers['x-prometheus-remote-write-histograms-written'], '0');
	const a = await valueAt(srv.api, 'rw2_metric', T0 + 16000);
	assert.deepEqual(a[0].metric, { __name__: 'rw2_metric', job: 'v2' });
	assert.equal(a[0].value[1], '43');
});

test('a request with one bad series keeps the good ones and names the bad one (400)', async () => {
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, {
		series: [good('rw_mixed_ok', 3), { labels: { __name__: 'rw mixed bad' }, samples: [[T0, 1]] }],
	});
	assert.equal(r.status, 400);
	assert.match(r.body.toString(), /rw mixed bad/);
	const a = await valueAt(srv.api, 'rw_mixed_ok', T0 + 1000);
	assert.equal(a.length, 1);
	assert.equal(a[0].value[1], '3');
});

test('timestamps far in the past and the future: clear 400, nothing else lost', async () => {
	const r = await sendWrite(`${srv.otlp}/api/v1/write`, {
		series: [good('rw_time_ok', 4, T0 + 30000), good('rw_too_old', 1, 1000)],
	});
	assert.equal(r.status, 400, r.body.toString());
	assert.match(r.body.toString(), /rw_too_old/);
	assert.match(r.body.toString(), /out of bounds/);
	const f = await sendWrite(`${srv.otlp}/api/v1/write`, {
		series: [good('rw_future', 1, Date.now() + 24 * 3600 * 1000), good('rw_time_ok2', 6, T0 + 30000)],
	});
	assert.equal(f.status, 400, f.body.toString());
	assert.match(f.body.toString(), /rw_future.*too far in the future/);
	assert.equal((await valueAt(srv.api, 'rw_time_ok2', T0 + 31000))[0].value[1], '6');
	assert.equal((await valueAt(srv.api, 'rw_time_ok', T0 + 31000))[0].value[1], '4');
});

test('1,000,000 series in one request: a clear answer, memory bounded, still serving', { timeout: 180000 }, async () => {
	const series = [];
	for (let i = 0; i < 1000000; i++) series.push({ labels: { __name__: 'rw_million', i: String(i) }, samples: [[T0, i]] });
	const raw = encodeWriteRequest({ series });
	const body = snappyEncode(raw);
	const r = await post(`${srv.otlp}/api/v1/write`, body, { ...RW_HEADERS, 'content-length': body.length }, { timeout: 150000 });
	// within the limits (1,000,000 series; 64 MiB decoded) it is stored; a
	// body over --max-body is a 413 that says so
	if (body.length > 16 * 1024 * 1024) {
		assert.equal(r.status, 413, r.body.toString().slice(0, 300));
		assert.match(r.body.toString(), /limit|larger/);
	} else {
		assert.equal(r.status, 204, r.body.toString().slice(0, 300));
		const c = await valueAt(srv.api, 'count(rw_million)', T0 + 1000);
		assert.equal(c[0].value[1], '1000000');
	}
	// one series over the limit is refused whole with a 413 naming the limit
	series.push({ labels: { __name__: 'rw_million', i: 'one-more' }, samples: [[T0, 1]] });
	const over = snappyEncode(encodeWriteRequest({ series }));
	const r2 = await post(`${srv.otlp}/api/v1/write`, over, { ...RW_HEADERS, 'content-length': over.length }, { timeout: 150000 });
	assert.equal(r2.status, 413, r2.body.toString().slice(0, 300));
	const rss = srv.peakRssMiB();
	if (rss !== null && !srv.sanitized()) assert.ok(rss < 2048, `peak RSS ${rss} MiB`);
	const ok = await sendWrite(`${srv.otlp}/api/v1/write`, { series: [good('rw_after_million', 9, T0 + 5000)] });
	assert.equal(ok.status, 204);
});

test('OTLP/HTTP JSON metrics, and a histogram whose buckets do not match its bounds', async () => {
	const now = BigInt(Date.now()) * 1000000n;
	const body = {
		resourceMetrics: [{
			resource: { attributes: [{ key: 'service.name', value: { stringValue: 'jsonsvc' } }] },
			scopeMetrics: [{
				scope: { name: 'it' },
				metrics: [
					{ name: 'queue.depth', unit: '{item}', gauge: { dataPoints: [{ timeUnixNano: String(now), asInt: '12' }] } },
					{
						name: 'bad.hist', unit: 's', histogram: {
							aggregationTemporality: 2,
							dataPoints: [{ timeUnixNano: String(now), count: '3', bucketCounts: ['1', '2'], explicitBounds: [1, 2, 3] }],
						},
					},
				],
			}],
		}],
	};
	const r = await post(`${srv.otlp}/v1/metrics`, JSON.stringify(body), { 'content-type': 'application/json' });
	assert.equal(r.status, 200, r.body.toString());
	const ans = JSON.parse(r.body.toString());
	assert.equal(ans.partialSuccess.rejectedDataPoints, '1');
	assert.match(ans.partialSuccess.errorMessage, /bad/);
	const v = await valueAt(srv.api, 'queue_depth{job="jsonsvc"}', Date.now() + 1000);
	assert.equal(v.length, 1);
	assert.equal(v[0].value[1], '12');
});

test('acknowledged remote writes survive kill -9', async () => {
	const store = tempDir();
	const s = await startServe({ store, args: ['--zipkin', 'off'] });
	const series = [];
	for (let i = 0; i < 500; i++) series.push({ labels: { __name__: 'rw_durable', i: String(i) }, samples: [[T0, i], [T0 + 15000, i + 1]] });
	const r = await sendWrite(`${s.otlp}/api/v1/write`, { series });
	assert.equal(r.status, 204);
	await s.kill9();
	// the CLI reads the store as it was left: the WAL replayed
	const q = cli(['query', '--store', store, '--json', '--time', String((T0 + 20000) / 1000), 'sum(rw_durable)']);
	assert.equal(q.code, 0, q.stderr);
	const ans = JSON.parse(q.stdout);
	assert.equal(ans.data.result[0].value[1], String((500 * 501) / 2));
	// and a restarted server holds them too
	const s2 = await startServe({ store, args: ['--zipkin', 'off'] });
	try {
		const c = await valueAt(s2.api, 'count(rw_durable)', T0 + 20000);
		assert.equal(c[0].value[1], '500');
	} finally { await s2.stop(); }
});
