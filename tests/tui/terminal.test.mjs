// The terminal side: a resize redraws to the new size, a small terminal,
// quitting (exit status 0 and the terminal given back as it was), and the
// fallbacks: NO_COLOR=1 (no colours, still readable) and LANG=C (ASCII only).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux } from './lib/tmux.mjs';
import {
	startLoaded, openTrace, selectedRows, waitSelected, rulerLabels, checkWaterfall, details,
	assertRestored,
} from './lib/ui.mjs';
import { CHECKOUT_TREE, CHECKOUT_OFF_PATH } from './lib/traces.mjs';
import { styleKey } from './lib/screen.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';
const lines = (s) => s.split('\n');

function fitsIn(screen, cols, rows) {
	const ls = lines(screen);
	const wide = ls.map((l, y) => [y, [...l].length]).filter(([, n]) => n > cols);
	return ls.length === rows && wide.length === 0;
}

test('a resize redraws the list and the waterfall to the new size (120x32 → 80x24 → 120x32)', { skip }, async (t) => {
	const ui = await startLoaded(t);
	ui.resize(80, 24);
	assert.equal(ui.info('#{pane_width}x#{pane_height}'), '80x24');
	let s = await ui.expectScreen('traces-list-80x24');
	assert.ok(fitsIn(s, 80, 24));
	await openTrace(ui, 'GET /checkout');
	s = await ui.waitText(/^ {4}▾ payment POST \/charge/m);
	assert.ok(fitsIn(s, 80, 24), `the waterfall fits 80x24:\n${s}`);
	assert.deepEqual(checkWaterfall(s, 80), []);
	assert.equal(details(s)[0], ' GET /checkout');
	// back to the first size: the same screen as a fresh 120x32 one
	ui.resize(120, 32);
	await ui.expectScreen('checkout-waterfall');
	ui.resize(80, 24);
	await ui.waitScreen('the waterfall at 80 columns again', (x) => fitsIn(x, 80, 24) && checkWaterfall(x, 80).length === 0);
	await ui.keys('q');
	await ui.expectScreen('traces-list-80x24');
});

test('the ruler at 80 columns: every label readable, none running into the next', { skip }, async (t) => {
	const ui = await startLoaded(t, { cols: 80, rows: 24 });
	await openTrace(ui, 'GET /checkout');
	const s = await ui.waitText(/^ {4}▾ payment POST \/charge/m);
	// a label that does not fit may be left out, but what shows must be
	// whole labels, in order, from the start to the end of the trace
	const all = ['0µs', '30.0ms', '60.0ms', '90.0ms', '120ms'];
	const got = rulerLabels(s);
	assert.ok(got.every((l) => all.includes(l)) && got.every((l, i) => i === 0 || all.indexOf(l) > all.indexOf(got[i - 1])) &&
		got[0] === '0µs' && got.at(-1) === '120ms' && got.length >= 3, `the ruler's labels ${JSON.stringify(got)}:\n${lines(s)[1]}`);
});

test('starting in a small terminal (80x24): the columns that fit, nothing cut mid-row', { skip }, async (t) => {
	const ui = await startLoaded(t, { cols: 80, rows: 24 });
	const s = await ui.expectScreen('traces-list-80x24');
	assert.ok(fitsIn(s, 80, 24));
	await openTrace(ui, 'POST /orders');
	await ui.keys('e');
	await ui.waitScreen('the error span details at 80x24', (x) => details(x)[0] === ' db.insert' && fitsIn(x, 80, 24));
});

test("'q' in the list quits: exit status 0 and the terminal restored", { skip }, async (t) => {
	const ui = await startLoaded(t);
	assert.equal(ui.info('alt=#{alternate_on}'), 'alt=1', 'the UI runs on the alternate screen');
	// q in a trace goes back; q in the list quits
	await openTrace(ui, 'GET /checkout');
	await ui.keys('q');
	await ui.waitText(/^ obstui Traces /);
	assert.ok(ui.alive(), 'q in the trace view only went back');
	await ui.keys('q');
	await assertRestored(ui, "'q'");
});

test("^C quits from anywhere, and ':quit' too: exit status 0, terminal restored", { skip }, async (t) => {
	const a = await startLoaded(t);
	await openTrace(a, 'GET /checkout');
	await a.keys('?');
	await a.waitText(/Keys {2}\(Esc/);
	await a.keys('C-c');
	await assertRestored(a, '^C in the help over the trace view');
	const b = await startLoaded(t);
	await b.keys(':');
	await b.type('quit');
	await b.keys('Enter');
	await assertRestored(b, ':quit');
});

test('NO_COLOR=1: no colour at all, the same text, selection and critical path still visible', { skip }, async (t) => {
	const ui = await startLoaded(t, { env: { NO_COLOR: '1' } });
	await ui.expectScreen('traces-list');
	const coloured = (cells) => cells.flat().filter((c) => c.fg !== null || c.bg !== null);
	assert.deepEqual(coloured(ui.cells()).slice(0, 3), [], 'no cell has a colour');
	assert.deepEqual(selectedRows(ui), [2], 'the selected row is shown in reverse');
	await openTrace(ui, 'GET /checkout');
	await ui.expectScreen('checkout-waterfall');
	assert.deepEqual(coloured(ui.cells()).slice(0, 3), []);
	await ui.keys('c');
	await ui.waitText(/critical path/);
	const cells = ui.cells();
	const style = (name) => {
		const i = CHECKOUT_TREE.findIndex((s) => s.name === name);
		return [...new Set(cells[2 + i].filter((c) => c.ch === '█').map(styleKey))].join('|');
	};
	const on = style('bank.authorize');
	for (const n of CHECKOUT_OFF_PATH) assert.notEqual(style(n), on, `${n} (off the path) must look different from bank.authorize (on it) without colour`);
	assert.deepEqual(coloured(ui.cells()).slice(0, 3), []);
});

test('LANG=C: ASCII only (no box-drawing, block or arrow characters), every duration readable', { skip }, async (t) => {
	const ui = await startLoaded(t, { env: { LANG: 'C' } });
	const nonAscii = (s) => [...new Set([...s].filter((ch) => ch.codePointAt(0) > 0x7e))];
	let s = await ui.expectScreen('traces-list-ascii');
	assert.deepEqual(nonAscii(s), []);
	await openTrace(ui, 'GET /checkout');
	s = await ui.waitText(/^ {4}- payment POST \/charge/m);
	assert.deepEqual(nonAscii(s), [], `only ASCII:\n${s}`);
	assert.deepEqual(checkWaterfall(s, 120, { glyph: '#', open: '-', closed: '+' }), []);
	assert.match(s, /^-- Details \(Tab: scroll, Enter on a link opens it\) -+$/m);
	// durations under a millisecond need a 'µ': in ASCII it must not become '?'
	const unreadable = lines(s).filter((l) => /\d\?s\b/.test(l));
	assert.deepEqual(unreadable, [], 'durations with a ? for µ');
	assert.match(rulerLabels(s)[0], /^0(s|us|ns|ms)$/, `the ruler starts at zero: ${lines(s)[1]}`);
	// collapsing shows '+'
	await ui.keys('j', 'Space');
	await ui.waitText(/^ {2}\+ frontend cart\.get/m);
});

test('--ascii draws with ASCII in a UTF-8 terminal too', { skip }, async (t) => {
	const ui = await startLoaded(t, { args: ['--ascii'] });
	await openTrace(ui, 'GET /checkout');
	const s = await ui.waitText(/^ {4}- payment POST \/charge/m);
	assert.deepEqual(checkWaterfall(s, 120, { glyph: '#', open: '-', closed: '+' }), []);
	assert.deepEqual([...new Set([...s].filter((ch) => ch.codePointAt(0) > 0x7e))], [], `only ASCII:\n${s}`);
	assert.deepEqual(lines(s).filter((l) => /\d\?s\b/.test(l)), [], 'durations with a ? for µ');
});
