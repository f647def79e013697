// sgqueries.mjs - the PromQL Grafana's Tempo data source sends for its
// service map and its service table (public/app/plugins/datasource/tempo/
// datasource.ts: makePromServiceMapRequest, rateMetric, errorRateMetric,
// durationMetric, getEscapedRegexValues), word for word with $__range
// replaced, each with the answer the model gives over the series'
// contract samples (sgmodel.mjs).
//
//   for (const c of serviceMapCases(series, T, { ignore })) diffVector(c.expr, await promQuery(srv, c.expr, T), c.exp, c.opts)

import { sumRateBy, groupBy, topk, histQuantileOfRates } from './sgmodel.mjs';

export const SG_METRICS = ['traces_service_graph_request_server_seconds_sum', 'traces_service_graph_request_total',
	'traces_service_graph_request_failed_total', 'traces_service_graph_request_server_seconds_bucket'];

const HOUR = 3600000;
const byName = (list, name) => list.filter((s) => s.labels.__name__ === name);
const union = (...maps) => {
	const out = new Map();
	for (const m of maps) for (const [k, v] of m) if (!out.has(k)) out.set(k, v);
	return out;
};

// Grafana's escaping of a span name for span_name=~"..." (getEscapedValues, then getEscapedRegexValues).
export const grafanaEscape = (v) => v.replace(/["\\]/g, '\\$&').replace(/[$^*{}[\]'+?.()|]/g, '\\\\$&');

// The service map: for each metric, `sum by (client, server) (rate(M[R]))`
// and `group by (client, connection_type, server) (M)`, unfiltered (1h and
// 3600s) and with two filters joined by " OR " as Grafana joins them.
// ignore(labels) leaves series out of the comparison; a failed_total series
// at 0 (an edge that never failed) is let through, as it changes nothing
// Grafana shows (Tempo has none).
export function serviceMapCases(series, T, { ignore = () => false } = {}) {
	const cases = [];
	for (const metric of SG_METRICS) {
		const all = byName(series, metric);
		const failed = metric.includes('failed');
		const sumOpts = { ignore, allowExtra: (l, v) => failed && v === 0 };
		const grpOpts = { ignore, allowExtra: () => failed };
		for (const R of ['1h', '3600s']) {
			cases.push({
				expr: `sum by (client, server) (rate(${metric}[$__range]))`.replace('$__range', R),
				exp: sumRateBy(all, ['client', 'server'], T, HOUR), opts: sumOpts,
			});
		}
		cases.push({
			expr: `group by (client, connection_type, server) (${metric})`,
			exp: groupBy(all, ['client', 'connection_type', 'server'], T), opts: grpOpts,
		});
		const qs = ['{ client="frontend" }', '{server="pg-main"}'];
		const preds = [(l) => l.client === 'frontend', (l) => l.server === 'pg-main'];
		cases.push({
			expr: qs.map((q) => `sum by (client, server) (rate(${metric}${q}[$__range]))`).join(' OR ').replaceAll('$__range', '1h'),
			exp: union(...preds.map((p) => sumRateBy(all.filter((s) => p(s.labels)), ['client', 'server'], T, HOUR))),
			opts: sumOpts,
		});
		cases.push({
			expr: qs.map((q) => `group by (client, connection_type, server) (${metric}${q})`).join(' OR '),
			exp: union(...preds.map((p) => groupBy(all.filter((s) => p(s.labels)), ['client', 'connection_type', 'server'], T))),
			opts: grpOpts,
		});
	}
	return cases;
}

// The service table: the top 5 server span names by rate, their error
// rates, and the p90 of each.  -> {cases, names, serverNames}
export function serviceTableCases(series, T) {
	const calls = byName(series, 'traces_spanmetrics_calls_total');
	const serverRates = sumRateBy(calls.filter((s) => s.labels.span_kind === 'SPAN_KIND_SERVER'), ['span_name'], T, HOUR);
	const rateExp = topk(5, serverRates);
	const cases = [{
		expr: 'topk(5, sum(rate(traces_spanmetrics_calls_total{span_kind="SPAN_KIND_SERVER"}[$__range])) by (span_name))'.replace('$__range', '1h'),
		exp: rateExp, opts: {},
	}];
	const names = [...rateExp.values()].map((x) => x.labels.span_name).sort();
	const escaped = names.map(grafanaEscape);
	cases.push({
		expr: `topk(5, sum(rate(traces_spanmetrics_calls_total{status_code="STATUS_CODE_ERROR",span_name=~"${escaped.join('|')}"}[$__range])) by (span_name))`
			.replace('$__range', '1h'),
		exp: topk(5, sumRateBy(calls.filter((s) => s.labels.status_code === 'STATUS_CODE_ERROR' && names.includes(s.labels.span_name)),
			['span_name'], T, HOUR)),
		opts: {},
	});
	const buckets = byName(series, 'traces_spanmetrics_latency_bucket');
	names.forEach((name, i) => {
		const v = histQuantileOfRates(0.9, buckets.filter((s) => s.labels.span_name === name), T, HOUR);
		cases.push({
			expr: `histogram_quantile(.9, sum(rate(traces_spanmetrics_latency_bucket{span_name=~"${escaped[i]}"}[$__range])) by (le))`
				.replace('$__range', '3600s'),
			exp: new Map([['', { labels: {}, value: v }]]), opts: {},
		});
	});
	return { cases, names, escaped, serverNames: serverRates.size };
}

// rate over 7 days, as the docs' queries and a long dashboard range ask it,
// with the samples at `grain`.
export function sevenDayCase(series, T, grain) {
	const tot = byName(series, 'traces_service_graph_request_total');
	return {
		expr: 'sum by (client, server) (rate(traces_service_graph_request_total[7d]))',
		exp: sumRateBy(tot, ['client', 'server'], T, 7 * 24 * HOUR, { grain }), opts: {},
	};
}
