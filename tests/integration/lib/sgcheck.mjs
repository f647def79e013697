// sgcheck.mjs - asking obstui for its service graph and its Prometheus
// series, and saying precisely where an answer differs from the model
// (sgmodel.mjs).  Every diff* function returns a list of disagreements
// ([] when none), so a test can report all of them at once.

import { getJson, get, post, waitFor } from './obstui.mjs';
import { diffApiGraph, close } from './sgmodel.mjs';
import { stats } from './sync.mjs';

// GET /api/service-graph?start=&end= (unix seconds) -> parsed JSON
export async function serviceGraphApi(srv, start, end) {
	return getJson(`${srv.api}/api/service-graph?start=${start}&end=${end}`);
}

// Poll the service graph until it agrees with exp (up to timeout ms);
// returns the last answer and its disagreements.
export async function pollGraph(srv, exp, start, end, { timeout = 15000 } = {}) {
	let got = null;
	let diffs = ['no answer yet'];
	try {
		await waitFor('the service graph to match the model', async () => {
			got = await serviceGraphApi(srv, start, end);
			diffs = diffApiGraph(got, exp);
			return diffs.length === 0;
		}, { timeout, interval: 250 });
	} catch (e) {
		if (!got) diffs = [e.message];
	}
	return { got, diffs };
}

// Waits until the store's head is empty and it has more than `blocks` blocks.
export async function waitSealedMore(store, blocks, { timeout = 15000 } = {}) {
	return waitFor(`${store}: the head sealed into more than ${blocks} blocks`, () => {
		const s = stats(store);
		return s.headSpans === 0 && s.blocks > blocks ? s : null;
	}, { timeout, interval: 200 });
}

export const tsParam = (T) => (T / 1000).toFixed(3);

// The evaluation time of the Prometheus checks: the latest time before now
// that is 50.5 s into its minute.  Fixed so that the answers do not depend
// on when the test runs: the last boundary sample is then 50.5 s before the
// end of the range, where Prometheus's rate() extrapolates to the end or not
// depending on the spacing of the samples, so the samples must be the
// contract's for rate() to come out as the contract's.
export function evalTime(now = Date.now()) {
	return Math.floor((now - 500 - 50500) / 60000) * 60000 + 50500;
}

// An instant query at T (ms): {resultType, result}; throws on an error
// answer.  method POST sends the parameters as a form, as Grafana does.
export async function promQuery(srv, expr, T, { method = 'GET' } = {}) {
	return promApiData(srv, '/api/v1/query', { query: expr, time: tsParam(T) }, method, expr);
}

// A range query from start to end (ms) every step seconds.
export async function promRange(srv, expr, start, end, step, { method = 'GET' } = {}) {
	return promApiData(srv, '/api/v1/query_range', { query: expr, start: tsParam(start), end: tsParam(end), step: String(step) }, method, expr);
}

// Any Prometheus API call answering {status, data}: data, or a thrown error.
export async function promApiData(srv, path, params, method = 'GET', what = path) {
	const qs = new URLSearchParams(params).toString();
	const r = method === 'GET'
		? await get(`${srv.api}${path}?${qs}`, { accept: 'application/json' })
		: await post(`${srv.api}${path}`, qs, { 'content-type': 'application/x-www-form-urlencoded', accept: 'application/json' });
	let body;
	try { body = JSON.parse(r.body.toString('utf8')); } catch { body = null; }
	if (r.status !== 200 || body?.status !== 'success')
		throw new Error(`${what}: ${method} ${path}: HTTP ${r.status} ${r.body.toString().slice(0, 400)}`);
	return body.data;
}

const keyOf = (metric) => JSON.stringify(Object.entries(metric).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));
export const seriesKey = (labels) => keyOf(labels);

// Compares a vector answer with Map(any -> {labels, value}).  ignore(labels)
// leaves a series out of the comparison on both sides.
export function diffVector(what, data, expected, { rel = 1e-6, ignore = () => false, allowExtra = () => false } = {}) {
	const out = [];
	if (data.resultType !== 'vector') return [`${what}: resultType ${data.resultType}, want vector`];
	const exp = new Map();
	for (const x of expected.values()) if (!ignore(x.labels)) exp.set(keyOf(x.labels), x);
	const seen = new Set();
	for (const r of data.result) {
		for (const [k, v] of Object.entries(r.metric))
			if (v === '') out.push(`${what}: series ${keyOf(r.metric)} has label ${k}="" (Prometheus never returns an empty label)`);
		if (ignore(r.metric)) continue;
		const k = keyOf(r.metric);
		if (seen.has(k)) out.push(`${what}: series ${k} appears twice`);
		seen.add(k);
		const v = Number(r.value[1]);
		const e = exp.get(k);
		if (!e) {
			if (!allowExtra(r.metric, v)) out.push(`${what}: unexpected series ${k} = ${r.value[1]}`);
			continue;
		}
		if (!close(v, e.value, rel)) out.push(`${what}: ${k} = ${r.value[1]}, want ${e.value}`);
	}
	for (const [k, e] of exp) if (!seen.has(k)) out.push(`${what}: missing series ${k} (want ${e.value})`);
	return out;
}

// Compares a matrix answer (raw samples of a range selector) with
// Map(any -> {labels, samples: [[ms, v]]}).
export function diffMatrix(what, data, expected, { rel = 1e-9, ignore = () => false, allowExtra = () => false } = {}) {
	const out = [];
	if (data.resultType !== 'matrix') return [`${what}: resultType ${data.resultType}, want matrix`];
	const exp = new Map();
	for (const x of expected.values()) if (!ignore(x.labels)) exp.set(keyOf(x.labels), x);
	const seen = new Set();
	for (const r of data.result) {
		if (ignore(r.metric)) continue;
		const k = keyOf(r.metric);
		seen.add(k);
		const e = exp.get(k);
		const got = r.values.map(([t, v]) => [Math.round(Number(t) * 1000), Number(v)]);
		if (!e) {
			if (!allowExtra(r.metric, got)) out.push(`${what}: unexpected series ${k}: ${fmtSamples(got)}`);
			continue;
		}
		const same = got.length === e.samples.length && got.every(([t, v], i) => t === e.samples[i][0] && close(v, e.samples[i][1], rel));
		if (!same) out.push(`${what}: ${k}: samples ${fmtSamples(got)}, want ${fmtSamples(e.samples)}`);
	}
	for (const [k] of exp) if (!seen.has(k)) out.push(`${what}: missing series ${k}`);
	return out;
}
const fmtSamples = (s) => s.map(([t, v]) => `${new Date(t).toISOString().slice(11, 23)}=${+v.toFixed(6)}`).join(' ');

export function report(diffs, max = 60) {
	if (!diffs.length) return '';
	const head = diffs.slice(0, max).join('\n  ');
	return `${diffs.length} disagreement(s):\n  ${head}${diffs.length > max ? `\n  ... and ${diffs.length - max} more` : ''}`;
}
