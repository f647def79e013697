// The Metrics view (`:metrics`, Tab): the browser of metric names, filtered
// as you type; Enter charts a metric (a counter as rate(), a histogram's
// buckets as p50/p90/p99); a label filter; `:promql EXPR`; the cursor;
// zoom; 80x24.  The metrics are sent by the test over OTLP/HTTP JSON to
// the UI's own receiver, 30 points 15 s apart ending now, with values
// whose rates and quantiles are known:
//
//   http.server.requests  counter, route=/cart +30 a point (2/s), route=/pay +60 (4/s)
//   process.memory.usage  gauge in bytes, 40-60 MB
//   http.server.duration  histogram in s, bounds 0.1 0.5 1: of every 10 requests 5 are
//                         <= 0.1, 3 in (0.1, 0.5], 2 in (0.5, 1]: p50 100ms, p90 750ms, p99 975ms

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux, startUi } from './lib/tmux.mjs';
import { post } from '../integration/lib/obstui.mjs';
import { startLoaded, openTrace } from './lib/ui.mjs';
import { TID } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';
const lines = (s) => s.split('\n');
const N = 30;

function metricsBody(now, exemplars = {}) {
	const ts = (i) => String((now - (N - 1 - i) * 15000) * 1e6);
	const start = String((now - N * 15000) * 1e6);
	const pts = (f, attrs = []) => Array.from({ length: N }, (_, i) => ({ timeUnixNano: ts(i), asDouble: f(i), attributes: attrs }));
	const route = (r) => [{ key: 'route', value: { stringValue: r } }];
	const hist = Array.from({ length: N }, (_, i) => ({
		startTimeUnixNano: start, timeUnixNano: ts(i), count: String(10 * i), sum: 3 * i,
		explicitBounds: [0.1, 0.5, 1], bucketCounts: [String(5 * i), String(3 * i), String(2 * i), '0'],
		...(exemplars[i] ? { exemplars: [{ timeUnixNano: ts(i), ...exemplars[i] }] } : {}),
	}));
	return { resourceMetrics: [{
		resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
		scopeMetrics: [{ metrics: [
			{ name: 'http.server.requests', unit: '1', description: 'Requests served.',
				sum: { aggregationTemporality: 2, isMonotonic: true,
					dataPoints: [...pts((i) => i * 30, route('/cart')), ...pts((i) => i * 60, route('/pay'))] } },
			{ name: 'process.memory.usage', unit: 'By', description: 'Resident memory.',
				gauge: { dataPoints: pts((i) => 1e6 * (50 + 10 * Math.sin(i / 3))) } },
			{ name: 'http.server.duration', unit: 's', description: 'Request latency.',
				histogram: { aggregationTemporality: 2, dataPoints: hist } },
		] }],
	}] };
}

async function command(ui, text) {
	await ui.keys(':');
	await ui.type(text);
	await ui.keys('Enter');
}

// obstui writes its metric head into a block as it closes: each test ends by
// letting it finish (exit status 0) before the store is removed, which
// tmux's kill-server alone would not wait for
async function quit(ui) {
	ui.signal('SIGTERM');
	assert.equal(await ui.waitExit(20000), 0);
}

// Enter on the metric picked in the browser: its series list; Enter on its
// first row charts them all
async function chartAll(ui) {
	await ui.keys('Enter');
	await ui.waitText(/^ obstui Series /);
	await ui.waitText(/^ all \d+ series, charted together/m);
	await ui.keys('Enter');
}

async function startWithMetrics(t, opts = {}) {
	const ui = await startUi({ t, ...opts });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	const r = await post(`${ui.otlp}/v1/metrics`, Buffer.from(JSON.stringify(metricsBody(Date.now()))),
		{ 'content-type': 'application/json' }, { timeout: 10000 });
	assert.equal(r.status, 200, r.body.toString());
	return ui;
}

// the rows of the series list under a chart: "■ VALUE  LABELS"
const seriesRows = (s) => lines(s).filter((l) => /^ [■#] /.test(l)).map((l) => l.slice(3).trim().split(/\s{2,}/));
// the time axis labels (HH:MM) of a chart, in minutes since midnight
const axisMinutes = (s) => {
	const row = lines(s).find((l) => /^\s+\d\d:\d\d(\s+\d\d:\d\d)+\s*$/.test(l));
	if (!row) return [];
	// minutes of the day, unwrapped across midnight so that later labels stay larger
	let day = 0;
	let last = -1;
	return [...row.matchAll(/(\d\d):(\d\d)/g)].map((m) => {
		const v = Number(m[1]) * 60 + Number(m[2]);
		if (v < last) day += 1440;
		last = v;
		return v + day;
	});
};

test('browse: every metric with type, unit, series and help; typing filters; Enter charts a gauge in bytes', { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await command(ui, 'metrics');
	let s = await ui.waitText(/^ obstui Metrics {2}5 of 5 metrics/);
	const row = (name) => lines(s).find((l) => l.startsWith(` ${name} `));
	assert.match(row('http_server_requests_total') ?? '', /counter\s+2\s+Requests served\./, s);
	assert.match(row('process_memory_usage_bytes') ?? '', /gauge\s+bytes\s+1\s+Resident memory\./, s);
	assert.match(row('http_server_duration_seconds_bucket') ?? '', /histogram\s+seconds\s+4\s+Request latency\./, s);
	assert.match(row('http_server_duration_seconds_count') ?? '', /histogram\s+seconds\s+1 /, s);
	// typed letters filter the names, in any case
	await ui.type('MEMORY');
	s = await ui.waitText(/^ obstui Metrics {2}1 of 5 metrics/);
	assert.match(s, /filter: MEMORY/);
	assert.ok(!s.includes('http_server'), s);
	await ui.keys('BSpace', 'BSpace', 'BSpace', 'BSpace', 'BSpace', 'BSpace');
	await ui.waitText(/^ obstui Metrics {2}5 of 5 metrics/);
	await ui.type('memory');
	await chartAll(ui);
	s = await ui.waitText(/^ obstui Chart {2}process_memory_usage_bytes {2}1 series/);
	s = await ui.waitScreen('the chart drawn', (x) => seriesRows(x).length === 1);
	// y labels in MiB (40-60 MB is 38-57 MiB), braille dots, the time axis
	assert.ok(lines(s).some((l) => /^\s*\d+MiB┤/.test(l)), s);
	assert.ok(/[\u2801-\u28ff]/.test(s), s);
	assert.ok(axisMinutes(s).length >= 3, s);
	const [[val, labels]] = seriesRows(s);
	assert.equal(labels, 'process_memory_usage_bytes{job="shop"}');
	assert.match(val, /^\d+(\.\d+)?MiB$/);
	// Esc goes back to the list as it was
	await ui.keys('Escape');
	await ui.waitText(/^ obstui Series {2}process_memory_usage_bytes {2}1 series {2}gauge/);
	await ui.keys('Escape');
	await ui.waitText(/^ obstui Metrics {2}1 of 5 metrics/);
	await quit(ui);
});

test('a counter is charted as rate() and says so; a label filter; the cursor reads values', { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await command(ui, 'metrics');
	await ui.waitText(/5 of 5 metrics/);
	await ui.type('requests');
	await chartAll(ui);
	let s = await ui.waitText(/^ obstui Chart {2}http_server_requests_total {2}2 series/);
	s = await ui.waitScreen('two series', (x) => seriesRows(x).length === 2);
	assert.match(lines(s)[1], /^ rate\(http_server_requests_total\[\d+s\]\) {2}\(rate\(\) per second of a counter, over \d+s\)/);
	// rate() drops the name, as in Prometheus
	assert.deepEqual(seriesRows(s), [['2/s', '{job="shop", route="/cart"}'], ['4/s', '{job="shop", route="/pay"}']]);
	assert.ok(lines(s).some((l) => /^\s*4\/s┤/.test(l)), s);
	// '/' a label filter in selector syntax
	await ui.keys('/');
	await ui.type('{route="/pay"}');
	await ui.waitText(/labels: \{route="\/pay"\}_/);
	await ui.keys('Enter');
	s = await ui.waitText(/rate\(http_server_requests_total\{route="\/pay"\}\[/);
	s = await ui.waitScreen('one series', (x) => seriesRows(x).length === 1);
	assert.deepEqual(seriesRows(s), [['4/s', '{job="shop", route="/pay"}']]);
	// the cursor: Left puts it at the right edge (now), then moves back
	await ui.keys('Left', 'Left');
	s = await ui.waitText(/ cursor at \d\d:\d\d:\d\d/);
	assert.deepEqual(seriesRows(s), [['4/s', '{job="shop", route="/pay"}']]);
	// far to the left, before the first sample: no value
	for (let i = 0; i < 8; i++)
		await ui.keys('Left', 'Left', 'Left', 'Left', 'Left', 'Left', 'Left', 'Left', 'Left', 'Left');
	s = await ui.waitScreen('no value at the cursor', (x) => seriesRows(x)[0]?.[0] === '-');
	await quit(ui);
});

test('a histogram: p50, p90 and p99 lines from its buckets', { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await command(ui, 'metrics');
	await ui.waitText(/5 of 5 metrics/);
	await ui.type('bucket');
	await chartAll(ui);
	let s = await ui.waitText(/^ obstui Chart {2}http_server_duration_seconds_bucket {2}3 series/);
	s = await ui.waitScreen('three quantiles', (x) => seriesRows(x).length === 3);
	assert.match(lines(s)[1], /p50\/p90\/p99 of a histogram/);
	assert.deepEqual(seriesRows(s), [['100ms', '{q="p50"}'], ['750ms', '{q="p90"}'], ['975ms', '{q="p99"}']]);
	assert.ok(lines(s).some((l) => /^\s*1\.0s┤/.test(l)), s);
	// H: the buckets as a heatmap above the quantile lines; of every 10 requests
	// 5 are in the first bucket (the darkest), 3 and 2 in the next, none above 1 s
	await ui.keys('H');
	s = await ui.waitText(/\(buckets and p50\/p90\/p99 of a histogram, rate over \d+s\)/);
	s = await ui.waitScreen('the heatmap', (x) => lines(x).some((l) => /^\s*100ms┤.*█/.test(l)));
	const band = (label) => lines(s).find((l) => new RegExp(`^\\s*${label}┤`).test(l)) ?? '';
	assert.match(band('100ms'), /█+$/, s);
	assert.match(band('500ms'), /▒+$/, s);
	assert.match(band('1s'), /▒+$/, s);
	assert.doesNotMatch(band('\\+Inf'), /[░▒▓█]/, s);
	assert.deepEqual(seriesRows(s), [['100ms', '{q="p50"}'], ['750ms', '{q="p90"}'], ['975ms', '{q="p99"}']]);
	await quit(ui);
});

test(':promql charts an expression; a bad one says why; + zooms the time axis', { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await command(ui, 'promql sum(rate(http_server_requests_total[1m]))');
	let s = await ui.waitText(/^ obstui Chart {2}promql {2}1 series/);
	s = await ui.waitScreen('the sum', (x) => seriesRows(x).length === 1);
	assert.deepEqual(seriesRows(s), [['6', '{}']]);
	assert.equal(lines(s)[1].trim(), 'sum(rate(http_server_requests_total[1m]))');
	// zoom: the window halves, so the labels come closer in time
	const before = axisMinutes(s);
	await ui.keys('+', '+');
	s = await ui.waitText(/ zoomed/);
	s = await ui.waitScreen('a narrower time axis', (x) => {
		const m = axisMinutes(x);
		return m.length >= 2 && m.at(-1) - m[0] < before.at(-1) - before[0];
	});
	assert.deepEqual(seriesRows(s), [['6', '{}']]);
	await ui.keys('Escape');
	await command(ui, 'promql sum(rate(nope[1m]');
	s = await ui.waitText(/parse error/);
	await ui.keys('Escape');
	await command(ui, 'promql');
	await ui.waitText(/usage: :promql EXPR/);
	await quit(ui);
});

test('Tab: traces → services → metrics; the chart at 80x24', { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await ui.keys('Tab');
	await ui.waitText(/^ obstui Services /);
	await ui.keys('Tab');
	await ui.waitText(/^ obstui Metrics {2}5 of 5 metrics/);
	await ui.type('requests');
	await chartAll(ui);
	await ui.waitScreen('two series', (x) => seriesRows(x).length === 2);
	ui.resize(80, 24);
	const s = await ui.waitScreen('redrawn at 80 columns', (x) => {
		const ls = lines(x);
		return ls.length === 24 && ls.some((l) => /^\s*4\/s┤/.test(l) && [...l].length <= 80) &&
			axisMinutes(x).length >= 2 && seriesRows(x).length === 2;
	});
	assert.ok(lines(s).every((l) => [...l].length <= 80), s);
	await quit(ui);
});

test('LANG=C: the chart in ASCII (no braille, no box drawing), every label readable', { skip }, async (t) => {
	const ui = await startWithMetrics(t, { env: { LANG: 'C' } });
	await command(ui, 'metrics');
	await ui.waitText(/5 of 5 metrics/);
	await ui.type('requests');
	await chartAll(ui);
	const s = await ui.waitScreen('two series', (x) => seriesRows(x).length === 2);
	assert.ok(/^[\x20-\x7e\n]*$/.test(s), s);
	assert.ok(lines(s).some((l) => /^\s*4\/s\+/.test(l)), s);
	assert.ok(lines(s).some((l) => /^\s+\|[ .:']*[.:'][ .:']*$/.test(l)), s);
	assert.ok(axisMinutes(s).length >= 3, s);
	assert.deepEqual(seriesRows(s), [['2/s', '{job="shop", route="/cart"}'], ['4/s', '{job="shop", route="/pay"}']]);
	await quit(ui);
});

test("the demo shop: 'm' on a service in the Services view shows its RED charts", { skip }, async (t) => {
	const ui = await startUi({ command: 'demo', cols: 160, rows: 48, t,
		args: ['--seed', '21', '--rate', '20', '--seal-idle', '1s'] });
	await ui.waitText(/^ obstui Traces /, { timeout: 10000 });
	await ui.keys('Tab');
	await ui.waitText(/^ obstui Services {2}7 services/, { timeout: 15000 });
	// walk the selection to frontend (the info row above the status line names it)
	const info = () => lines(ui.capture()).at(-2);
	for (let i = 0; i < 40 && !/^ frontend /.test(info()); i++)
		await ui.keys(i % 8 === 7 ? 'l' : 'j');
	assert.match(info(), /^ frontend /);
	await ui.keys('m');
	await ui.waitText(/^ obstui RED {2}frontend {2}rate, errors, duration/);
	const s = await ui.waitScreen('requests, errors and three quantiles with values', (x) =>
		/^ Requests {2}■ \d+(\.\d+)?\/s/m.test(x) && /^ Errors {2}■ \d+(\.\d+)?\/s/m.test(x) &&
		/^ Duration {2}■ \d+(\.\d+)?(ms|s|µs) \{q="p50"\} {2}■ \S+ \{q="p90"\} {2}■ \S+ \{q="p99"\}/m.test(x),
	{ timeout: 15000 });
	assert.ok(/[\u2801-\u28ff]/.test(s), s);
	await ui.keys('Escape');
	await ui.waitText(/^ obstui Services /);
	// the rollups' series in the metric list, counted per name as their listing counts them
	await command(ui, 'metrics');
	await ui.waitText(/^ obstui Metrics {2}\d+ of \d+ metrics/);
	await ui.type('spanmetrics_calls');
	const m = await ui.waitScreen('the span metrics row', (x) => /traces_spanmetrics_calls_total\s+counter\s+\d+ /.test(x));
	const listed = Number(/traces_spanmetrics_calls_total\s+counter\s+(\d+) /.exec(m)[1]);
	assert.ok(listed > 0, m);
	await ui.keys('Enter');
	const all = await ui.waitText(/^ all \d+ series, charted together/m);
	assert.equal(Number(/^ all (\d+) series/m.exec(all)[1]), listed, all);
	await quit(ui);
});

test('exemplars: marked on the chart, x selects one, Enter opens its trace', { skip }, async (t) => {
	const ui = await startLoaded(t);
	const ex = {
		[N - 10]: { asDouble: 0.05, traceId: TID.CHECKOUT, spanId: '0000000000000001' },
		[N - 3]: { asDouble: 0.3, traceId: TID.ERROR, spanId: '0000000000000002' },
	};
	const r = await post(`${ui.otlp}/v1/metrics`, Buffer.from(JSON.stringify(metricsBody(Date.now(), ex))),
		{ 'content-type': 'application/json' }, { timeout: 10000 });
	assert.equal(r.status, 200, r.body.toString());
	await command(ui, 'metrics');
	await ui.waitText(/ of \d+ metrics/);
	await ui.type('http_server_duration_seconds_bucket');
	await ui.waitText(/ 1 of \d+ metrics/);
	await chartAll(ui);
	let s = await ui.waitText(/ 2 exemplars: x selects one/);
	const marks = lines(s).slice(2, 24).join('').match(/◆/g) ?? [];
	assert.equal(marks.length, 2, s);
	await ui.keys('x');
	s = await ui.waitText(/ exemplar 1\/2 at \d\d:\d\d:\d\d {2}value 50ms {2}trace 1c0c0000000000000000000000000001 {2}\(Enter opens it\)/);
	await ui.keys('x');
	s = await ui.waitText(/ exemplar 2\/2 at \d\d:\d\d:\d\d {2}value 300ms {2}trace 2e0e0000000000000000000000000002 /);
	await ui.keys('Enter');
	await ui.waitText(`Trace  ${TID.ERROR}  80.0ms  4 spans`);
	// Esc: back on the chart, the exemplar still selected
	await ui.keys('Escape');
	await ui.waitText(/ exemplar 2\/2 /);
	await quit(ui);
});

test('pan back and to live again; stacked; block glyphs; NO_COLOR: no colour, the same chart', { skip }, async (t) => {
	const ui = await startWithMetrics(t, { env: { NO_COLOR: '1' } });
	await command(ui, 'promql sum by (route) (rate(http_server_requests_total[1m]))');
	let s = await ui.waitScreen('two routes', (x) => seriesRows(x).length === 2);
	const coloured = (cells) => cells.flat().filter((c) => c.fg !== null || c.bg !== null);
	assert.deepEqual(coloured(ui.cells()).slice(0, 3), [], 'no cell has a colour');
	assert.ok(/[\u2801-\u28ff]/.test(s), s);
	// zoomed to 7.5 minutes (the samples cover the last 7.25), then '<': half a
	// window back, no longer live; the axis ends earlier
	await ui.keys('+', '+', '+');
	s = await ui.waitScreen('zoomed in', (x) => / zoomed/.test(x) && seriesRows(x).length === 2 &&
		axisMinutes(x).length >= 2 && axisMinutes(x).at(-1) - axisMinutes(x)[0] <= 8);
	const live = axisMinutes(s);
	await ui.keys('<');
	s = await ui.waitText(/ \(not live\)/);
	s = await ui.waitScreen('an earlier axis', (x) => {
		const m = axisMinutes(x);
		return m.length >= 2 && m.at(-1) < live.at(-1);
	});
	// '>': forward again, which is now: live
	await ui.keys('>');
	await ui.waitGone(/ \(not live\)/);
	await ui.waitText(/ zoomed/);
	// '0': the whole window again
	await ui.keys('0');
	s = await ui.waitGone(/ zoomed/);
	// stacked: /pay (4/s) drawn on top of /cart (2/s): the axis reaches 6 (a :promql chart has no unit)
	s = await ui.waitScreen('unstacked, up to 4', (x) => lines(x).some((l) => /^\s*4┤/.test(l)) && seriesRows(x).length === 2);
	assert.ok(!lines(s).some((l) => /^\s*[56]┤/.test(l)), s);
	await ui.keys('s');
	s = await ui.waitScreen("a stacked axis up to 6", (x) => lines(x).some((l) => /^\s*6┤/.test(l)));
	assert.deepEqual(seriesRows(s), [['2', '{route="/cart"}'], ['4', '{route="/pay"}']]);
	// b: block glyphs instead of braille
	await ui.keys('b');
	s = await ui.waitScreen('block glyphs', (x) => /[▀▄█]/.test(x) && !/[\u2801-\u28ff]/.test(x));
	await quit(ui);
});

test("the series list: every series' labels, a label filter, Enter on one charts it alone", { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await command(ui, 'metrics');
	await ui.waitText(/5 of 5 metrics/);
	await ui.type('requests');
	await ui.keys('Enter');
	let s = await ui.waitText(/^ obstui Series {2}http_server_requests_total {2}2 series {2}counter/);
	s = await ui.waitText(/^ all 2 series, charted together/m);
	const listed = lines(s).filter((l) => l.startsWith('   http_server')).map((l) => l.trim());
	assert.deepEqual(listed, ['http_server_requests_total{job="shop", route="/cart"}',
		'http_server_requests_total{job="shop", route="/pay"}']);
	// a label filter narrows the list
	await ui.keys('/');
	await ui.type('{route=~"/p.*"}');
	await ui.keys('Enter');
	s = await ui.waitText(/^ obstui Series {2}http_server_requests_total {2}1 series/);
	assert.match(s, /^ http_server_requests_total\{route=~"\/p\.\*"\}$/m);
	await ui.keys('/', 'C-u');
	for (let i = 0; i < 20; i++) await ui.keys('BSpace');
	await ui.keys('Enter');
	await ui.waitText(/^ obstui Series {2}http_server_requests_total {2}2 series/);
	// Enter on the first series: a chart of it alone, its labels as the filter
	await ui.keys('Down', 'Enter');
	s = await ui.waitText(/rate\(http_server_requests_total\{job="shop", route="\/cart"\}\[\d+s\]\)/);
	s = await ui.waitScreen('one series', (x) => seriesRows(x).length === 1);
	assert.deepEqual(seriesRows(s), [['2/s', '{job="shop", route="/cart"}']]);
	await quit(ui);
});

test('live: a sample sent while the chart is open shows up in it', { skip }, async (t) => {
	const ui = await startWithMetrics(t);
	await command(ui, 'metrics');
	await ui.waitText(/5 of 5 metrics/);
	await ui.type('memory');
	await chartAll(ui);
	let s = await ui.waitScreen('the gauge', (x) => seriesRows(x).length === 1);
	assert.notEqual(seriesRows(s)[0][0], '95.4MiB');
	const body = { resourceMetrics: [{
		resource: { attributes: [{ key: 'service.name', value: { stringValue: 'shop' } }] },
		scopeMetrics: [{ metrics: [{ name: 'process.memory.usage', unit: 'By', description: 'Resident memory.',
			gauge: { dataPoints: [{ timeUnixNano: String(Date.now() * 1e6), asDouble: 1e8 }] } }] }],
	}] };
	const r = await post(`${ui.otlp}/v1/metrics`, Buffer.from(JSON.stringify(body)), { 'content-type': 'application/json' }, { timeout: 10000 });
	assert.equal(r.status, 200);
	// 100 MB = 95.4 MiB: the last value, and the axis grows to take it in
	s = await ui.waitScreen('the new sample', (x) => seriesRows(x)[0]?.[0] === '95.4MiB');
	assert.ok(lines(s).some((l) => /^\s*100MiB┤/.test(l)), s);
	await quit(ui);
});

test("the Trace view: 'm' on a span shows its service's RED charts", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await command(ui, 'range 2025-03-14T09:26:40Z 2025-03-14T09:27:40Z');
	await ui.waitText(/ 5 traces {2}range /);
	await openTrace(ui, 'GET /checkout');
	await ui.keys('j', 'j');
	await ui.waitScreen('GET /cart selected', (x) => / cart +GET \/cart /.test(x));
	await ui.keys('m');
	const s = await ui.waitText(/^ obstui RED {2}cart {2}rate, errors, duration {2}range /);
	// the trace set's cart spans, from the rollups: a rate, no errors (0, not "no data"),
	// quantiles in ms
	const panels = await ui.waitScreen('the three panels', (x) => /^ Requests {2}■ \d+(\.\d+)?\/s/m.test(x) &&
		/^ Errors {2}■ 0\/s/m.test(x) &&
		/^ Duration {2}■ \d+(\.\d+)?ms \{q="p50"\} {2}■ \d+(\.\d+)?ms \{q="p90"\} {2}■ \d+(\.\d+)?ms \{q="p99"\}/m.test(x));
	assert.ok(/[\u2801-\u28ff]/.test(panels), panels);
	assert.match(s, / cart {2}rate, errors, duration/);
	await ui.keys('Escape');
	await ui.waitText(/^ obstui Trace {2}/);
	await quit(ui);
});

// An OTLP exponential histogram is stored as a native histogram: scale 0
// (bucket i holds (2^i, 2^(i+1)]), offset -4, so its buckets are (62.5ms,
// 125ms], (125ms, 250ms], (250ms, 500ms], (500ms, 1s]; of every 10 requests 5
// are in the first, none in the second, 3 in the third, 2 in the last.
function nativeBody(now) {
	const ts = (i) => String((now - (N - 1 - i) * 15000) * 1e6);
	const start = String((now - N * 15000) * 1e6);
	const dataPoints = Array.from({ length: N }, (_, i) => ({
		startTimeUnixNano: start, timeUnixNano: ts(i), count: String(10 * i), sum: 3 * i, scale: 0,
		zeroCount: '0', positive: { offset: -4, bucketCounts: [String(5 * i), '0', String(3 * i), String(2 * i)] },
	}));
	return { resourceMetrics: [{
		resource: { attributes: [{ key: 'service.name', value: { stringValue: 'rpc' } }] },
		scopeMetrics: [{ metrics: [
			{ name: 'rpc.server.duration', unit: 's', description: 'RPC latency.',
				exponentialHistogram: { aggregationTemporality: 2, dataPoints } },
		] }],
	}] };
}

test('a native histogram (OTLP exponential): p50/p90/p99 lines, H its buckets as a heatmap', { skip }, async (t) => {
	const ui = await startUi({ t });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	const r = await post(`${ui.otlp}/v1/metrics`, Buffer.from(JSON.stringify(nativeBody(Date.now()))),
		{ 'content-type': 'application/json' }, { timeout: 10000 });
	assert.equal(r.status, 200, r.body.toString());
	await command(ui, 'metrics');
	let s = await ui.waitText(/1 of 1 metric/);
	assert.match(lines(s).find((l) => l.includes('rpc_server_duration_seconds')) ?? '',
		/rpc_server_duration_seconds\s+histogram\s+seconds\s+1\s+RPC latency\./, s);
	await chartAll(ui);
	s = await ui.waitText(/^ obstui Chart {2}rpc_server_duration_seconds {2}3 series/);
	s = await ui.waitScreen('three quantiles', (x) => seriesRows(x).length === 3);
	assert.match(lines(s)[1], /rpc_server_duration_seconds.*\(p50\/p90\/p99 of a native histogram, rate over \d+s; H: heatmap\)/);
	const rows = seriesRows(s);
	assert.deepEqual(rows.map((x) => x[1]), ['{q="p50"}', '{q="p90"}', '{q="p99"}'], s);
	// p50 is the top of the first bucket; p90 and p99 fall in (500ms, 1s]
	assert.equal(rows[0][0], '125ms', s);
	for (const [v] of rows.slice(1)) {
		const ms = Number(v.replace(/ms$/, ''));
		assert.ok(v.endsWith('ms') && ms > 500 && ms < 1000, `${v}\n${s}`);
	}
	assert.ok(Number(rows[1][0].replace(/ms$/, '')) < Number(rows[2][0].replace(/ms$/, '')), s);
	// H: the buckets (the bounds holding counts, and +Inf) as a heatmap above the lines
	await ui.keys('H');
	s = await ui.waitText(/\(buckets and p50\/p90\/p99 of a native histogram, rate over \d+s\)/);
	s = await ui.waitScreen('the heatmap', (x) => lines(x).some((l) => /^\s*125ms┤.*█/.test(l)));
	const band = (label) => lines(s).find((l) => new RegExp(`^\\s*${label}┤`).test(l)) ?? '';
	assert.match(band('125ms'), /█+$/, s);
	assert.match(band('500ms'), /▒+$/, s);
	assert.match(band('1s'), /▒+$/, s);
	assert.doesNotMatch(band('\\+Inf'), /[░▒▓█]/, s);
	assert.equal(band('250ms'), '', s);            /* an empty bucket is not a row */
	assert.deepEqual(seriesRows(s).map((x) => x[1]), ['{q="p50"}', '{q="p90"}', '{q="p99"}'], s);
	await quit(ui);
});
