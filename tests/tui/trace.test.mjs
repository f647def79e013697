// The Trace view: the waterfall (tree order, bars where the times put
// them), moving, collapsing, the error and critical-path keys, zoom, and
// the details pane (attributes of every type, events, links, resource,
// scope), with Tab into the details and Enter on a link.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux } from './lib/tmux.mjs';
import {
	startLoaded, openTrace, selectedRows, waitSelected, rulerLabels, checkWaterfall, details,
} from './lib/ui.mjs';
import { styleKey } from './lib/screen.mjs';
import { CHECKOUT_TREE, CHECKOUT_OFF_PATH, TID } from './lib/traces.mjs';

const lines = (s) => s.split('\n');


const skip = hasTmux() ? false : 'tmux is not installed';

test('Enter on a row opens its waterfall: tree order, depth, bars proportional to the times', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	const s = await ui.expectScreen('checkout-waterfall');
	assert.match(lines(s)[0], /^ obstui Trace {2}1c0c0000000000000000000000000001 {2}120ms {2}9 spans {2}0 errors /);
	assert.deepEqual(rulerLabels(s), ['0µs', '30.0ms', '60.0ms', '90.0ms', '120ms']);
	assert.deepEqual(checkWaterfall(s, 120), []);
	// the root is selected, and its details show
	assert.deepEqual(selectedRows(ui), [2]);
	assert.equal(details(s)[0], ' GET /checkout');
	// q goes back to the list, on the same row
	await ui.keys('q');
	await ui.waitText(/^ obstui Traces /);
	await waitSelected(ui, 'GET /checkout still selected in the list', (rows, ls) =>
		rows.length === 1 && ls[rows[0]].includes('GET /checkout'));
});

test('j/k move through the spans and the details follow the selection', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	const expectDetail = async (row, name, head) => {
		await waitSelected(ui, `${name} selected`, (rows) => rows.length === 1 && rows[0] === row);
		const s = await ui.waitScreen(`details of ${name}`, (x) => details(x)[0] === ` ${name}`);
		assert.deepEqual(details(s).slice(0, head.length), head, `details of ${name}:\n${s}`);
	};
	await ui.keys('j');
	await expectDetail(3, 'cart.get', [
		' cart.get',
		' service frontend   kind client',
		' status unset',
		' duration 30.0ms   offset +5.00ms   start 09:26:50.005',
		' span 1c0c000000000002   parent 1c0c000000000001',
		' Resource',
		'   service.name = frontend',
		'   service.version = 1.4.2',
		'   host.name = web-1',
		' Scope checkout-instrumentation 0.3.1',
	]);
	await ui.keys('j', 'j');
	await expectDetail(5, 'redis GET', [
		' redis GET',
		' service cart   kind client',
		' status unset',
		' duration 10.0ms   offset +10.0ms   start 09:26:50.010',
		' span 1c0c000000000004   parent 1c0c000000000003',
		' Resource',
		'   service.name = cart',
		' Scope tui-test',
	]);
	await ui.keys('k');
	await expectDetail(4, 'GET /cart', [' GET /cart', ' service cart   kind server']);
	// G and g: the last and the first span
	await ui.keys('G');
	await expectDetail(10, 'bank.authorize', [
		' bank.authorize',
		' service payment   kind client',
		' status unset',
		' duration 55.0ms   offset +50.0ms   start 09:26:50.050',
		' span 1c0c000000000009   parent 1c0c000000000007',
	]);
	await ui.keys('j'); // already at the end: stays
	await expectDetail(10, 'bank.authorize', [' bank.authorize']);
	await ui.keys('g');
	await expectDetail(2, 'GET /checkout', [
		' GET /checkout',
		' service frontend   kind server',
		' status unset',
		' duration 120ms   offset +0µs   start 09:26:50.000',
		' span 1c0c000000000001   parent none',
		' Attributes (3)',
		'   http.method = GET',
		'   http.route = /checkout',
		'   http.status_code = 200',
		' Resource',
		'   service.name = frontend',
	]);
});

test('the details of a span with attributes of every type, an event, resource and scope', { skip }, async (t) => {
	// a tall terminal, so the whole pane shows
	const ui = await startLoaded(t, { rows: 56 });
	await openTrace(ui, 'attrs.demo');
	const s = await ui.expectScreen('detail-attrs');
	assert.deepEqual(details(s).filter((l) => l.trim()), [
		' attrs.demo',
		' service inventory   kind server',
		' status unset',
		' duration 3.00ms   offset +0µs   start 09:27:10.000',
		' span 3a0a000000000001   parent none',
		' Attributes (7)',
		'   str = hello world',
		'   bool = true',
		'   int = -42',
		'   double = 0.25',
		'   bytes = deadbeef',
		'   array = [a, 1, false]',
		'   kvlist = {region: eu, zone: 3}',
		' Events (1)',
		'   +1.00ms  cache.miss',
		'       key = sku-1',
		' Resource',
		'   service.name = inventory',
		'   service.version = 2.0.0',
		' Scope attrs-scope 1.0',
	]);
});

test("'e' jumps to the error span (opening its collapsed parents); its details show the status and the exception", { skip }, async (t) => {
	const ui = await startLoaded(t, { rows: 56 });
	await openTrace(ui, 'POST /orders');
	await ui.waitText(/ 4 spans {2}1 errors /);
	// the error span's name is marked
	assert.match(lines(ui.capture())[4], /^ {4}orders !db\.insert /);
	// collapse the root: the error span is hidden, 'e' must still find it
	await ui.keys('Space');
	await ui.waitScreen('the root collapsed', (x) => lines(x)[2].startsWith('▸ orders POST /orders') && lines(x)[3].trim() === '');
	await ui.keys('e');
	const s = await ui.expectScreen('detail-error');
	await waitSelected(ui, 'db.insert selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('db.insert'));
	assert.deepEqual(details(s).filter((l) => l.trim()), [
		' db.insert',
		' service orders   kind client',
		' status error: deadlock detected',
		' duration 60.0ms   offset +10.0ms   start 09:27:00.010',
		' span 2e0e000000000003   parent 2e0e000000000001',
		' Attributes (2)',
		'   db.system = postgresql',
		'   db.statement = INSERT INTO orders VALUES ($1)',
		' Events (1)',
		'   +59.5ms  exception',
		'       exception.type = PgError',
		'       exception.message = deadlock detected',
		'       exception.stacktrace = at insert (db.js:10)',
		' Resource',
		'   service.name = orders',
		' Scope tui-test',
	]);
	// 'E' from elsewhere comes back to it; with one error span 'e' stays
	await ui.keys('g');
	await waitSelected(ui, 'the root selected', (rows) => rows.length === 1 && rows[0] === 2);
	await ui.keys('E');
	await waitSelected(ui, 'db.insert selected by E', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('db.insert'));
	await ui.keys('e');
	await waitSelected(ui, 'db.insert still selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('db.insert'));
	// in a trace without errors 'e' says so
	await ui.keys('q');
	await ui.waitText(/^ obstui Traces /);
	await openTrace(ui, 'GET /checkout');
	await ui.keys('e');
	await ui.waitText(/^ no error span in this trace$/m);
});

test('Space, h, l, [ and ] collapse and expand the tree', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	await ui.keys('j', 'Space'); // cart.get closed
	let s = await ui.waitText(/^ {2}▸ frontend cart\.get/m);
	assert.deepEqual(checkWaterfall(s, 120, { marks: { 'cart.get': 'closed' } }), []);
	await ui.keys('Space');
	s = await ui.waitText(/^ {2}▾ frontend cart\.get/m);
	assert.deepEqual(checkWaterfall(s, 120), []);
	// h on an open span closes it; h on a closed one (or a leaf) goes to the parent
	await ui.keys('j', 'h');
	s = await ui.waitText(/^ {4}▸ cart GET \/cart/m);
	assert.deepEqual(checkWaterfall(s, 120, { marks: { 'GET /cart': 'closed' } }), []);
	await ui.keys('h');
	await waitSelected(ui, 'h went to the parent, cart.get', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('cart.get'));
	// l opens: back on GET /cart, l shows redis GET again
	await ui.keys('j', 'l');
	s = await ui.waitText(/^ {8}cart redis GET/m);
	assert.deepEqual(checkWaterfall(s, 120), []);
	// the arrow keys do the same
	await ui.keys('Left');
	await ui.waitText(/^ {4}▸ cart GET \/cart/m);
	await ui.keys('Right');
	await ui.waitText(/^ {8}cart redis GET/m);
	// [ closes every span but the root; ] opens them all
	await ui.keys('j'); // redis GET
	await waitSelected(ui, 'redis GET selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('redis GET'));
	await ui.keys('[');
	s = await ui.expectScreen('checkout-collapsed-all');
	assert.deepEqual(checkWaterfall(s, 120, { marks: { 'cart.get': 'closed', 'payment.charge': 'closed' } }), []);
	// the selection moved up to the visible ancestor of redis GET
	await waitSelected(ui, 'cart.get selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('cart.get'));
	await ui.keys(']');
	s = await ui.waitText(/^ {8}payment bank\.authorize/m);
	assert.deepEqual(checkWaterfall(s, 120), []);
	await ui.expectScreen('checkout-expanded-cart-selected');
	// G with everything closed: the last visible span
	await ui.keys('[', 'G');
	await waitSelected(ui, 'payment.charge selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('payment.charge'));
});

test("'c' highlights the critical path: on-path bars one style, the others dimmed", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	const barStyles = () => {
		const cells = ui.cells();
		const out = {};
		CHECKOUT_TREE.forEach((sp, i) => {
			const bar = cells[2 + i].filter((c) => c.ch === '█');
			out[sp.name] = [...new Set(bar.map(styleKey))];
		});
		return out;
	};
	const before = barStyles();
	// without the highlight bars take their service's colour
	for (const [name, st] of Object.entries(before)) assert.equal(st.length, 1, `${name}: one style per bar, got ${st}`);
	assert.notEqual(before['cart.get'][0], before['GET /cart'][0], 'frontend and cart bars should differ in colour');
	assert.equal(before['cart.get'][0], before['recommendations'][0], 'two frontend bars should share a colour');
	await ui.keys('c');
	await ui.waitText(/ 0 errors {2}critical path /);
	let after;
	await ui.waitScreen('the bars restyled', () => {
		after = barStyles();
		return JSON.stringify(after) !== JSON.stringify(before);
	});
	const on = CHECKOUT_TREE.filter((s) => !CHECKOUT_OFF_PATH.includes(s.name)).map((s) => after[s.name][0]);
	const off = CHECKOUT_OFF_PATH.map((n) => after[n][0]);
	assert.equal(new Set(on).size, 1, `every bar on the critical path in one style: ${JSON.stringify(after)}`);
	assert.equal(new Set(off).size, 1, `every bar off the path in one style: ${JSON.stringify(after)}`);
	assert.notEqual(on[0], off[0], 'on- and off-path bars must look different');
	assert.ok(!Object.values(before).flat().includes(on[0]), `the path style (${on[0]}) must differ from the service colours`);
	// the text does not change, only the styles
	assert.deepEqual(checkWaterfall(ui.capture(), 120), []);
	await ui.keys('c');
	await ui.waitGone(/critical path/);
	await ui.waitScreen('the service colours back', () => JSON.stringify(barStyles()) === JSON.stringify(before));
});

test("z zooms into the selected span's time window (the ruler follows), Z backs out", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	await ui.keys('G', 'h'); // bank.authorize, then its parent POST /charge (42-108ms)
	await waitSelected(ui, 'POST /charge selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('POST /charge'));
	await ui.keys('z');
	let s = await ui.waitText(/^SPAN \(zoomed: - or Z back\)/m);
	assert.deepEqual(rulerLabels(s), ['42.0ms', '58.5ms', '75.0ms', '91.5ms', '108ms']);
	assert.deepEqual(checkWaterfall(s, 120, { from: 42, to: 108 }), []);
	await ui.expectScreen('checkout-zoomed');
	// zooms stack: fraud.check (45-60ms) inside it
	await ui.keys('j', '+');
	s = await ui.waitScreen('the second zoom', (x) => rulerLabels(x)[0] === '45.0ms');
	assert.deepEqual(rulerLabels(s), ['45.0ms', '48.8ms', '52.5ms', '56.3ms', '60.0ms']);
	assert.deepEqual(checkWaterfall(s, 120, { from: 45, to: 60 }), []);
	await ui.keys('Z');
	s = await ui.waitScreen('back to the first zoom', (x) => rulerLabels(x)[0] === '42.0ms');
	assert.deepEqual(checkWaterfall(s, 120, { from: 42, to: 108 }), []);
	await ui.keys('-');
	s = await ui.waitText(/^SPAN {40}/m);
	assert.deepEqual(rulerLabels(s), ['0µs', '30.0ms', '60.0ms', '90.0ms', '120ms']);
	assert.deepEqual(checkWaterfall(s, 120), []);
});

test('Tab moves into the details; Enter on a link opens the linked trace', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'process.batch');
	let s = await ui.expectScreen('detail-link');
	assert.deepEqual(details(s).filter((l) => l.trim()), [
		' process.batch',
		' service worker   kind consumer',
		' status unset',
		' duration 15.0ms   offset +0µs   start 09:27:20.000',
		' span 4b1b000000000001   parent none',
		' Links (1; Enter opens the trace)',
		`   trace ${TID.CHECKOUT}  span 1c0c000000000001`,
		'       link.reason = batch member',
		' Resource',
		'   service.name = worker',
		' Scope tui-test',
	]);
	await ui.keys('Tab');
	s = await ui.waitText(/── Details \(Tab: back to the spans\) ─/);
	const ruleRow = lines(s).findIndex((l) => l.includes('Details (Tab'));
	// the details' cursor starts on their first line; j moves it to the link
	await waitSelected(ui, 'the first detail line selected', (rows) => rows.includes(ruleRow + 1));
	for (let i = 0; i < 6; i++) await ui.keys('j');
	await waitSelected(ui, 'the link line selected', (rows, ls) => rows.some((r) => r > ruleRow && ls[r].includes(`trace ${TID.CHECKOUT}`)));
	await ui.keys('Enter');
	s = await ui.waitText(`Trace  ${TID.CHECKOUT}  120ms  9 spans`);
	await ui.waitText(/^▾ frontend GET \/checkout/m);
	assert.deepEqual(checkWaterfall(ui.capture(), 120), []);
	// back (q) to the trace that linked, then to the list
	await ui.keys('q');
	await ui.waitText(`Trace  ${TID.LINK}`);
	await ui.keys('Escape'); // leaves the details first
	await ui.waitText(/── Details \(Tab: scroll, Enter on a link opens it\) ─/);
	await ui.keys('Escape');
	await ui.waitText(/^ obstui Traces /);
});

test('Tab then j/k scroll a details pane longer than the screen', { skip }, async (t) => {
	const ui = await startLoaded(t); // 120x32: 11 detail lines show
	await openTrace(ui, 'POST /orders');
	await ui.keys('e');
	let s = await ui.waitScreen('db.insert details', (x) => details(x)[0] === ' db.insert');
	assert.ok(!s.includes('Scope tui-test'), 'the end of the details is below the pane at first');
	await ui.keys('Tab');
	for (let i = 0; i < 15; i++) await ui.keys('j');
	s = await ui.waitText(/^ Scope tui-test$/m);
	assert.ok(!details(s).includes(' db.insert'), `scrolled: the first line is gone:\n${s}`);
	// Tab again: j moves the spans, not the details
	await ui.keys('Tab', 'j');
	await waitSelected(ui, 'publish selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('publish'));
});

test('a double attribute shows the value that was sent (19.99, not 19.989999999999998)', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	for (let i = 0; i < 5; i++) await ui.keys('j');
	const s = await ui.waitScreen('payment.charge details', (x) => details(x)[0] === ' payment.charge');
	const line = details(s).find((l) => l.includes('payment.amount'));
	assert.equal(line, '   payment.amount = 19.99', `the attribute as shown:\n${s}`);
});
