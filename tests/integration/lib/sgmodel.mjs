// sgmodel.mjs - what the service graph and the span metrics of a set of spans
// must be, worked out here from the spans a test sent (the span map the
// recording proxy captured), independently of obstui's code.
//
//   const spans = flatSpans(sentMap);
//   const g = serviceGraph(spans);        // edges (with their events), nodes, unpaired
//   const m = spanMetrics(spans);         // calls and latencies per service/name/kind/status
//   apiGraph(g)                           // what GET /api/service-graph must answer
//   promSeries(g, m)                      // every Prometheus series, with the events behind it
//   samplesOf(series, T)                  // its samples under the materialisation contract
//   extrapolatedRate(samples, T, R, true) // Prometheus 2.x rate() over them
//
// Pairing follows Tempo's service-graph processor (modules/generator/
// processor/servicegraphs): only CLIENT/PRODUCER and SERVER/CONSUMER spans
// count; a client side is keyed by (trace id, span id), a server side by
// (trace id, parent span id); an edge is complete when both sides have a
// service; either side's ERROR fails it; PRODUCER/CONSUMER make
// messaging_system.  A client span with a database attribute (db.namespace,
// db.name, db.system, db.system.name, first present, resource or span) is a
// database edge on its own, server = peer.service, server.address,
// network.peer.address[:network.peer.port], else the database value; its
// server latency is its own duration.  What stays unpaired: a root server
// span becomes client = its peer.service or "user" (virtual_node); a client
// span with peer.service becomes server = that (virtual_node); the rest is
// counted as unpaired.  The side a virtual edge lacks has no measured
// latency (null here); Tempo observes it as 0 in its histograms, which
// promSeries() reproduces.
//
// The set is complete when the model runs, so there is no expiry timing:
// the model is the state once every span has arrived.
//
// Time contract for the series (what the rollups materialise,
// src/store/rollup_series.c): an edge counts at the later end time of its
// sides (a one-sided edge at that side's end); a span-metrics call at the
// span's end.  A series' value at t is the count (or sum) of its events at
// or before t.  Samples sit on every minute boundary (every hour for ranges
// of 6 h and more) from the one at or before the first event to 15 minutes
// after the last (never past now), plus one at the newest event of each
// minute (hour) that has events; for _failed_total, at the edge's newest
// request of each minute (hour) that had a failure.

export const KIND = ['SPAN_KIND_UNSPECIFIED', 'SPAN_KIND_INTERNAL', 'SPAN_KIND_SERVER', 'SPAN_KIND_CLIENT',
	'SPAN_KIND_PRODUCER', 'SPAN_KIND_CONSUMER'];
export const STATUS = ['STATUS_CODE_UNSET', 'STATUS_CODE_OK', 'STATUS_CODE_ERROR'];

export const SG_BUCKETS = [0.1, 0.2, 0.4, 0.8, 1.6, 3.2, 6.4, 12.8];
export const SM_BUCKETS = Array.from({ length: 14 }, (_, k) => 0.002 * 2 ** k);
export const DB_ATTRS = ['db.namespace', 'db.name', 'db.system', 'db.system.name'];
const CLIENT_KINDS = new Set([3, 4]);
const SERVER_KINDS = new Set([2, 5]);
const MINUTE = 60000;
const KEEP_MS = 15 * MINUTE;

// The string Tempo's attribute lookup gives for an OTLP AnyValue.
function anyString(v) {
	if (v.stringValue !== undefined) return v.stringValue;
	if (v.intValue !== undefined) return String(v.intValue);
	if (v.boolValue !== undefined) return String(v.boolValue);
	if (v.doubleValue !== undefined) return String(v.doubleValue);
	return undefined;
}
function attrMap(list) {
	const m = new Map();
	for (const kv of list ?? []) {
		const s = anyString(kv.value ?? {});
		if (s !== undefined && !m.has(kv.key)) m.set(kv.key, s);
	}
	return m;
}

// Span map (traces.captured / otlp.spanMap) -> plain records.
export function flatSpans(map) {
	const out = [];
	for (const { resource, span } of map.values()) {
		const rattrs = attrMap(resource.attributes);
		out.push({
			traceId: span.traceId, spanId: span.spanId, parent: span.parentSpanId || '',
			service: rattrs.get('service.name') ?? '', rattrs, attrs: attrMap(span.attributes),
			name: span.name, kind: span.kind, status: span.status?.code ?? 0,
			startNs: BigInt(span.startTimeUnixNano), endNs: BigInt(span.endTimeUnixNano),
		});
	}
	return out;
}

export const durSec = (s) => (s.endNs > s.startNs ? Number(s.endNs - s.startNs) / 1e9 : 0);
export const endMs = (s) => {
	if (s.endNs % 1000000n !== 0n) throw new Error(`test bug: span ${s.spanId} does not end on a whole millisecond`);
	return Number(s.endNs / 1000000n);
};
// first present of keys, looked up on the resource then the span (as Tempo's FindAttributeValue)
function firstOf(s, keys) {
	for (const k of keys) {
		if (s.rattrs.has(k)) return s.rattrs.get(k);
		if (s.attrs.has(k)) return s.attrs.get(k);
	}
	return undefined;
}
const failed = (s) => s.status === 2;

export function edgeKey(client, server, connectionType) { return `${client}\u0000${server}\u0000${connectionType}`; }

// -> {edges: Map(edgeKey -> {client, server, connectionType, events: [{tMs, failed, serverSec, clientSec, traceId}]}),
//     unpaired, unpairedSides: [span]}
export function serviceGraph(spans) {
	const edges = new Map();
	const add = (client, server, connectionType, ev) => {
		const k = edgeKey(client, server, connectionType);
		if (!edges.has(k)) edges.set(k, { client, server, connectionType, events: [] });
		edges.get(k).events.push(ev);
	};
	const clients = new Map();
	const servers = new Map();
	for (const s of spans) {
		if (!s.service) continue;
		if (CLIENT_KINDS.has(s.kind)) {
			const db = firstOf(s, DB_ATTRS);
			if (db !== undefined) {
				let server = firstOf(s, ['peer.service', 'server.address']);
				if (server === undefined) {
					const host = firstOf(s, ['network.peer.address']);
					const port = firstOf(s, ['network.peer.port']);
					if (host !== undefined) server = port !== undefined ? `${host}:${port}` : host;
				}
				add(s.service, server ?? db, 'database', {
					tMs: endMs(s), failed: failed(s), serverSec: durSec(s), clientSec: durSec(s), traceId: s.traceId,
				});
				continue;
			}
			const k = `${s.traceId}/${s.spanId}`;
			if (clients.has(k)) throw new Error(`test bug: two client spans keyed ${k}`);
			clients.set(k, s);
		} else if (SERVER_KINDS.has(s.kind)) {
			if (!s.parent) {
				if (DB_ATTRS.some((a) => s.attrs.has(a)))
					throw new Error('test bug: a root server span with a database attribute (Tempo would name its client by it)');
				add(s.attrs.get('peer.service') ?? 'user', s.service, 'virtual_node', {
					tMs: endMs(s), failed: failed(s), serverSec: durSec(s), clientSec: null, traceId: s.traceId,
				});
				continue;
			}
			const k = `${s.traceId}/${s.parent}`;
			if (servers.has(k)) throw new Error(`test bug: two server spans keyed ${k}`);
			servers.set(k, s);
		}
	}
	const unpairedSides = [];
	for (const [k, c] of clients) {
		const sv = servers.get(k);
		if (sv) {
			servers.delete(k);
			const cm = c.kind === 4;
			const sm = sv.kind === 5;
			if (cm !== sm) throw new Error(`test bug: ${k} pairs a messaging side with a plain one (Tempo: order-dependent)`);
			add(c.service, sv.service, cm ? 'messaging_system' : '', {
				tMs: Math.max(endMs(c), endMs(sv)), failed: failed(c) || failed(sv),
				serverSec: durSec(sv), clientSec: durSec(c), traceId: c.traceId,
			});
		} else if (c.attrs.has('peer.service')) {
			add(c.service, c.attrs.get('peer.service'), 'virtual_node', {
				tMs: endMs(c), failed: failed(c), serverSec: null, clientSec: durSec(c), traceId: c.traceId,
			});
		} else {
			unpairedSides.push(c);
		}
	}
	unpairedSides.push(...servers.values());
	for (const e of edges.values()) e.events.sort((a, b) => a.tMs - b.tMs);
	return { edges, unpaired: unpairedSides.length, unpairedSides };
}

// -> Map(key -> {service, span_name, span_kind, status_code, events: [{tMs, sec}]})
export function spanMetrics(spans) {
	const m = new Map();
	for (const s of spans) {
		if (!s.service) continue;
		const labels = { service: s.service, span_name: s.name, span_kind: KIND[s.kind], status_code: STATUS[s.status] };
		const k = JSON.stringify(labels);
		if (!m.has(k)) m.set(k, { ...labels, events: [] });
		m.get(k).events.push({ tMs: endMs(s), sec: durSec(s) });
	}
	for (const x of m.values()) x.events.sort((a, b) => a.tMs - b.tMs);
	return m;
}

// --- quantiles -------------------------------------------------------------------------

export function nearestRank(xs, q) {
	const a = [...xs].sort((x, y) => x - y);
	return a[Math.max(0, Math.ceil(q * a.length) - 1)];
}
export function interpolated(xs, q) {
	const a = [...xs].sort((x, y) => x - y);
	const h = (a.length - 1) * q;
	const lo = Math.floor(h);
	return lo + 1 < a.length ? a[lo] + (h - lo) * (a[lo + 1] - a[lo]) : a[lo];
}
// The band the API's quantile must fall in: 5 % around the exact value,
// nearest-rank or interpolated; null when nothing was measured.
export function quantileBand(xs, q, rel = 0.05) {
	if (!xs.length) return null;
	const a = nearestRank(xs, q);
	const b = interpolated(xs, q);
	return { lo: Math.min(a, b) * (1 - rel), hi: Math.max(a, b) * (1 + rel), nearestRank: a, interpolated: b };
}

// --- what GET /api/service-graph must answer ---------------------------------------------

const ms = (xs) => xs.filter((x) => x !== null).map((x) => x * 1000);

// -> {nodes: Map(id -> {id, requests, failed, p50, p95}), edges: Map(edgeKey -> {..., p50, p95, clientP95}), unpaired}
// where p50... are quantileBand()s or null.  skipUnmeasured: leave out
// (undefined: not compared) the latencies of a side no span measured
// (virtual edges), and of a node nothing measured went into.
export function apiGraph(g, { skipUnmeasured = false } = {}) {
	const nodes = new Map();
	const node = (id) => {
		if (!nodes.has(id)) nodes.set(id, { id, requests: 0, failed: 0, lat: [] });
		return nodes.get(id);
	};
	const edges = new Map();
	for (const [k, e] of g.edges) {
		const srv = ms(e.events.map((x) => x.serverSec));
		const cli = ms(e.events.map((x) => x.clientSec));
		const nfail = e.events.filter((x) => x.failed).length;
		edges.set(k, {
			client: e.client, server: e.server, connectionType: e.connectionType,
			requests: e.events.length, failed: nfail,
			p50: quantileBand(srv, 0.5), p95: quantileBand(srv, 0.95), clientP95: quantileBand(cli, 0.95),
		});
		node(e.client);
		const n = node(e.server);
		n.requests += e.events.length;
		n.failed += nfail;
		n.lat.push(...srv);
	}
	for (const n of nodes.values()) {
		n.p50 = quantileBand(n.lat, 0.5);
		n.p95 = quantileBand(n.lat, 0.95);
		delete n.lat;
	}
	if (skipUnmeasured) {
		for (const [k, e] of g.edges) {
			const x = edges.get(k);
			if (e.events.every((ev) => ev.serverSec === null)) { delete x.p50; delete x.p95; }
			if (e.events.every((ev) => ev.clientSec === null)) delete x.clientP95;
		}
		for (const n of nodes.values()) {
			const into = [...g.edges.values()].filter((e) => e.server === n.id);
			if (into.length && into.every((e) => e.events.every((ev) => ev.serverSec === null))) { delete n.p50; delete n.p95; }
		}
	}
	return { nodes, edges, unpaired: g.unpaired };
}

// Every disagreement between an answer of GET /api/service-graph and
// apiGraph(); [] when they agree.
export function diffApiGraph(got, exp) {
	const out = [];
	if (!got || typeof got !== 'object' || !Array.isArray(got.nodes) || !Array.isArray(got.edges))
		return [`the answer is not {"nodes":[...],"edges":[...]}: ${JSON.stringify(got).slice(0, 300)}`];
	const q = (what, v, band) => {
		if (band === undefined) return; // not asked about here
		if (band === null) {
			if (v !== null) out.push(`${what}: want null (nothing measured), got ${JSON.stringify(v)}`);
		} else if (typeof v !== 'number' || !(v >= band.lo && v <= band.hi)) {
			out.push(`${what}: want ${band.lo.toFixed(2)}..${band.hi.toFixed(2)} ms (exact: nearest-rank ${band.nearestRank}, interpolated ${band.interpolated.toFixed(2)}), got ${JSON.stringify(v)}`);
		}
	};
	const gotNodes = new Map();
	for (const n of got.nodes) {
		if (gotNodes.has(n.id)) out.push(`node ${JSON.stringify(n.id)} appears twice`);
		gotNodes.set(n.id, n);
	}
	for (const [id, e] of exp.nodes) {
		const n = gotNodes.get(id);
		if (!n) { out.push(`node ${JSON.stringify(id)} missing (want requests ${e.requests}, failed ${e.failed})`); continue; }
		if (n.requests !== e.requests) out.push(`node ${JSON.stringify(id)}: requests want ${e.requests}, got ${JSON.stringify(n.requests)}`);
		if (n.failed !== e.failed) out.push(`node ${JSON.stringify(id)}: failed want ${e.failed}, got ${JSON.stringify(n.failed)}`);
		q(`node ${JSON.stringify(id)}: p50Ms`, n.p50Ms, e.p50);
		q(`node ${JSON.stringify(id)}: p95Ms`, n.p95Ms, e.p95);
	}
	for (const id of gotNodes.keys())
		if (!exp.nodes.has(id)) out.push(`node ${JSON.stringify(id)} is not in the graph: ${JSON.stringify(gotNodes.get(id))}`);
	const gotEdges = new Map();
	for (const e of got.edges) {
		const k = edgeKey(e.client, e.server, e.connectionType);
		if (gotEdges.has(k)) out.push(`edge ${fmtEdge(e)} appears twice`);
		gotEdges.set(k, e);
	}
	for (const [k, e] of exp.edges) {
		const g = gotEdges.get(k);
		const name = `edge ${fmtEdge(e)}`;
		if (!g) {
			const near = [...gotEdges.values()].filter((x) => x.client === e.client && x.server === e.server);
			out.push(`${name} missing (want requests ${e.requests}, failed ${e.failed})${near.length ? `; there is ${near.map(fmtEdge).join(', ')}` : ''}`);
			continue;
		}
		if (g.requests !== e.requests) out.push(`${name}: requests want ${e.requests}, got ${JSON.stringify(g.requests)}`);
		if (g.failed !== e.failed) out.push(`${name}: failed want ${e.failed}, got ${JSON.stringify(g.failed)}`);
		q(`${name}: p50Ms`, g.p50Ms, e.p50);
		q(`${name}: p95Ms`, g.p95Ms, e.p95);
		q(`${name}: clientP95Ms`, g.clientP95Ms, e.clientP95);
	}
	for (const [k, g] of gotEdges)
		if (!exp.edges.has(k)) out.push(`edge ${fmtEdge(g)} is not in the graph: ${JSON.stringify(g)}`);
	if (exp.unpaired !== undefined && got.unpaired !== exp.unpaired)
		out.push(`unpaired: want ${exp.unpaired}, got ${JSON.stringify(got.unpaired)}`);
	return out;
}
export function fmtEdge(e) {
	return `${e.client} -> ${e.server} [${JSON.stringify(e.connectionType)}]`;
}

// --- Prometheus series ---------------------------------------------------------------------

const fmtLe = (b) => String(b);

// One expected series: {labels (with __name__, no empty values), events: [{tMs, v}]}
// where a sample's value is the sum of v over the events at or before it.
// latencyMissing: what a virtual edge's unmeasured side is observed as
// (Tempo: 0); null leaves it out of the histogram.
export function promSeries(g, m, { latencyMissing = 0 } = {}) {
	const out = [];
	const push = (name, labels, events) => {
		const l = { __name__: name };
		for (const [k, v] of Object.entries(labels)) if (v !== '') l[k] = v;
		out.push({ labels: l, events });
	};
	const hist = (base, labels, evs, bounds) => {
		push(`${base}_count`, labels, evs.map((e) => ({ tMs: e.tMs, v: 1 })));
		push(`${base}_sum`, labels, evs.map((e) => ({ tMs: e.tMs, v: e.sec })));
		for (const b of [...bounds, Infinity]) {
			push(`${base}_bucket`, { ...labels, le: b === Infinity ? '+Inf' : fmtLe(b) },
				evs.map((e) => ({ tMs: e.tMs, v: e.sec <= b ? 1 : 0 })));
		}
	};
	for (const e of g.edges.values()) {
		const labels = { client: e.client, server: e.server, connection_type: e.connectionType };
		push('traces_service_graph_request_total', labels, e.events.map((x) => ({ tMs: x.tMs, v: 1 })));
		const f = e.events.filter((x) => x.failed);
		if (f.length) {
			push('traces_service_graph_request_failed_total', labels, f.map((x) => ({ tMs: x.tMs, v: 1 })));
			out[out.length - 1].placeEvents = e.events; // its samples sit at the edge's requests (samplesOf)
		}
		for (const side of ['server', 'client']) {
			const evs = [];
			for (const x of e.events) {
				const sec = x[`${side}Sec`] ?? latencyMissing;
				if (sec !== null) evs.push({ tMs: x.tMs, sec });
			}
			if (evs.length) hist(`traces_service_graph_request_${side}_seconds`, labels, evs, SG_BUCKETS);
		}
	}
	for (const s of m.values()) {
		const labels = { service: s.service, span_name: s.span_name, span_kind: s.span_kind, status_code: s.status_code };
		push('traces_spanmetrics_calls_total', labels, s.events.map((x) => ({ tMs: x.tMs, v: 1 })));
		hist('traces_spanmetrics_latency', labels, s.events, SM_BUCKETS);
	}
	return out;
}

export function labelKey(l) {
	return JSON.stringify(Object.keys(l).filter((k) => k !== '__name__').sort().map((k) => [k, l[k]]).concat([['__name__', l.__name__ ?? '']]));
}

// Which samples the tests expect.  newestPerBucket true (the contract):
// boundaries + the newest event of each minute/hour bucket with events (for
// failed_total, the edge's newest request of each bucket with a failure).
// OBSTUI_SG_SAMPLES=series-newest selects the sparser form first proposed
// (boundaries + only the series' newest event), to compare.
export const SAMPLES = { newestPerBucket: process.env.OBSTUI_SG_SAMPLES !== 'series-newest' };

// Samples of a series at or before T (ms) under the contract, with step
// `grain` (60000; 3600000 for ranges of 6 h and more).
export function samplesOf(series, T, { grain = MINUTE, newestPerBucket = SAMPLES.newestPerBucket } = {}) {
	const ev = series.events;
	if (!ev.length) return [];
	const first = ev[0].tMs;
	const last = ev[ev.length - 1].tMs;
	const times = new Set();
	const b0 = Math.floor(first / grain) * grain;
	for (let b = b0; b <= Math.min(last + KEEP_MS, T); b += grain) times.add(b);
	if (last <= T && !newestPerBucket) times.add(last);
	if (newestPerBucket) {
		const own = new Set(ev.map((e) => Math.floor(e.tMs / grain) * grain));
		const newest = new Map();
		for (const e of series.placeEvents ?? ev) {
			const b = Math.floor(e.tMs / grain) * grain;
			if (own.has(b) && e.tMs <= T && e.tMs > (newest.get(b) ?? -1)) newest.set(b, e.tMs);
		}
		for (const t of newest.values()) times.add(t);
	}
	return [...times].sort((a, b) => a - b).map((t) => {
		let v = 0;
		for (const e of ev) if (e.tMs <= t) v += e.v;
		return [t, v];
	});
}

// The value of the instant selector at T (lookback 5 minutes), or undefined.
export function instantValue(series, T) {
	const s = samplesOf(series, T).filter(([t]) => t > T - 5 * MINUTE);
	return s.length ? s[s.length - 1][1] : undefined;
}

// Prometheus 2.x extrapolatedRate (promql/functions.go) for a counter over
// the samples in [T-R, T]; undefined when fewer than two.
export function extrapolatedRate(samples, T, rangeMs, isRate = true) {
	const pts = samples.filter(([t]) => t >= T - rangeMs && t <= T);
	if (pts.length < 2) return undefined;
	const rangeStart = T - rangeMs;
	const rangeEnd = T;
	let result = pts[pts.length - 1][1] - pts[0][1];
	let prev = pts[0][1];
	for (const [, v] of pts.slice(1)) {
		if (v < prev) result += prev;
		prev = v;
	}
	const firstT = pts[0][0];
	const lastT = pts[pts.length - 1][0];
	let durationToStart = (firstT - rangeStart) / 1000;
	const durationToEnd = (rangeEnd - lastT) / 1000;
	const sampled = (lastT - firstT) / 1000;
	const avg = sampled / (pts.length - 1);
	if (result > 0 && pts[0][1] >= 0) {
		const durationToZero = sampled * (pts[0][1] / result);
		if (durationToZero < durationToStart) durationToStart = durationToZero;
	}
	const threshold = avg * 1.1;
	let interval = sampled;
	interval += durationToStart < threshold ? durationToStart : avg / 2;
	interval += durationToEnd < threshold ? durationToEnd : avg / 2;
	let factor = interval / sampled;
	if (isRate) factor /= rangeMs / 1000;
	return result * factor;
}

// Prometheus 2.x bucketQuantile over [{le: number, v}] (cumulative).
export function bucketQuantile(q, buckets) {
	const b = [...buckets].sort((x, y) => x.le - y.le);
	if (!b.length || b[b.length - 1].le !== Infinity) return NaN;
	for (let i = 1; i < b.length; i++) if (b[i].v < b[i - 1].v) b[i].v = b[i - 1].v;
	if (b.length < 2) return NaN;
	const total = b[b.length - 1].v;
	if (total === 0) return NaN;
	let rank = q * total;
	let i = 0;
	while (i < b.length - 1 && !(b[i].v >= rank)) i++;
	if (i === b.length - 1) return b[b.length - 2].le;
	if (i === 0 && b[0].le <= 0) return b[0].le;
	let start = 0;
	let count = b[i].v;
	if (i > 0) {
		start = b[i - 1].le;
		count -= b[i - 1].v;
		rank -= b[i - 1].v;
	}
	return start + (b[i].le - start) * (rank / count);
}

// The labels kept by `by`, as a key and an object.
export function byLabels(l, by) {
	const o = {};
	for (const k of by) if (l[k] !== undefined && l[k] !== '') o[k] = l[k];
	return { key: JSON.stringify(by.map((k) => o[k] ?? '')), labels: o };
}

// sum by (by) (rate(series[R])) at T -> Map(key -> {labels, value});
// isRate false: increase().
export function sumRateBy(seriesList, by, T, rangeMs, { grain = MINUTE, isRate = true } = {}) {
	const out = new Map();
	for (const s of seriesList) {
		const r = extrapolatedRate(samplesOf(s, T, { grain }), T, rangeMs, isRate);
		if (r === undefined) continue;
		const { key, labels } = byLabels(s.labels, by);
		const x = out.get(key) ?? { labels, value: 0 };
		x.value += r;
		out.set(key, x);
	}
	return out;
}

// group by (by) (series) at T -> Map(key -> {labels, value: 1})
export function groupBy(seriesList, by, T) {
	const out = new Map();
	for (const s of seriesList) {
		if (instantValue(s, T) === undefined) continue;
		const { key, labels } = byLabels(s.labels, by);
		out.set(key, { labels, value: 1 });
	}
	return out;
}

// topk(k, ...) of a Map(key -> {labels, value}); throws when the k-th and
// (k+1)-th are too close to tell which one Prometheus would keep.
export function topk(k, m) {
	const a = [...m.entries()].sort((x, y) => y[1].value - x[1].value);
	if (a.length > k && Math.abs(a[k - 1][1].value - a[k][1].value) <= 1e-9 * Math.abs(a[k][1].value))
		throw new Error(`test bug: topk(${k}) tie between ${a[k - 1][0]} and ${a[k][0]}`);
	return new Map(a.slice(0, k));
}

// histogram_quantile(q, sum by (le) (rate(bucketSeries[R]))) at T.
export function histQuantileOfRates(q, bucketSeries, T, rangeMs, opts = {}) {
	const byLe = sumRateBy(bucketSeries, ['le'], T, rangeMs, opts);
	const buckets = [...byLe.values()].map((x) => ({ le: x.labels.le === '+Inf' ? Infinity : Number(x.labels.le), v: x.value }));
	return bucketQuantile(q, buckets);
}

// a, b equal within rel (both undefined/NaN counts as equal)
export function close(a, b, rel = 1e-6) {
	if (Number.isNaN(a) && Number.isNaN(b)) return true;
	if (a === b) return true;
	return Math.abs(a - b) <= rel * Math.max(Math.abs(a), Math.abs(b), 1e-12);
}

// A range query's expected matrix: f(t) -> Map(key -> {labels, value}) at
// every step from start to end (ms) -> Map(key -> {labels, samples}).
export function overSteps(start, end, stepMs, f) {
	const out = new Map();
	for (let t = start; t <= end; t += stepMs) {
		for (const [k, x] of f(t)) {
			if (!out.has(k)) out.set(k, { labels: x.labels, samples: [] });
			out.get(k).samples.push([t, x.value]);
		}
	}
	return out;
}
