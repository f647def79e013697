// svcgraph_queries.mjs - the query half of the span-analytics benchmark
// (issue 12): times the service graph, Grafana's service-map and service
// table queries and TraceQL metrics against one obstui, and checks every
// answer against what the load generator sent, so that an empty or wrong
// answer cannot pass as a fast one.  bench/svcgraph_bench.sh runs it after
// filling a store; bench/README.md ("Service graph") says what each figure
// means.
//
//   node bench/svcgraph_queries.mjs --port API_PORT --out FILE --traces T
//        --rpc-pairs R --db-calls D --spread S [--recent-traces N] [--reps 20]
//        [--metrics-reps 5]
//
// One keep-alive connection (an http.Agent with one socket); each request
// is sent --reps times after one untimed warm-up, one at a time, with
// end or time = now when it is sent, as Grafana does on a refresh.  The
// latency is from the request's write to its answer's last byte; the
// answer is parsed after the clock stops.
//
//   name        request
//   sg_1h       GET /api/service-graph?start=now-1h&end=now
//   sg_7d       the same for the last 7 days
//   gm_W_M_sum  POST /api/v1/query: sum by (client, server) (rate(M[W]))
//   gm_W_M_grp  POST /api/v1/query: group by (client, connection_type, server) (M)
//               for M in Grafana's four service-map metrics, W in 1h and 7d
//   tab_W_topk  topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind=
//               "SPAN_KIND_SERVER"}[W])) by (span_name))
//   tab_W_p90   histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket
//               {span_name=~"<topk's first name>"}[W])) by (le))
//   tqlm_1h     GET /api/metrics/query_range?q={ } | rate() by
//               (resource.service.name), the last hour at step 60s
//
// Checks (each answer, every repetition's status; the content of the last):
//   - sg_7d: the user -> frontend edge (one per trace: each root span) is
//     --traces, the plain edges between services sum to --rpc-pairs and the
//     database edges to --db-calls, each within 1 % (spans sent at the start
//     of the fill with a spread near 7 days fall out of the window as the
//     clock moves on);
//   - sg_1h: the user -> frontend edge is (--traces - --recent-traces) *
//     3600 / --spread + --recent-traces within 25 % (the spread is uniform;
//     the recent ones were sent with no spread, after the fill, so that
//     every series has an event in the last 15 minutes as a live system's
//     would);
//   - gm_*_sum: non-empty; for request_total the rates times the window's
//     seconds give the service graph's total of the same window within 10 %;
//     failed below 10 % of the total and above 0; sums and buckets above 0;
//   - gm_*_grp: one series per edge of the service graph (request_total,
//     _sum, _bucket), at least one for failed_total, every value 1;
//   - tab_*_topk: 5 span names, rates above 0; tab_*_p90: one finite value
//     in (0, 16.384] seconds;
//   - tqlm_1h: a series per service (6), and the rates summed over series
//     and steps times the step give the spans of the last hour (the service
//     graph's 1 h user edge times 10 spans a trace) within 25 %.  A 404, or
//     a 400/501 answer that says it is not supported, is "not built".
//
// Output: key=value lines in --out (NAME_p50_ms, NAME_max_ms, NAME_cold_ms,
// NAME_status, NAME_check = ok | WRONG: why | not built: why).
// Exits 1 when a check failed.

import http from 'node:http';
import { writeFileSync } from 'node:fs';
import { performance } from 'node:perf_hooks';

const opt = {
	host: '127.0.0.1', port: 0, out: null, reps: 20, metricsReps: 5, traces: 0, rpcPairs: 0,
	dbCalls: 0, spread: 604800, recentTraces: 0, timeout: 900,
};
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
	if (!(k in opt)) throw new Error(`svcgraph_queries: unknown option ${process.argv[i]}`);
	opt[k] = typeof opt[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
if (!opt.port || !opt.out || !opt.traces)
	throw new Error('svcgraph_queries: --port, --out and --traces are required');

const results = [];
const put = (k, v) => { results.push(`${k}=${v}`); writeFileSync(opt.out, results.join('\n') + '\n'); };
const log = (...a) => console.error('svcgraph_queries:', ...a);
const watchdog = setTimeout(() => { log(`gave up after ${opt.timeout} s`); process.exit(1); },
	opt.timeout * 1000);
watchdog.unref();

const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
const PER_REQUEST_TIMEOUT_MS = 120000;

// One request; resolves { status, body, ms } (ms: write to last byte).
function request(method, path, form) {
	return new Promise((resolve, reject) => {
		const body = form ? new URLSearchParams(form).toString() : null;
		const headers = body ? { 'content-type': 'application/x-www-form-urlencoded',
			'content-length': Buffer.byteLength(body) } : {};
		const t0 = performance.now();
		const req = http.request({ host: opt.host, port: opt.port, method, path, agent, headers },
			(res) => {
				const chunks = [];
				res.on('data', (c) => chunks.push(c));
				res.on('end', () => resolve({ status: res.statusCode,
					ms: performance.now() - t0, body: Buffer.concat(chunks).toString('utf8') }));
				res.on('error', reject);
			});
		req.setTimeout(PER_REQUEST_TIMEOUT_MS, () => req.destroy(new Error('timed out')));
		req.on('error', reject);
		req.end(body ?? undefined);
	});
}

const nowS = () => Date.now() / 1000;
const pct = (v, p) => { const s = [...v].sort((a, b) => a - b); return s[Math.max(0, Math.ceil(p / 100 * s.length) - 1)]; };
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');
let failed = 0;

// Time make() (-> [method, path, form]) reps times after a warm-up; check the
// last answer with check(json, answer) -> null (right) or why it is wrong.
async function timed(name, make, check, reps = opt.reps, notBuilt = null) {
	const times = [];
	let last;
	for (let i = 0; i <= reps; i++) {
		const [method, path, form] = make();
		let a;
		try {
			a = await request(method, path, form);
		} catch (e) {
			put(`${name}_check`, `WRONG: ${e.message}`);
			failed++;
			return null;
		}
		if (i === 0) {
			put(`${name}_cold_ms`, f2(a.ms));
			if (notBuilt) {
				const why = notBuilt(a);
				if (why) { put(`${name}_check`, `not built: ${why}`); return null; }
			}
		} else {
			times.push(a.ms);
		}
		if (a.status !== 200) {
			put(`${name}_status`, a.status);
			put(`${name}_check`, `WRONG: HTTP ${a.status}: ${a.body.slice(0, 200).replace(/\s+/g, ' ')}`);
			failed++;
			return null;
		}
		last = a;
	}
	put(`${name}_n`, times.length);
	put(`${name}_p50_ms`, f2(pct(times, 50)));
	put(`${name}_max_ms`, f2(Math.max(...times)));
	put(`${name}_status`, 200);
	let json, why;
	try {
		json = JSON.parse(last.body);
		why = check(json, last);
	} catch (e) {
		why = `answer not understood: ${e.message}`;
	}
	put(`${name}_check`, why ? `WRONG: ${why}` : 'ok');
	if (why) { failed++; log(`${name}: ${why}`); }
	return why ? null : json;
}

const near = (got, want, tol) => Math.abs(got - want) <= tol * want;
const describe = (got, want, tol) => `${got} where ${Math.round(want)} ± ${tol * 100} % was expected`;

// --- the service graph --------------------------------------------------------------

const SERVICES = ['frontend', 'cart', 'checkout', 'payment', 'catalog', 'db'];
const graphs = {};
function edgesOf(g) {
	let user = 0, rpc = 0, db = 0, failedN = 0;
	const pairs = new Set(g.edges.map((e) => `${e.client}\n${e.server}`));
	for (const e of g.edges) {
		if (e.client === 'user' && e.server === 'frontend') user += e.requests;
		else if (e.connectionType === '' && SERVICES.includes(e.client) && SERVICES.includes(e.server))
			rpc += e.requests;
		else if (e.connectionType === 'database') db += e.requests;
		failedN += e.failed;
	}
	return { user, rpc, db, failed: failedN, edges: g.edges.length, pairs: pairs.size };
}

for (const [w, secs] of [['1h', 3600], ['7d', 604800]]) {
	await timed(`sg_${w}`, () => {
		const end = nowS();
		return ['GET', `/api/service-graph?start=${(end - secs).toFixed(3)}&end=${end.toFixed(3)}`];
	}, (g) => {
		if (!Array.isArray(g.edges) || !Array.isArray(g.nodes)) return 'no nodes or edges array';
		const e = edgesOf(g);
		graphs[w] = { ...e, secs };
		put(`sg_${w}_edges`, e.edges);
		put(`sg_${w}_nodes`, g.nodes.length);
		put(`sg_${w}_user_edge`, e.user);
		put(`sg_${w}_rpc_edges`, e.rpc);
		put(`sg_${w}_db_edges`, e.db);
		put(`sg_${w}_failed`, e.failed);
		if (w === '7d') {
			if (!near(e.user, opt.traces, 0.01)) return `user -> frontend ${describe(e.user, opt.traces, 0.01)} (one per trace)`;
			if (!near(e.rpc, opt.rpcPairs, 0.01)) return `client/server edges ${describe(e.rpc, opt.rpcPairs, 0.01)}`;
			if (!near(e.db, opt.dbCalls, 0.01)) return `database edges ${describe(e.db, opt.dbCalls, 0.01)}`;
		} else {
			const want = (opt.traces - opt.recentTraces) * Math.min(1, secs / opt.spread) +
				opt.recentTraces;
			if (!near(e.user, want, 0.25)) return `user -> frontend ${describe(e.user, want, 0.25)}`;
		}
		if (e.failed <= 0) return 'no failed requests, where 2 % of traces have an error';
		return null;
	});
}

// --- Grafana's service map and service table -------------------------------------------

const MAP_METRICS = [
	['total', 'traces_service_graph_request_total'],
	['failed', 'traces_service_graph_request_failed_total'],
	['ssum', 'traces_service_graph_request_server_seconds_sum'],
	['bucket', 'traces_service_graph_request_server_seconds_bucket'],
];
const instant = (query) => () => ['POST', '/api/v1/query', { query, time: nowS().toFixed(3) }];
const vec = (j) => {
	if (j.status !== 'success' || j.data?.resultType !== 'vector') throw new Error('not a success vector');
	return j.data.result.map((r) => ({ metric: r.metric, v: Number(r.value[1]) }));
};
const regexEscape = (s) => s.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

for (const [w, secs] of [['1h', 3600], ['7d', 604800]]) {
	const g = graphs[w];
	let totalRate = null;
	for (const [short, metric] of MAP_METRICS) {
		await timed(`gm_${w}_${short}_sum`, instant(`sum by (client, server) (rate(${metric}[${w}]))`), (j) => {
			const r = vec(j);
			const sum = r.reduce((a, x) => a + x.v, 0);
			put(`gm_${w}_${short}_sum_series`, r.length);
			if (r.length === 0) return 'empty';
			if (!(sum > 0)) return `rates sum to ${sum}`;
			if (short === 'total') {
				totalRate = sum;
				const want = g ? g.user + g.rpc + g.db : null;
				put(`gm_${w}_total_times_range`, Math.round(sum * secs));
				if (want && !near(sum * secs, want, 0.1))
					return `rate x ${secs} s = ${describe(Math.round(sum * secs), want, 0.1)} (the service graph's edges)`;
				if (g && r.length !== g.pairs) return `${r.length} series for ${g.pairs} client/server pairs`;
			}
			if (short === 'failed' && totalRate !== null && !(sum < 0.1 * totalRate))
				return `failed rate ${sum} is not below 10 % of the request rate ${totalRate}`;
			return null;
		});
		await timed(`gm_${w}_${short}_grp`, instant(`group by (client, connection_type, server) (${metric})`), (j) => {
			const r = vec(j);
			put(`gm_${w}_${short}_grp_series`, r.length);
			if (r.length === 0) return 'empty';
			if (r.some((x) => x.v !== 1)) return 'a value other than 1';
			// the instant selector sees series with an event in the last 15 minutes
			if (short !== 'failed' && g && r.length !== graphs['7d']?.edges)
				return `${r.length} series where the service graph has ${graphs['7d']?.edges} edges`;
			return null;
		});
	}
	let top = null;
	await timed(`tab_${w}_topk`, instant(`topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[${w}])) by (span_name))`), (j) => {
		const r = vec(j);
		put(`tab_${w}_topk_series`, r.length);
		if (r.length !== 5) return `${r.length} span names, not 5`;
		if (r.some((x) => !(x.v > 0) || !x.metric.span_name)) return 'a rate not above 0 or no span_name';
		top = r.sort((a, b) => b.v - a.v)[0].metric.span_name;
		put(`tab_${w}_top_name`, top);
		return null;
	});
	if (top === null) top = 'POST /api/checkout';
	await timed(`tab_${w}_p90`, instant(`histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_name=~"${regexEscape(top).replace(/\\/g, '\\\\')}"}[${w}])) by (le))`), (j) => {
		const r = vec(j);
		if (r.length !== 1) return `${r.length} series, not 1`;
		put(`tab_${w}_p90_seconds`, r[0].v);
		if (!(r[0].v > 0 && r[0].v <= 16.384)) return `p90 ${r[0].v} s is outside (0, 16.384]`;
		return null;
	});
}

// --- TraceQL metrics ------------------------------------------------------------------

{
	const q = '{ } | rate() by (resource.service.name)';
	const step = 60;
	await timed('tqlm_1h', () => {
		const end = nowS();
		const p = new URLSearchParams({ q, start: Math.floor(end - 3600), end: Math.floor(end), step: `${step}s` });
		return ['GET', `/api/metrics/query_range?${p}`];
	}, (j) => {
		const series = j.series;
		if (!Array.isArray(series)) return 'no series array';
		put('tqlm_1h_series', series.length);
		let total = 0;
		for (const s of series)
			for (const x of s.samples ?? []) total += Number(x.value ?? 0) * step;
		put('tqlm_1h_spans', Math.round(total));
		if (series.length !== SERVICES.length) return `${series.length} series, not ${SERVICES.length} (one per service)`;
		const want = graphs['1h'] ? graphs['1h'].user * 10 : null;
		if (want && !near(total, want, 0.25)) return `rates x step = ${describe(Math.round(total), want, 0.25)} spans`;
		return null;
	}, opt.metricsReps, (a) => {
		if (a.status === 404) return `HTTP 404: ${a.body.slice(0, 120).trim()}`;
		if ((a.status === 400 || a.status === 501) && /not (yet )?(supported|implemented|built)/i.test(a.body))
			return `HTTP ${a.status}: ${a.body.slice(0, 160).replace(/\s+/g, ' ')}`;
		return null;
	});
}

agent.destroy();
put('checks_failed', failed);
process.exit(failed ? 1 : 0);
