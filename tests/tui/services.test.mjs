// The Services view (`:services`, Tab): the service graph drawn in the
// terminal from the store's rollups, which are made as spans are sealed
// (--seal-idle 1s).  The trace set of lib/traces.mjs gives a graph whose
// every number is known (one call per edge in a pinned 60 s window); the
// demo shop a live one; a fan-out of ten services with long names a graph
// too wide (and too tall) for 80x24, seen by panning.  Selecting an edge,
// by keys in the edge table or by the mouse in the graph, opens the traces
// list filtered to that edge's spans, failing and slowest first.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux, startUi } from './lib/tmux.mjs';
import { startLoaded, send, storeMetrics } from './lib/ui.mjs';
import { waitFor } from '../integration/lib/obstui.mjs';
import { BASE_NS } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';

const lines = (s) => s.split('\n');
// the row naming the selection: the one above the status line
const info = (s) => lines(s).at(-2);
// where a box's name is drawn: { x, y } of the name, or null.  Detail
// boxes have it in their top border ("┌ cart ──┐"), compact ones inside
// ("│ cart │"); the rows under a detail box's name hold its numbers.
function boxAt(screen, name) {
	const ls = lines(screen);
	for (let y = 1; y < ls.length - 2; y++) {
		const cps = [...ls[y]];
		for (let x = 0; x + name.length + 2 < cps.length; x++) {
			if ('│┆|:┌╭+.'.includes(cps[x]) && cps[x + 1] === ' ' &&
			    cps.slice(x + 2, x + 2 + name.length).join('') === name && cps[x + 2 + name.length] === ' ')
				return { x: x + 2, y };
		}
	}
	return null;
}
const inGraph = (screen, text) => lines(screen).slice(1, -2).some((l) => l.includes(text));

async function command(ui, text) {
	await ui.keys(':');
	await ui.type(text);
	await ui.keys('Enter');
}

// The trace set over [09:26:40, 09:27:40): 60 s, one call an edge.
const RANGE = 'range 2025-03-14T09:26:40Z 2025-03-14T09:27:40Z';
const TRACESET_NODES = ['user', 'frontend', 'cart', 'payment', 'orders', 'reports', 'inventory', 'worker', 'postgresql'];

async function servicesOfTraceSet(t, opts = {}) {
	const ui = await startLoaded(t, opts);
	await command(ui, RANGE);
	await ui.waitText(/ 5 traces {2}range /);
	await command(ui, 'services');
	await ui.waitScreen('every node of the trace set in the graph',
		(s) => TRACESET_NODES.every((n) => boxAt(s, n)));
	return ui;
}

test('the trace set: boxes, labels and numbers, callers left of callees, the failing database edge', { skip }, async (t) => {
	const ui = await servicesOfTraceSet(t);
	const s = await ui.expectScreen('services-traceset');
	assert.match(lines(s)[0], /^ obstui Services {2}7 services {2}9 nodes {2}8 edges {2}range 2025-03-14 09:26:40 to 09:27:40 /);
	const at = Object.fromEntries(TRACESET_NODES.map((n) => [n, boxAt(s, n)]));
	// callers left of callees
	assert.ok(at.user.x < at.frontend.x && at.frontend.x < at.cart.x && at.frontend.x < at.payment.x, s);
	assert.ok(at.orders.x < at.postgresql.x, s);
	// one call in 60 s: 0.02/s; the rows under each name
	for (const n of ['frontend', 'cart', 'payment', 'orders', 'reports', 'inventory', 'worker']) {
		const below = [...lines(s)[at[n].y + 1]].slice(at[n].x).join('');
		assert.match(below, /^0\.02\/s 0% /, `${n}: rate and error rate under its name`);
		assert.match([...lines(s)[at[n].y + 2]].slice(at[n].x).join(''), /^p95 \S+/, `${n}: p95`);
	}
	// the database edge failed (db.insert has status error): its server box says 100%
	assert.match([...lines(s)[at.postgresql.y + 1]].slice(at.postgresql.x).join(''), /^0\.02\/s 100% /);
	// virtual nodes are drawn rounded and tagged
	assert.match(lines(s)[at.postgresql.y + 3], /╰┄ db ┄/);
	assert.match(lines(s)[at.postgresql.y], /╭ postgresql ┄/);
	assert.match(lines(s)[at.user.y], /╭ user ┄/);
	// in colour: postgresql's border in the error style (dark theme: 203), cart's in the border style (240)
	const cells = ui.cells();
	const border = cells[at.postgresql.y][at.postgresql.x - 2];
	assert.equal(border.ch, '╭');
	assert.equal(border.fg, 203, `the failing database's border colour: ${JSON.stringify(border)}`);
	const normal = cells[at.cart.y][at.cart.x - 2];
	assert.equal(normal.ch, '┌');
	assert.equal(normal.fg, 240, `cart's border colour: ${JSON.stringify(normal)}`);
});

test('the edge table (t): sortable, and Enter on an edge opens the traces list filtered to its spans', { skip }, async (t) => {
	const ui = await servicesOfTraceSet(t);
	await ui.keys('t');
	let s = await ui.waitText(/^CLIENT +SERVER +TYPE +▾RATE +ERRORS +P50 +P95 +CLIENT P95$/m);
	// every edge at 0.02/s; ties in the graph's order (client, server)
	const rows = () => lines(ui.capture()).slice(2, 10).map((l) => l.split(/\s{2,}|\s(?=\S+$)/)[0] + ' ' + l.trim().split(/\s+/)[1]);
	assert.deepEqual(rows(), ['frontend cart', 'frontend payment', 'orders postgresql', 'user frontend',
		'user inventory', 'user orders', 'user reports', 'user worker']);
	// s: by errors, the failing edge first
	await ui.keys('s');
	s = await ui.waitText(/^orders +postgresql +database +0\.02\/s +100%/m);
	assert.match(lines(s)[1], /▾ERRORS/);
	// S: reversed; then back to rate with s five times... or a click on the header
	await ui.keys('S');
	await ui.waitScreen('the failing edge last', (x) => /^orders +postgresql/.test(lines(x)[9]));
	await ui.keys('g', 'j', 'Enter');       // the second row: frontend -> payment (errors 0, graph order)
	s = await ui.waitText(/^ obstui Traces /);
	// the title shows the start of the query (the rest is cut at 120 columns)
	assert.match(lines(s)[0], /q: \{ resource\.service\.name = "frontend" && \(kind = client \|\| kind = producer\) \} > \{ r/);
	// sorted failing first, then slowest: both columns marked
	assert.match(lines(s)[1], /▾DURATION .*ERR▾/);
	// the whole query, on the command line ('Q' edits it)
	await ui.keys('Q');
	await ui.waitText('payment" && (kind = server || kind = consumer) }');
	await ui.keys('Escape');
	s = await ui.waitText(/ 1 traces? /);
	assert.ok(lines(s).some((l) => / frontend +GET \/checkout /.test(l)), s);
	assert.ok(!lines(s).some((l) => /POST \/orders|GET \/report/.test(l)), s);
});

test('the mouse: a click selects a box or an edge, a double click on an edge opens its traces', { skip }, async (t) => {
	const ui = await servicesOfTraceSet(t);
	let s = ui.capture();
	const pay = boxAt(s, 'payment');
	await ui.click(pay.x + 1, pay.y + 1);
	await ui.waitScreen('payment selected by a click', (x) => /^ payment {2}service {2}in 0\.02\/s/.test(info(x)));
	// the arrow into cart: left of cart's box, on one of its rows
	const cart = boxAt(s, 'cart');
	const arrowY = [cart.y, cart.y + 1, cart.y + 2].find((y) => [...lines(s)[y]][cart.x - 3] === '▶');
	assert.ok(arrowY !== undefined, `no arrow into cart:\n${s}`);
	await ui.click(cart.x - 3, arrowY);
	s = await ui.waitScreen('the edge frontend → cart selected by a click', (x) => /^ frontend → cart {2}0\.02\/s {2}0% errors/.test(info(x)));
	// the selected edge is drawn in the selection style (dark theme: background 110)
	assert.equal(ui.cells()[arrowY][cart.x - 3].bg, 110);
	// a click on empty space selects nothing: 'e' then goes on from frontend -> cart
	await ui.click(118, 25);
	await ui.keys('e');
	await ui.waitScreen('the next edge of frontend', (x) => /^ frontend → payment {2}0\.02\/s/.test(info(x)));
	// a double click on the database edge's arrow opens its traces
	const pg = boxAt(s, 'postgresql');
	const pgY = [pg.y, pg.y + 1, pg.y + 2].find((y) => [...lines(s)[y]][pg.x - 3] === '▶');
	await ui.doubleClick(pg.x - 3, pgY);
	s = await ui.waitText(/^ obstui Traces /);
	assert.match(lines(s)[0], /q: \{ resource\.service\.name = "orders" && kind = client && /);
	s = await ui.waitText(/ 1 traces? /);
	assert.ok(lines(s).some((l) => / orders +POST \/orders /.test(l)), s);
	// Esc is not needed to get back: Tab goes to the Services view again
	await ui.keys('Tab');
	await ui.waitText(/^ obstui Services /);
});

// A trace: gateway serves the user and calls ten services, each of which
// queries one database (a CLIENT span with db.name): 13 nodes, 21 edges.
const FAN = Array.from({ length: 10 }, (_, i) => `reservations-svc-${String(i + 1).padStart(2, '0')}`);
const DB = 'accounts-db-primary';
function fanOut() {
	const tid = 'f0f00000000000000000000000000001';
	const sid = (n) => `f0f0${String(n).padStart(12, '0')}`;
	const t0 = BASE_NS + 100n * 1000000000n;
	const at = (ms) => (t0 + BigInt(ms) * 1000000n).toString();
	const span = (n, parent, name, kind, from, to, attributes = []) => ({
		traceId: tid, spanId: sid(n), ...(parent ? { parentSpanId: sid(parent) } : {}),
		name, kind, startTimeUnixNano: at(from), endTimeUnixNano: at(to), attributes,
	});
	const rs = (service, spans) => ({
		resource: { attributes: [{ key: 'service.name', value: { stringValue: service } }] },
		scopeSpans: [{ scope: { name: 'fan' }, spans }],
	});
	const gw = [span(1, 0, 'GET /reserve', 2, 0, 100)];
	const out = [];
	FAN.forEach((svc, i) => {
		const c = 10 + i * 3;
		gw.push(span(c, 1, `call ${svc}`, 3, 1 + i, 50 + i));
		out.push(rs(svc, [
			span(c + 1, c, 'POST /reserve', 2, 2 + i, 49 + i),
			span(c + 2, c + 1, 'SELECT accounts', 3, 3 + i, 20 + i,
				[{ key: 'db.name', value: { stringValue: DB } }, { key: 'db.statement', value: { stringValue: 'SELECT 1' } }]),
		]));
	});
	return { resourceSpans: [rs('edge-gateway-frontdoor', gw), ...out] };
}

test('a graph too wide for 80 columns: compact boxes, and panning shows what does not fit', { skip }, async (t) => {
	const ui = await startUi({ cols: 80, rows: 24, args: ['--seal-idle', '1s'], t });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	await send(ui, fanOut());
	await waitFor('the fan-out sealed', async () => (await storeMetrics(ui)).obstui_store_head_bytes === 0 &&
		(await storeMetrics(ui)).obstui_store_spans === 31, { timeout: 15000, interval: 100 });
	await ui.keys('Tab');
	let s = await ui.waitText(/^ obstui Services {2}11 services {2}13 nodes {2}21 edges/, { timeout: 15000 });
	s = await ui.waitScreen('the gateway drawn', (x) => boxAt(x, 'edge-gateway-frontdoor'));
	// compact: names only, no numbers in the boxes; the database is off to the right
	assert.ok(!inGraph(s, '/s 0%'), `compact boxes have no numbers:\n${s}`);
	assert.ok(!boxAt(s, DB), `the database should not fit at first:\n${s}`);
	assert.ok(!boxAt(s, FAN[9]), `the tenth service should not fit at first:\n${s}`);
	assert.match(info(s), /H J K L pan$/);
	// L pans right: the database comes into view, the user goes out of it
	await ui.keys('L', 'L');
	s = await ui.waitScreen('the database after panning right', (x) => boxAt(x, DB));
	assert.ok(!boxAt(s, 'user'), `user should have left the screen:\n${s}`);
	// J pans down: the last of the ten
	await ui.keys('J', 'J', 'J');
	s = await ui.waitScreen('the tenth service after panning down', (x) => boxAt(x, FAN[9]));
	assert.ok(!boxAt(s, FAN[0]), `the first service should have left the screen:\n${s}`);
	// H and K back; following the selection pans too
	await ui.keys('H', 'H', 'K', 'K', 'K');
	await ui.waitScreen('back at the top left', (x) => boxAt(x, 'user') && boxAt(x, FAN[0]));
	await ui.keys('l', 'l', 'l');
	s = await ui.waitScreen('the database selected, in view', (x) => boxAt(x, DB) && info(x).startsWith(` ${DB}  database`));
	// the wheel pans down
	await ui.wheel('down', 40, 10);
	await ui.wheel('down', 40, 10);
	await ui.wheel('down', 40, 10);
	await ui.waitScreen('the wheel pans down', (x) => !boxAt(x, DB) || boxAt(x, DB).y < boxAt(s, DB).y);
});

test('the demo shop: every service and peer, with live numbers that add up', { skip }, async (t) => {
	const ui = await startUi({ command: 'demo', cols: 160, rows: 48, t,
		args: ['--seed', '21', '--rate', '20', '--seal-idle', '1s'] });
	await ui.waitText(/^ obstui Traces /, { timeout: 10000 });
	await ui.keys('Tab');
	const nodes = ['user', 'frontend', 'catalog', 'cart', 'checkout', 'payment', 'shipping', 'email',
		'postgres', 'redis', 'kafka'];
	const s = await ui.waitScreen('the shop: 7 services, 11 nodes, 15 edges, every box drawn',
		(x) => /^ obstui Services {2}7 services {2}11 nodes {2}15 edges/.test(x) && nodes.every((n) => boxAt(x, n)),
		{ timeout: 30000, interval: 250 });
	const at = Object.fromEntries(nodes.map((n) => [n, boxAt(s, n)]));
	// callers left of callees
	for (const [a, b] of [['user', 'frontend'], ['frontend', 'checkout'], ['checkout', 'payment'],
		['cart', 'redis'], ['catalog', 'postgres'], ['kafka', 'email']])
		assert.ok(at[a].x < at[b].x, `${a} left of ${b}:\n${s}`);
	// detail boxes: rate, error rate, p95 under every service's name
	const under = (n, k) => [...lines(s)[at[n].y + k]].slice(at[n].x).join('');
	for (const n of ['frontend', 'catalog', 'cart', 'checkout', 'payment', 'shipping', 'email']) {
		assert.match(under(n, 1), /^\d+(\.\d+)?k?\/s \d+(\.\d+)?% /, `${n}'s rates`);
		assert.match(under(n, 2), /^p95 \d+(\.\d+)?(µs|ms|s) /, `${n}'s p95`);
	}
	// the user sends about --rate 20 requests a second, all to the frontend:
	// once the first seconds are sealed, the rates over the data's span say so
	// (the window runs to now, so spans not sealed yet pull them down a little)
	const rates = (x) => {
		const a = boxAt(x, 'user'), b = boxAt(x, 'frontend');
		if (!a || !b) return null;
		const at = (p) => [...lines(x)[p.y + 1]].slice(p.x).join('');
		return { user: Number(/^out (\d+(\.\d+)?)\/s/.exec(at(a))?.[1]), front: Number(/^(\d+(\.\d+)?)\/s/.exec(at(b))?.[1]) };
	};
	const r = rates(await ui.waitScreen('the user\'s rate near 20/s', (x) => {
		const q = rates(x);
		return q && q.user >= 14 && q.user <= 22;
	}, { timeout: 40000, interval: 500 }));
	assert.ok(Math.abs(r.user - r.front) <= 0.1 * r.user + 0.1, `user ${r.user}/s, frontend ${r.front}/s`);
	// edges are labelled with rates and end in arrows
	assert.ok(inGraph(s, '▶'));
	assert.match(s, /─\d+(\.\d+)?k?\/s─/);
	// the numbers refresh: the title's query time changes as ticks go by
	await ui.waitScreen('a refresh', (x) => lines(x)[0] !== lines(s)[0], { timeout: 5000 });
});
