// The mouse, sent as the terminal reports it (SGR reports, which ncurses
// asks for under TERM=xterm-256color; see click() in lib/tmux.mjs): in the
// list and in the waterfall a click selects the row under the pointer, a
// double click opens it (a trace; in the waterfall it collapses or expands
// the span), the wheel moves the selection three rows, scrolling; and
// --no-mouse never turns mouse reporting on, so the terminal keeps the
// mouse for its own selection.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux } from './lib/tmux.mjs';
import { startLoaded, selectedRows, waitSelected, checkWaterfall, details, mouseFlags } from './lib/ui.mjs';
import { TID } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';

// The one selected screen row holds `text`.
const selectedIs = (text) => (rows, ls) => rows.length === 1 && ls[rows[0]].includes(text);

test('the list: a click selects the row under it, the wheel moves three rows, a double click opens the trace', { skip }, async (t) => {
	const ui = await startLoaded(t);
	// clicks and SGR reports asked for; no drag or motion reports
	assert.equal(mouseFlags(ui), '1101', 'mouse modes: any, standard (1000), not button (1002), SGR (1006)');
	// screen rows: 2 process.batch, 3 attrs.demo, 4 POST /orders, 5 GET /checkout, 6 GET /report
	await ui.click(40, 5);
	await waitSelected(ui, 'GET /checkout selected by a click', (rows, ls) => rows.join() === '5' && ls[5].includes('GET /checkout'));
	await ui.expectScreen('traces-list');          // only the selection moved
	// on the header, the title or below the last row: nothing to select
	for (const y of [1, 0, 12]) await ui.click(40, y);
	await ui.wheel('up', 40, 10);
	await waitSelected(ui, 'the wheel up: three rows up from GET /checkout', selectedIs('process.batch'));
	await ui.wheel('down', 40, 10);
	await waitSelected(ui, 'the wheel down: three rows down', selectedIs('GET /checkout'));
	await ui.wheel('down', 40, 10);
	await waitSelected(ui, 'the wheel down past the end: the last row', selectedIs('GET /report'));
	// a double click opens the trace under the pointer, not the selected one
	await ui.doubleClick(40, 4);
	await ui.waitText(`Trace  ${TID.ERROR}  80.0ms  4 spans`);
	await ui.keys('q');
	await ui.waitText(/^ obstui Traces /);
	await waitSelected(ui, 'POST /orders selected in the list after going back', selectedIs('POST /orders'));
});

test('the list in a short terminal: the wheel scrolls it, and a click then selects the row it shows', { skip }, async (t) => {
	const ui = await startLoaded(t, { rows: 7 });   // four rows of traces
	await ui.waitText(/^09:27:20\.000 worker/m);
	await ui.wheel('down', 40, 3);
	await ui.wheel('down', 40, 3);
	// the cursor on the last trace (GET /report), the list scrolled one row
	await ui.expectScreen('traces-wheel-scrolled');
	await waitSelected(ui, 'GET /report on the last screen row', (rows, ls) => rows.join() === '5' && ls[5].includes('GET /report'));
	await ui.click(40, 2);
	await waitSelected(ui, 'attrs.demo, shown on screen row 2, selected', (rows, ls) => rows.join() === '2' && ls[2].includes('attrs.demo'));
	await ui.wheel('up', 40, 3);
	await ui.waitText(/^09:27:20\.000 worker/m);
	await waitSelected(ui, 'the wheel up to the first trace', (rows, ls) => rows.join() === '2' && ls[2].includes('process.batch'));
});

test('the waterfall: a click selects a span (its details follow), a double click collapses and expands it, the wheel moves', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.doubleClick(40, 5);
	await ui.expectScreen('checkout-waterfall');
	// screen rows 2..10 are the spans in tree order: payment.charge is row 7
	await ui.click(10, 7);
	await waitSelected(ui, 'payment.charge selected by a click', (rows) => rows.join() === '7');
	await ui.waitScreen('the details of payment.charge', (x) => details(x)[0] === ' payment.charge');
	// a double click on cart.get (row 3) collapses it, a second one opens it
	await ui.doubleClick(10, 3);
	let s = await ui.waitText(/^ {2}▸ frontend cart\.get/m);
	assert.deepEqual(checkWaterfall(s, 120, { marks: { 'cart.get': 'closed' } }), []);
	await waitSelected(ui, 'cart.get selected', selectedIs('cart.get'));
	await ui.doubleClick(10, 3);
	s = await ui.waitText(/^ {2}▾ frontend cart\.get/m);
	assert.deepEqual(checkWaterfall(s, 120), []);
	// the wheel: cart.get, three down is recommendations; up again
	await ui.wheel('down', 10, 5);
	await waitSelected(ui, 'recommendations after the wheel down', selectedIs('recommendations'));
	await ui.waitScreen('the details of recommendations', (x) => details(x)[0] === ' recommendations');
	await ui.wheel('up', 10, 5);
	await waitSelected(ui, 'cart.get after the wheel up', selectedIs('cart.get'));
	// a click on the ruler or in the details does not move the selection
	await ui.click(10, 1);
	await ui.click(10, 14);
	await ui.wheel('down', 10, 5);
	await waitSelected(ui, 'recommendations again: the clicks moved nothing', selectedIs('recommendations'));
	assert.deepEqual(selectedRows(ui).length, 1);
});

test('--no-mouse: mouse reporting stays off, so the terminal keeps its own selection', { skip }, async (t) => {
	const ui = await startLoaded(t, { args: ['--no-mouse'] });
	assert.equal(mouseFlags(ui), '0000', 'no mouse mode asked for');
	await ui.expectScreen('traces-list');
	// and the keys work as ever
	await ui.keys('j');
	await waitSelected(ui, 'j moves the selection', (rows) => rows.join() === '3');
	assert.equal(mouseFlags(ui), '0000');
});
