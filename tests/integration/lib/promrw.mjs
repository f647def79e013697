// promrw.mjs - Prometheus remote write 1.0 for the tests: a hand-written
// WriteRequest protobuf encoder, a snappy block-format encoder (and decoder,
// to check the encoder), a sender with the headers the spec requires, and a
// deterministic data generator whose shapes exercise a PromQL engine.
//
// Wire format (prompb/types.proto, remote.proto of Prometheus 2.x; numbers
// checked against the upstream files):
//
//   WriteRequest  timeseries=1 (TimeSeries)  metadata=3 (MetricMetadata)
//   TimeSeries    labels=1 (Label)  samples=2 (Sample)  exemplars=3  histograms=4
//   Label         name=1 string  value=2 string
//   Sample        value=1 double  timestamp=2 int64 (ms)
//   Exemplar      labels=1 (Label)  value=2 double  timestamp=3 int64
//   MetricMetadata type=1 enum  metric_family_name=2  help=4  unit=5
//   Histogram     count_int=1 uint64 | count_float=2 double, sum=3 double,
//                 schema=4 sint32, zero_threshold=5 double,
//                 zero_count_int=6 uint64 | zero_count_float=7 double,
//                 negative_spans=8, negative_deltas=9 sint64 (packed),
//                 negative_counts=10 double (packed), positive_spans=11,
//                 positive_deltas=12, positive_counts=13, reset_hint=14 enum,
//                 timestamp=15 int64
//   BucketSpan    offset=1 sint32  length=2 uint32
//
// Snappy block format: varint uncompressed length, then elements whose tag
// byte's low two bits say literal (00), copy with 1-byte offset (01, length
// 4..11, offset < 2048), copy with 2-byte offset (10, length 1..64).  The
// encoder finds 4-byte matches with a hash table, so real copies are sent
// and a receiver's decoder is exercised beyond literals.
//
// The generator is a pure function of its options (seeded PRNG, fixed start
// time passed in), so two receivers fed its output hold the same samples.

import { request } from './obstui.mjs';

// --- protobuf writer --------------------------------------------------------------

class PbWriter {
	constructor() { this.parts = []; this.len = 0; }
	bytes(b) { this.parts.push(b); this.len += b.length; }
	varint(v) { // v: number >= 0 or BigInt (two's complement for negatives)
		let x = BigInt.asUintN(64, BigInt(v));
		const out = [];
		while (x >= 0x80n) { out.push(Number(x & 0x7fn) | 0x80); x >>= 7n; }
		out.push(Number(x));
		this.bytes(Buffer.from(out));
	}
	tag(field, wire) { this.varint((field << 3) | wire); }
	uint(field, v) { if (v) { this.tag(field, 0); this.varint(v); } }
	sint(field, v) { if (v) { this.tag(field, 0); this.varint(zigzag(v)); } }
	double(field, v, always = false) {
		if (!always && Object.is(v, 0)) return;
		const b = Buffer.alloc(8);
		if (typeof v === 'bigint') b.writeBigUInt64LE(v); else b.writeDoubleLE(v);
		this.tag(field, 1); this.bytes(b);
	}
	string(field, s) { if (s !== undefined && s !== '') this.lenDelim(field, Buffer.from(s, 'utf8')); }
	lenDelim(field, buf) { this.tag(field, 2); this.varint(buf.length); this.bytes(buf); }
	message(field, fn) { const w = new PbWriter(); fn(w); this.lenDelim(field, w.finish()); }
	packedSint(field, arr) {
		if (!arr?.length) return;
		const w = new PbWriter(); for (const v of arr) w.varint(zigzag(v)); this.lenDelim(field, w.finish());
	}
	packedDouble(field, arr) {
		if (!arr?.length) return;
		const b = Buffer.alloc(8 * arr.length); arr.forEach((v, i) => b.writeDoubleLE(v, 8 * i)); this.lenDelim(field, b);
	}
	finish() { return Buffer.concat(this.parts, this.len); }
}

function zigzag(v) {
	const x = BigInt(v);
	return BigInt.asUintN(64, (x << 1n) ^ (x >> 63n));
}

// The stale marker Prometheus writes when a series disappears.
export const STALE_NAN = 0x7ff0000000000002n;
export function isStaleNaN(v) {
	const b = Buffer.alloc(8); b.writeDoubleLE(v); return b.readBigUInt64LE() === STALE_NAN;
}

export const METRIC_TYPE = { unknown: 0, counter: 1, gauge: 2, histogram: 3, gaugehistogram: 4, summary: 5, info: 6, stateset: 7 };
export const RESET_HINT = { unknown: 0, yes: 1, no: 2, gauge: 3 };

// labels: {name: value} (sorted by name here, as the spec requires)
function writeLabels(w, field, labels) {
	for (const name of Object.keys(labels).sort())
		w.message(field, (l) => { l.string(1, name); l.string(2, labels[name]); });
}

// encodeWriteRequest({series: [{labels, samples: [[ts, v]], exemplars: [{labels, value, ts}],
//   histograms: [{ts, count, sum, schema, zeroThreshold, zeroCount, positiveSpans: [[off, len]],
//   positiveDeltas, negativeSpans, negativeDeltas, positiveCounts, negativeCounts, resetHint,
//   float: bool}]}], metadata: [{type, name, help, unit}]}) -> Buffer
// A sample value may be a number or STALE_NAN (a BigInt: the exact NaN bits).
export function encodeWriteRequest({ series = [], metadata = [] }) {
	const w = new PbWriter();
	for (const s of series) {
		w.message(1, (ts) => {
			writeLabels(ts, 1, s.labels);
			for (const [t, v] of s.samples ?? [])
				ts.message(2, (m) => { m.double(1, v); if (t) { m.tag(2, 0); m.varint(t); } });
			for (const e of s.exemplars ?? [])
				ts.message(3, (m) => { writeLabels(m, 1, e.labels); m.double(2, e.value); if (e.ts) { m.tag(3, 0); m.varint(e.ts); } });
			for (const h of s.histograms ?? []) ts.message(4, (m) => writeHistogram(m, h));
		});
	}
	for (const md of metadata) {
		w.message(3, (m) => {
			m.uint(1, METRIC_TYPE[md.type] ?? md.type ?? 0);
			m.string(2, md.name); m.string(4, md.help); m.string(5, md.unit);
		});
	}
	return w.finish();
}

function writeHistogram(m, h) {
	if (h.float) m.double(2, h.count); else m.uint(1, h.count);
	m.double(3, h.sum);
	m.sint(4, h.schema ?? 0);
	m.double(5, h.zeroThreshold ?? 0);
	if (h.float) m.double(7, h.zeroCount ?? 0); else m.uint(6, h.zeroCount ?? 0);
	for (const [off, len] of h.negativeSpans ?? []) m.message(8, (s) => { s.sint(1, off); s.uint(2, len); });
	if (!h.float) m.packedSint(9, h.negativeDeltas); else m.packedDouble(10, h.negativeCounts);
	for (const [off, len] of h.positiveSpans ?? []) m.message(11, (s) => { s.sint(1, off); s.uint(2, len); });
	if (!h.float) m.packedSint(12, h.positiveDeltas); else m.packedDouble(13, h.positiveCounts);
	m.uint(14, RESET_HINT[h.resetHint] ?? h.resetHint ?? 0);
	if (h.ts) { m.tag(15, 0); m.varint(h.ts); }
}

// --- snappy (block format) ----------------------------------------------------------

function pushVarint(out, n) { while (n >= 0x80) { out.push((n & 0x7f) | 0x80); n = Math.floor(n / 128); } out.push(n); }

function emitLiteral(out, src, from, to) {
	let n = to - from;
	while (n > 0) {
		const k = Math.min(n, 1 << 16);
		const l = k - 1;
		if (l < 60) out.push(l << 2);
		else if (l < 256) out.push(60 << 2, l);
		else out.push(61 << 2, l & 0xff, l >> 8);
		for (let i = 0; i < k; i++) out.push(src[from + i]);
		from += k; n -= k;
	}
}

function emitCopy(out, offset, len) {
	while (len > 0) {
		// keep at least 4 bytes for a final 1-byte-offset copy
		let k = len > 64 ? (len - 64 < 4 ? 60 : 64) : len;
		if (k >= 4 && k <= 11 && offset < 2048) {
			out.push(1 | ((k - 4) << 2) | ((offset >> 8) << 5), offset & 0xff);
		} else {
			out.push(2 | ((k - 1) << 2), offset & 0xff, offset >> 8);
		}
		len -= k;
	}
}

// snappyEncode(buf) -> Buffer (block format). Offsets are kept below 65536 by
// working in 64 KiB windows as the reference encoder does.
export function snappyEncode(src) {
	const out = [];
	pushVarint(out, src.length);
	const BLOCK = 1 << 16;
	for (let base = 0; base < src.length; base += BLOCK) {
		const end = Math.min(src.length, base + BLOCK);
		const table = new Map();
		let lit = base;
		let i = base;
		while (i + 4 <= end) {
			const key = src.readUInt32LE(i);
			const cand = table.get(key);
			table.set(key, i);
			if (cand !== undefined && i - cand < 65536) {
				let len = 4;
				while (i + len < end && src[cand + len] === src[i + len]) len++;
				emitLiteral(out, src, lit, i);
				emitCopy(out, i - cand, len);
				i += len;
				lit = i;
			} else {
				i++;
			}
		}
		emitLiteral(out, src, lit, end);
	}
	return Buffer.from(out);
}

// snappyDecode(buf) -> Buffer; throws on malformed input.  For self-checks.
export function snappyDecode(src) {
	let p = 0;
	let n = 0;
	let shift = 1;
	for (;;) {
		const b = src[p++];
		if (b === undefined) throw new Error('snappy: truncated length');
		n += (b & 0x7f) * shift;
		shift *= 128;
		if (!(b & 0x80)) break;
	}
	const out = Buffer.alloc(n);
	let o = 0;
	while (p < src.length) {
		const tag = src[p++];
		let len;
		let off;
		switch (tag & 3) {
		case 0:
			len = tag >> 2;
			if (len >= 60) { const k = len - 59; len = 0; for (let j = 0; j < k; j++) len |= src[p++] << (8 * j); }
			len += 1;
			if (p + len > src.length || o + len > n) throw new Error('snappy: literal overruns');
			src.copy(out, o, p, p + len); p += len; o += len;
			continue;
		case 1: len = 4 + ((tag >> 2) & 7); off = ((tag >> 5) << 8) | src[p++]; break;
		case 2: len = 1 + (tag >> 2); off = src[p] | (src[p + 1] << 8); p += 2; break;
		default: len = 1 + (tag >> 2); off = src.readUInt32LE(p); p += 4; break;
		}
		if (off === 0 || off > o || o + len > n) throw new Error('snappy: bad copy');
		for (let j = 0; j < len; j++, o++) out[o] = out[o - off];
	}
	if (o !== n) throw new Error(`snappy: ${o} bytes decoded, ${n} announced`);
	return out;
}

// --- sending -----------------------------------------------------------------------------

export const RW_HEADERS = {
	'content-type': 'application/x-protobuf',
	'content-encoding': 'snappy',
	'user-agent': 'obstui-tests-promrw/1',
	'x-prometheus-remote-write-version': '0.1.0',
};

// sendWrite(url, writeRequest | Buffer, {headers, compress}) -> {status, headers, body, ms}
export async function sendWrite(url, wr, { headers = {}, compress = true, timeout = 30000 } = {}) {
	const raw = Buffer.isBuffer(wr) ? wr : encodeWriteRequest(wr);
	const body = compress ? snappyEncode(raw) : raw;
	return request(url, {
		method: 'POST', body, timeout,
		headers: { ...RW_HEADERS, 'content-length': body.length, ...headers },
	});
}

// sendAll(url, data, {perRequest}): sends generate()'s output in time order,
// a slice of time per request, every series of that slice in it (so a
// Prometheus head never sees a sample older than it accepts).  Throws on
// any non-2xx answer.  Returns the number of requests.
// url may be an array: request n goes to url[n % url.length].
export async function sendAll(url, data, { sliceMs = 10 * 60 * 1000 } = {}) {
	const urls = Array.isArray(url) ? url : [url];
	let n = 0;
	for (let t = data.start; t <= data.end; t += sliceMs) {
		const hi = t + sliceMs;
		const series = [];
		for (const s of data.series) {
			const samples = (s.samples ?? []).filter(([ts]) => ts >= t && ts < hi);
			const histograms = (s.histograms ?? []).filter((h) => h.ts >= t && h.ts < hi);
			const exemplars = (s.exemplars ?? []).filter((e) => e.ts >= t && e.ts < hi);
			if (samples.length || histograms.length || exemplars.length) series.push({ labels: s.labels, samples, histograms, exemplars });
		}
		if (!series.length) continue;
		const to = urls[n % urls.length];
		const r = await sendWrite(to, { series, metadata: n < urls.length ? data.metadata : [] });
		n++;
		if (r.status < 200 || r.status > 299)
			throw new Error(`remote write to ${to}: ${r.status} ${r.body.toString().slice(0, 600)}`);
	}
	return n;
}

// --- deterministic generator ---------------------------------------------------------

export function prng(seed) {
	let a = seed >>> 0;
	return () => {
		a = (a + 0x6d2b79f5) >>> 0;
		let t = a;
		t = Math.imul(t ^ (t >>> 15), t | 1);
		t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
		return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
	};
}

function hex(rnd, bytes) {
	let out = '';
	for (let i = 0; i < bytes; i++) out += Math.floor(rnd() * 256).toString(16).padStart(2, '0');
	return out;
}

export const CLASSIC_BUCKETS = [0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

// generate({start, points, intervalMs, seed}) -> {start, end, series, metadata, hand}
//   start: first timestamp (ms, a whole second); points samples per series at
//   intervalMs with a deterministic jitter of up to 400 ms (as a real scrape
//   has).  hand: the exact series used by the hand-computed expectations.
export function generate({ start, points = 240, intervalMs = 15000, seed = 42 } = {}) {
	const rnd = prng(seed);
	const series = [];
	const ts = (i) => start + i * intervalMs + Math.floor(rnd() * 400);
	const jobs = ['api', 'worker'];
	const instances = ['10.0.0.1:9100', '10.0.0.2:9100', 'node-ü-3:9100'];

	// counters with resets, per job/instance/method/code
	for (const job of jobs) for (const instance of instances) for (const [method, code] of [['GET', '200'], ['POST', '500'], ['GET', '404']]) {
		const samples = [];
		let v = Math.floor(rnd() * 1000);
		const resetAt = Math.floor(rnd() * points);
		const speed = 1 + Math.floor(rnd() * 20);
		for (let i = 0; i < points; i++) {
			if (i === resetAt) v = Math.floor(rnd() * 3);
			else v += Math.floor(rnd() * speed * 2);
			samples.push([ts(i), v]);
		}
		// an exemplar now and then, with a trace and span id as Prometheus keeps them
		const exemplars = samples.filter((_, i) => i % 17 === 3).map(([t, v]) => ({
			labels: { trace_id: hex(rnd, 16), span_id: hex(rnd, 8) }, value: v, ts: t,
		}));
		series.push({ labels: { __name__: 'oracle_requests_total', job, instance, method, code }, samples, exemplars });
	}
	// gauges, negative and fractional values, one with a gap of 12 minutes
	// (longer than the 5m lookback), one that ends with a stale marker, one
	// that starts late
	for (const job of jobs) for (const instance of instances) {
		const samples = [];
		let v = rnd() * 100 - 50;
		const gapFrom = instance.startsWith('10.0.0.2') ? Math.floor(points / 3) : -1;
		const gapTo = gapFrom + Math.ceil(12 * 60000 / intervalMs);
		const staleAt = instance.startsWith('node') && job === 'worker' ? Math.floor(points * 0.8) : -1;
		for (let i = 0; i < points; i++) {
			if (i >= gapFrom && i < gapTo) continue;
			if (staleAt >= 0 && i > staleAt) break;
			v += rnd() * 10 - 5;
			samples.push([ts(i), i === staleAt ? STALE_NAN : Math.round(v * 1000) / 1000]);
		}
		series.push({ labels: { __name__: 'oracle_temperature_celsius', job, instance, zone: instance.startsWith('10') ? 'eu' : 'us' }, samples });
	}
	{
		const samples = [];
		for (let i = Math.floor(points / 2); i < points; i++) samples.push([ts(i), i % 7]);
		series.push({ labels: { __name__: 'oracle_queue_depth', job: 'worker', instance: instances[0], queue: 'late' }, samples });
	}
	// a second-resolution info-like gauge with the value 1
	series.push({ labels: { __name__: 'oracle_build_info', job: 'api', instance: instances[0], version: '1.2.3', revision: 'abc' }, samples: Array.from({ length: points }, (_, i) => [ts(i), 1]) });

	// classic histograms (_bucket/_sum/_count), cumulative, with a reset
	for (const job of jobs) for (const handler of ['/a', '/b/c']) {
		const counts = new Array(CLASSIC_BUCKETS.length + 1).fill(0);
		let sum = 0;
		const resetAt = job === 'api' && handler === '/a' ? Math.floor(points * 0.6) : -1;
		const bucketSamples = counts.map(() => []);
		const sumS = [];
		const countS = [];
		for (let i = 0; i < points; i++) {
			if (i === resetAt) { counts.fill(0); sum = 0; }
			const obs = Math.floor(rnd() * 30);
			for (let k = 0; k < obs; k++) {
				const x = Math.exp(rnd() * 6 - 5); // ~0.0067 .. 2.7 s
				sum += x;
				let b = CLASSIC_BUCKETS.findIndex((le) => x <= le);
				if (b < 0) b = CLASSIC_BUCKETS.length;
				counts[b]++;
			}
			const t = ts(i);
			let cum = 0;
			counts.forEach((c, b) => { cum += c; bucketSamples[b].push([t, cum]); });
			sumS.push([t, Math.round(sum * 1e6) / 1e6]);
			countS.push([t, cum]);
		}
		const base = { job, instance: instances[1], handler };
		bucketSamples.forEach((samples, b) => series.push({
			labels: { __name__: 'oracle_latency_seconds_bucket', ...base, le: b < CLASSIC_BUCKETS.length ? String(CLASSIC_BUCKETS[b]) : '+Inf' }, samples,
		}));
		series.push({ labels: { __name__: 'oracle_latency_seconds_sum', ...base }, samples: sumS });
		series.push({ labels: { __name__: 'oracle_latency_seconds_count', ...base }, samples: countS });
	}

	// native histograms: integer, schema 1 with a zero bucket and negative
	// buckets; one series resets
	for (const [job, schema] of [['api', 1], ['worker', 0]]) {
		const pos = new Map();
		const neg = new Map();
		let zero = 0;
		let count = 0;
		let sum = 0;
		const histograms = [];
		const resetAt = job === 'api' ? Math.floor(points * 0.7) : -1;
		for (let i = 0; i < points; i++) {
			if (i === resetAt) { pos.clear(); neg.clear(); zero = 0; count = 0; sum = 0; }
			const obs = Math.floor(rnd() * 20);
			for (let k = 0; k < obs; k++) {
				const r = rnd();
				const x = r < 0.05 ? 0 : (r < 0.15 ? -1 : 1) * Math.exp(rnd() * 6 - 3);
				count++; sum += x;
				if (x === 0) { zero++; continue; }
				const idx = nativeIndex(Math.abs(x), schema);
				const m = x > 0 ? pos : neg;
				m.set(idx, (m.get(idx) ?? 0) + 1);
			}
			histograms.push({ ts: ts(i), count, sum: Math.round(sum * 1e6) / 1e6, schema, zeroThreshold: 1e-128, zeroCount: zero,
				...spansAndDeltas('positive', pos), ...spansAndDeltas('negative', neg), resetHint: i === resetAt ? 'yes' : 'unknown' });
		}
		series.push({ labels: { __name__: 'oracle_native_seconds', job, instance: instances[2] }, histograms });
	}

	// label shapes: unicode, long values, many labels
	const long = 'x'.repeat(300) + '-ünïcødé-' + 'y'.repeat(700);
	series.push({ labels: { __name__: 'oracle_shapes', kind: 'unicode', value: 'über 東京 😀 "quoted" \\ back\nslash' }, samples: Array.from({ length: points }, (_, i) => [ts(i), i]) });
	series.push({ labels: { __name__: 'oracle_shapes', kind: 'long', value: long }, samples: Array.from({ length: points }, (_, i) => [ts(i), -i]) });
	const many = { __name__: 'oracle_shapes', kind: 'many' };
	for (let k = 0; k < 40; k++) many[`l_${String(k).padStart(2, '0')}`] = `v${k}`;
	series.push({ labels: many, samples: Array.from({ length: points }, (_, i) => [ts(i), i * 0.5]) });
	// special values: +Inf, -Inf, NaN (an ordinary NaN, not a stale marker)
	series.push({ labels: { __name__: 'oracle_special', kind: 'inf' }, samples: Array.from({ length: points }, (_, i) => [ts(i), i % 10 === 5 ? Infinity : (i % 10 === 6 ? -Infinity : i)]) });
	series.push({ labels: { __name__: 'oracle_special', kind: 'nan' }, samples: Array.from({ length: points }, (_, i) => [ts(i), i % 9 === 4 ? NaN : i]) });

	// hand-checked series: exact timestamps, no jitter
	const hand = handSeries(start);
	series.push(...hand.series);

	const end = start + (points - 1) * intervalMs + 400;
	const metadata = [
		{ type: 'counter', name: 'oracle_requests_total', help: 'Requests served.', unit: '' },
		{ type: 'gauge', name: 'oracle_temperature_celsius', help: 'Temperature.', unit: 'celsius' },
		{ type: 'histogram', name: 'oracle_latency_seconds', help: 'Latency of requests.', unit: 'seconds' },
		{ type: 'gauge', name: 'oracle_queue_depth', help: 'Queue depth.', unit: '' },
	];
	return { start, end, series, metadata, hand };
}

// index of the native-histogram bucket holding x > 0: bucket i covers
// (base^(i-1), base^i] with base = 2^(2^-schema)
export function nativeIndex(x, schema) {
	const base = 2 ** (2 ** -schema);
	let i = Math.ceil(Math.log(x) / Math.log(base));
	// correct floating error at the boundaries
	if (base ** (i - 1) >= x) i--;
	else if (base ** i < x) i++;
	return i;
}

function spansAndDeltas(side, m) {
	const idx = [...m.keys()].sort((a, b) => a - b);
	const spans = [];
	const deltas = [];
	let prevIdx = null;
	let prevCount = 0;
	for (const i of idx) {
		if (prevIdx === null) spans.push([i, 1]);
		else if (i === prevIdx + 1) spans[spans.length - 1][1]++;
		else spans.push([i - prevIdx - 1, 1]);
		deltas.push(m.get(i) - prevCount);
		prevCount = m.get(i);
		prevIdx = i;
	}
	return { [`${side}Spans`]: spans, [`${side}Deltas`]: deltas };
}

// Series whose answers are computed by hand below (and asserted against
// every server, so an error shared by two implementations cannot hide).
//   oracle_hand_total: 0,10,20,30,40,5,15 at start+0..90 s every 15 s (a reset
//     after 40), then flat 15 until start+180 s.
//   oracle_hand_gauge{i="1".."3"}: the value i at every 15 s for 10 minutes.
//   oracle_hand_bucket{le}: one classic histogram sample at start+60 s:
//     le=0.1:10, 0.5:30, 1:40, +Inf:40.
//   oracle_hand_native: one native histogram at start+60 s: count 10, sum 25.
function handSeries(start) {
	const c = [0, 10, 20, 30, 40, 5, 15, 15, 15, 15, 15, 15, 15];
	const series = [
		{ labels: { __name__: 'oracle_hand_total', job: 'hand' }, samples: c.map((v, i) => [start + i * 15000, v]) },
	];
	for (const i of [1, 2, 3])
		series.push({ labels: { __name__: 'oracle_hand_gauge', job: 'hand', i: String(i) }, samples: Array.from({ length: 41 }, (_, k) => [start + k * 15000, i]) });
	for (const [le, v] of [['0.1', 10], ['0.5', 30], ['1', 40], ['+Inf', 40]])
		series.push({ labels: { __name__: 'oracle_hand_bucket', job: 'hand', le }, samples: [[start + 60000, v]] });
	// schema 0: bucket 1 = (1,2], bucket 2 = (2,4]; 4 in (1,2], 6 in (2,4]
	series.push({ labels: { __name__: 'oracle_hand_native', job: 'hand' }, histograms: [{ ts: start + 60000, count: 10, sum: 25, schema: 0, zeroThreshold: 1e-128, zeroCount: 0, positiveSpans: [[1, 2]], positiveDeltas: [4, 2] }] });
	return {
		series,
		expect: [
			// [query, eval time (ms), expected value(s) as {labelsKey: value} or a number for a single series]
			['increase(oracle_hand_total[90s])', start + 90000, 55],
			['rate(oracle_hand_total[90s])', start + 90000, 55 / 90],
			['resets(oracle_hand_total[3m])', start + 180000, 1],
			['changes(oracle_hand_total[3m])', start + 180000, 6],
			['delta(oracle_hand_total[30s])', start + 30000, 20],
			['sum(oracle_hand_gauge)', start + 300000, 6],
			['avg(oracle_hand_gauge)', start + 300000, 2],
			['count(oracle_hand_gauge > 1)', start + 300000, 2],
			['histogram_quantile(0.5, oracle_hand_bucket)', start + 60000, 0.3],
			['histogram_quantile(0.9, oracle_hand_bucket)', start + 60000, 0.5 + 0.5 * (36 - 30) / 10],
			['histogram_count(oracle_hand_native)', start + 60000, 10],
			['histogram_sum(oracle_hand_native)', start + 60000, 25],
			// 4 observations in (1,2], 6 in (2,4]: median at rank 5 is in (2,4],
			// interpolated linearly within the bucket as Prometheus 2.x does
			// (exponential interpolation came only in 3.x): 2 + 2 * (5-4)/6
			['histogram_quantile(0.5, oracle_hand_native)', start + 60000, 2 + 2 * (1 / 6)],
			['histogram_fraction(0, 2, oracle_hand_native)', start + 60000, 0.4],
		],
	};
}
