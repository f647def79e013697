// clijson.mjs - read the OTLP/JSON that `obstui trace --json` and `obstui export` print.

import assert from 'node:assert/strict';
import { parseJsonLossless, checkOtlpJson, spanMap } from './otlp.mjs';

// The TracesData inside a CLI answer: {"resourceSpans":[...]} (OTLP/JSON
// TracesData), also accepted wrapped as the API wraps it.
export function tracesDataOf(text, what) {
	let j;
	try {
		j = parseJsonLossless(text);
	} catch (e) {
		assert.fail(`${what}: output is not JSON (${e.message}): ${String(text).slice(0, 300)}`);
	}
	let td;
	if (j && Array.isArray(j.resourceSpans)) td = j;
	else if (j && j.trace && Array.isArray(j.trace.resourceSpans)) td = j.trace;
	else if (j && Array.isArray(j.batches)) td = { resourceSpans: j.batches };
	else assert.fail(`${what}: want OTLP/JSON {"resourceSpans":[...]}, got ${String(text).slice(0, 300)}`);
	const problems = checkOtlpJson(td, 'TracesData', 'output');
	assert.deepEqual(problems, [], `${what}: not OTLP/JSON:\n  ${problems.slice(0, 20).join('\n  ')}`);
	return td;
}

export function cliTraceMap(stdout, args) {
	return spanMap(tracesDataOf(stdout, `obstui ${args.join(' ')}`));
}

// `obstui export --format otlp-json` writes JSON lines: one TracesData per
// line.  All of them merged into one TracesData.
export function tracesDataOfLines(text, what) {
	const lines = String(text).split('\n').filter((l) => l.trim() !== '');
	assert.ok(lines.length > 0, `${what}: no output`);
	return { resourceSpans: lines.flatMap((l, i) => tracesDataOf(l, `${what} line ${i + 1}`).resourceSpans) };
}
