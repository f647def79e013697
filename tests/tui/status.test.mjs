// The title and status lines: what the receivers are, and counts that agree
// with what the list shows.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux, startUi } from './lib/tmux.mjs';
import { send } from './lib/ui.mjs';
import { traceSet } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';
const lastLine = (s) => s.split('\n').at(-1);

test('the status line names the receivers on their ports; an empty store says how to send data', { skip }, async (t) => {
	const ui = await startUi({ t });
	const s = await ui.waitText(/No traces yet/, { timeout: 10000 });
	assert.match(lastLine(s), new RegExp(`^ http :${ui.httpPort} {2}api :${ui.apiPort} {2}0 spans/s {2}.*\\b0 spans\\b`));
	assert.doesNotMatch(lastLine(s), /\b[1-9]\d* traces\b/);
	await ui.expectScreen('empty-store');
});

// Straight after traces arrive (before the store seals them into a block,
// 10 s by default) the list already shows them; the status line must agree
// with it: 18 spans, and if it counts traces, 5 (not "0 traces").
test('the status line agrees with the list as soon as traces arrive (before they are sealed)', { skip }, async (t) => {
	const ui = await startUi({ t });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	await send(ui, traceSet());
	await ui.waitText(/^ obstui Traces {2}5 traces {2}sorted/);
	const s = await ui.waitScreen('the status line to count 18 spans', (x) => /\b18 spans\b(?!\/s)/.test(lastLine(x)));
	const traces = /\b(\d+) traces\b/.exec(lastLine(s));
	assert.ok(!traces || traces[1] === '5', `the status line says ${traces?.[0]} while the list shows 5:\n${lastLine(s)}`);
});

test('a receiver that cannot start is marked FAILED and the UI still opens the store', { skip }, async (t) => {
	// the OTLP/HTTP port is taken by a first obstui
	const first = await startUi({ t });
	await first.waitText(/No traces yet/, { timeout: 10000 });
	const second = await startUi({ t, args: ['--otlp-http', `127.0.0.1:${first.httpPort}`] });
	const s = await second.waitText(/No traces yet/, { timeout: 10000 });
	assert.match(lastLine(s), new RegExp(`^ http FAILED :${first.httpPort} {2}api :${second.apiPort} `));
});
