// The Traces list, driven through tmux as a person would: the rows and
// columns, sorting with 's', the '/' filter (in any case), ':q' queries,
// ':range' and ':since', and a trace arriving while the list is open.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux, startUi } from './lib/tmux.mjs';
import { startLoaded, send, selectedRows, waitSelected } from './lib/ui.mjs';
import { lateRequest, traceSet, BASE_NS } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';

// The list's data rows (screen rows 2..), as text.
const listRows = (screen, first = 2) => screen.split('\n').slice(first, -1).filter((l) => l.trim() !== '');
// The ROOT SPAN column of each row (`first`: the first row under the header).
function rootNames(screen, first = 2) {
	const header = screen.split('\n')[first - 1];
	const from = header.indexOf('ROOT SPAN');
	const to = header.indexOf('DURATION');
	return listRows(screen, first).map((l) => l.slice(from, to).trim());
}

test('the list shows one row per trace, newest first, with every column', { skip }, async (t) => {
	const ui = await startLoaded(t);
	// 5 traces, newest first; TIME in TZ=UTC, root service and span, the
	// duration of the whole trace, spans, services, errors
	await ui.expectScreen('traces-list');
	// the first row is selected
	assert.deepEqual(selectedRows(ui), [2], 'the newest trace (first row) is selected at start');
});

test("'s' sorts by duration and back by time, keeping the selected trace", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys('j');                          // attrs.demo
	await waitSelected(ui, 'row 2 selected', (rows) => rows[0] === 3);
	await ui.keys('s');
	await ui.expectScreen('traces-sorted-by-duration');
	assert.deepEqual(rootNames(ui.capture()), ['GET /report', 'GET /checkout', 'POST /orders', 'process.batch', 'attrs.demo']);
	// the same trace stays selected: attrs.demo is now the last row
	await waitSelected(ui, 'attrs.demo still selected after sorting', (rows, lines) =>
		rows.length === 1 && lines[rows[0]].includes('attrs.demo'));
	await ui.keys('s');
	await ui.waitText(/sorted by time/);
	assert.deepEqual(rootNames(ui.capture()), ['process.batch', 'attrs.demo', 'POST /orders', 'GET /checkout', 'GET /report']);
	await waitSelected(ui, 'attrs.demo still selected', (rows, lines) => rows.length === 1 && lines[rows[0]].includes('attrs.demo'));
});

test("'/' narrows the list with every key typed; Backspace widens it; Esc clears it", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys('/');
	await ui.waitText(/^\/$/m);
	// 'r': every trace has a span or service with an r in it
	await ui.type('r');
	await ui.waitText(/^\/r$/m);
	await ui.waitText(/ 5 traces {2}sorted/);
	// 're': reports (GET /report) and checkout (redis GET, recommendations)
	await ui.type('e');
	await ui.waitText(/ 2 traces {2}sorted/);
	await ui.expectScreen('traces-filter-re');
	// 'rep': only the report; the filter also matches services and inner spans
	await ui.type('p');
	await ui.waitText(/ 1 traces {2}sorted/);
	assert.deepEqual(rootNames(ui.capture(), 3), ['GET /report']);
	await ui.keys('BSpace');
	await ui.waitText(/ 2 traces {2}sorted/);
	assert.deepEqual(rootNames(ui.capture(), 3), ['GET /checkout', 'GET /report']);
	// Enter leaves the prompt with the filter on; Esc then clears it
	await ui.keys('Enter');
	await ui.waitText(/^\/re$/m);
	await ui.keys('Escape');
	await ui.waitText(/ 5 traces {2}sorted/);
	await ui.expectScreen('traces-list');
	// and Esc while typing clears it too
	await ui.keys('/');
	await ui.type('ord');
	await ui.waitText(/ 1 traces {2}sorted/);
	assert.deepEqual(rootNames(ui.capture(), 3), ['POST /orders']);
	await ui.keys('Escape');
	await ui.waitText(/ 5 traces {2}sorted/);
	await ui.expectScreen('traces-list');
});

test("':q { status = error }' shows the failing traces; ':q' alone shows all again", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys(':');
	await ui.type('q { status = error }');
	await ui.waitText(/^:q \{ status = error \}$/m);
	await ui.keys('Enter');
	await ui.waitText(/ 1 traces {2}q: \{ status = error \}/);
	await ui.expectScreen('traces-query-error');
	await ui.keys(':');
	await ui.type('q');
	await ui.keys('Enter');
	await ui.waitText(/ 5 traces {2}sorted/);
	await ui.expectScreen('traces-list');
	// 'Q' opens the command line with the query to edit
	await ui.keys(':');
	await ui.type('q { resource.service.name = "cart" }');
	await ui.keys('Enter');
	await ui.waitText(/ 1 traces {2}q: \{ resource.service.name = "cart" \}/);
	assert.deepEqual(rootNames(ui.capture()), ['GET /checkout'], 'cart only takes part in the checkout trace');
	await ui.keys('Q');
	await ui.waitText(/^:q \{ resource.service.name = "cart" \}$/m);
	await ui.keys('Escape');
	// a bad query says why, in place of the rows
	await ui.keys(':');
	await ui.type('q { nonsense');
	await ui.keys('Enter');
	const s = await ui.waitText(/q: \{ nonsense/);
	assert.equal(listRows(s).filter((l) => /^\d\d:\d\d/.test(l)).length, 0, `no rows for a bad query:\n${s}`);
	await ui.waitText(/^ {2}TraceQL syntax error at column 3: unknown word 'nonsense'/m);
});

test('a trace arriving while the list is open: the selected row does not move', { skip }, async (t) => {
	const ui = await startLoaded(t);
	// select the third row (POST /orders)
	await ui.keys('j', 'j');
	const before = await waitSelected(ui, 'the third row selected', (rows, lines) =>
		rows.length === 1 && rows[0] === 4 && lines[4].includes('POST /orders'));
	assert.deepEqual(before, [4]);
	const screenBefore = ui.capture();
	// a newer trace arrives (JSON this time)
	await send(ui, lateRequest(), { encoding: 'json' });
	await ui.waitText(/ 6 traces {2}sorted by time/);
	// POST /orders is still the highlighted trace, on the same screen row
	const after = await waitSelected(ui, 'POST /orders still selected on screen row 4', (rows, lines) =>
		rows.length === 1 && lines[rows[0]].includes('POST /orders'));
	assert.deepEqual(after, before, `the selected row moved:\nbefore:\n${screenBefore}\nafter:\n${ui.capture()}`);
	const lines = ui.capture().split('\n');
	assert.match(lines[4], /POST \/orders/, `row 4 changed:\nbefore:\n${screenBefore}\nafter:\n${lines.join('\n')}`);
	// the new trace is in the list: above the rows on screen, reached by
	// moving up (or 'g', the newest trace)
	await ui.keys('g');
	await ui.waitScreen('nightly.job at the top, selected', (s) => s.split('\n')[2].includes('nightly.job'));
	assert.deepEqual(selectedRows(ui), [2]);
	assert.deepEqual(rootNames(ui.capture()),
		['nightly.job', 'process.batch', 'attrs.demo', 'POST /orders', 'GET /checkout', 'GET /report']);
	await ui.expectScreen('traces-list-after-late');
});

test('with the cursor on the newest row the list follows new traces', { skip }, async (t) => {
	const ui = await startLoaded(t);
	assert.deepEqual(selectedRows(ui), [2]);
	await send(ui, lateRequest(), { encoding: 'json' });
	await ui.waitText(/ 6 traces {2}sorted by time/);
	await waitSelected(ui, 'the new trace on the first row, selected', (rows, lines) =>
		rows.length === 1 && rows[0] === 2 && lines[2].includes('nightly.job'));
});

test('the numeric columns: each header sits over its values', { skip }, async (t) => {
	// SPANS and SVCS are right-aligned numbers; a person reads a column by
	// its header, so the values must fall under the header's letters
	const ui = await startLoaded(t);
	const lines = ui.capture().split('\n');
	const header = lines[1];
	const row = lines.find((l) => l.includes('GET /checkout')); // 9 spans, 3 services
	const problems = [];
	for (const [name, value] of [['DURATION', '120ms'], ['SPANS', '9'], ['SVCS', '3']]) {
		const h0 = header.indexOf(name);
		const h1 = h0 + name.length - 1;
		// the value: the first occurrence at or after the header's start
		const re = new RegExp(`(?<=\\s)${value.replace('.', '\\.')}(?=\\s|$)`, 'g');
		re.lastIndex = Math.max(0, h0 - value.length);
		const m = re.exec(row);
		const v1 = m ? m.index + value.length - 1 : -1;
		if (!(v1 >= h0 && v1 <= h1))
			problems.push(`${name} covers columns ${h0}-${h1} but its value '${value}' ends at column ${v1}`);
	}
	assert.deepEqual(problems, [], `header and values misaligned:\n${header}\n${row}`);
});

test("'/' matches in any case: 'CART' finds the cart service, 'Redis' the redis GET span", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys('/');
	await ui.type('CART');
	await ui.waitText(/^\/CART$/m);
	await ui.waitText(/ 1 traces {2}sorted/);
	await ui.expectScreen('traces-filter-cart-upper');
	assert.deepEqual(rootNames(ui.capture(), 3), ['GET /checkout']);
	for (let i = 0; i < 4; i++) await ui.keys('BSpace');
	await ui.waitText(/ 5 traces {2}sorted/);
	await ui.type('Redis');
	await ui.waitText(/ 1 traces {2}sorted/);
	assert.deepEqual(rootNames(ui.capture(), 3), ['GET /checkout']);
	// metacharacters are taken as they are, in any case too
	for (let i = 0; i < 5; i++) await ui.keys('BSpace');
	await ui.type('get /C');
	await ui.waitText(/ 1 traces {2}sorted/);
	assert.deepEqual(rootNames(ui.capture(), 3), ['GET /checkout']);
});

// ':range FROM [TO]' with the clock pinned (OBSTUI_CLOCK_NS) a minute after
// the first trace started, at 2025-03-14 09:27:40 UTC (TZ=UTC: local time is
// UTC), so 'today' and 'now-55s' are fixed.  The traces start at 09:26:40
// (GET /report, 2.5 s long), :50, 09:27:00, :10 and :20; a range holds the
// traces that overlap it, its ends included.  (A pinned clock never seals
// the traces: the status line shows the head's size.)
const NOW = BASE_NS + 60n * 1000000000n;
const title = (s) => s.split('\n')[0];

async function command(ui, line) {
	await ui.keys(':');
	await ui.type(line);
	await ui.keys('Enter');
}

test("':range FROM TO' lists the traces in that window, written as RFC 3339, a clock time, Grafana's words, unix seconds or now-DUR", { skip }, async (t) => {
	const ui = await startUi({ t, env: { OBSTUI_CLOCK_NS: String(NOW) } });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	await send(ui, traceSet());
	await ui.waitText(/ 5 traces {2}sorted by time/);
	const base = Number(BASE_NS / 1000000000n);
	let s;
	const window = ' range 2025-03-14 09:26:45 to 09:27:05 ';
	for (const range of ['2025-03-14T09:26:45Z 2025-03-14T09:27:05Z', '2025-03-14T10:26:45+01:00 2025-03-14T04:27:05-05:00',
		'09:26:45 09:27:05', '2025-03-14 09:26:45 2025-03-14 09:27:05', `${base + 5} ${base + 25}`, 'now-55s now-35s']) {
		await command(ui, 'since all');
		await ui.waitText(/ 5 traces {2}sorted/);
		await command(ui, `range ${range}`);
		s = await ui.waitText(window);
		assert.match(title(s), / 2 traces {2}range 2025-03-14 09:26:45 to 09:27:05 {2}sorted by time /, `:range ${range}`);
		assert.deepEqual(rootNames(s), ['POST /orders', 'GET /checkout'], `:range ${range}`);
	}
	await ui.expectScreen('traces-range');
	// the ends are in the window: GET /report ends at 09:26:42.5, attrs.demo starts at 09:27:10
	await command(ui, 'range 09:26:42.5 09:27:10');
	s = await ui.waitText(/ 4 traces {2}range 2025-03-14 09:26:42\.500 to 09:27:10 /);
	assert.deepEqual(rootNames(s), ['attrs.demo', 'POST /orders', 'GET /checkout', 'GET /report']);
	await command(ui, 'range 09:26:42.501 09:27:09.999');
	s = await ui.waitText(/ 2 traces {2}range 2025-03-14 09:26:42\.501 to 09:27:09\.999 /);
	assert.deepEqual(rootNames(s), ['POST /orders', 'GET /checkout']);
	// no TO, or TO 'now': open at the end
	await command(ui, 'range 09:27:15');
	s = await ui.waitText(/ 1 traces {2}range 2025-03-14 09:27:15 to now {2}sorted/);
	assert.deepEqual(rootNames(s), ['process.batch']);
	await command(ui, 'range now-35s now');
	s = await ui.waitText(/ 2 traces {2}range 2025-03-14 09:27:05 to now {2}sorted/);
	assert.deepEqual(rootNames(s), ['process.batch', 'attrs.demo']);
	// ':since' replaces the range, and ':range' a ':since'
	await command(ui, 'since 25s');
	s = await ui.waitText(/ 1 traces {2}since 25s ago {2}sorted/);
	assert.doesNotMatch(title(s), /range/);
	await command(ui, 'range 09:26:00 09:26:50');
	s = await ui.waitText(/ 2 traces {2}range 2025-03-14 09:26:00 to 09:26:50 {2}sorted/);
	assert.doesNotMatch(title(s), /since/);
	assert.deepEqual(rootNames(s), ['GET /checkout', 'GET /report']);
	// an empty window says how to widen it
	await command(ui, 'range 2024-01-01 2024-01-02');
	await ui.waitText(/No trace matches\. {2}Esc clears the filter, :q alone the query, :since all the range\./);
	await command(ui, 'since all');
	await ui.waitText(/ 5 traces {2}sorted/);
	assert.doesNotMatch(title(ui.capture()), /range|since/);
});

test("':range' errors are said on the status line, and the range stays as it was", { skip }, async (t) => {
	const ui = await startUi({ t, env: { OBSTUI_CLOCK_NS: String(NOW) } });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	await send(ui, traceSet());
	await command(ui, 'range 09:26:45 09:27:05');
	await ui.waitText(/ 2 traces {2}range 2025-03-14 09:26:45 to 09:27:05 /);
	const examples = '(2026-11-21T10:00:00Z, 10:00, unix seconds, now-1h)';
	for (const [arg, message] of [
		['', 'usage: :range FROM [TO], times like 2026-11-21T10:00:00Z, 10:00, unix seconds, now-1h'],
		['soon', `not a time: 'soon' ${examples}`],
		['09:27 noon', `not a time: 'noon' ${examples}`],
		['2025-02-30T10:00:00Z', `not a time: '2025-02-30T10:00:00Z' ${examples}`],
		['09:27:05 09:26:45', 'the range ends before it starts: 09:26:45 is not after 09:27:05'],
		['09:26 09:27 09:28', ":range takes FROM and TO; '09:28' is one too many"],
	]) {
		await command(ui, `range ${arg}`.trim());
		await ui.waitScreen(`the message for ':range ${arg}'`, (s) => s.split('\n').at(-1) === ` ${message}`);
		assert.match(title(ui.capture()), / 2 traces {2}range 2025-03-14 09:26:45 to 09:27:05 /, `after ':range ${arg}'`);
	}
});

test('a list opened on an empty store pages further back once the store holds more than a page', { skip }, async (t) => {
	const ui = await startUi({ t });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	// 250 traces of one span: more than the 200 rows of a page
	const base = BigInt(Date.now() - 600000) * 1000000n;
	const spans = [];
	for (let i = 0; i < 250; i++) {
		const start = base + BigInt(i) * 1000000000n;
		spans.push({
			traceId: (0xa000 + i).toString(16).padStart(32, '0'),
			spanId: (0xb000 + i).toString(16).padStart(16, '0'),
			name: `job ${i}`, kind: 1,
			startTimeUnixNano: String(start), endTimeUnixNano: String(start + 5000000n),
		});
	}
	await send(ui, { resourceSpans: [{
		resource: { attributes: [{ key: 'service.name', value: { stringValue: 'batch' } }] },
		scopeSpans: [{ spans }],
	}] });
	// the newest page, and a '+': older ones remain
	await ui.waitText(/ 200\+ traces {2}sorted by time/, { timeout: 10000 });
	await ui.keys('G');
	await ui.waitText(/ 250 traces {2}sorted by time/, { timeout: 10000 });
	await ui.keys('G');
	await ui.waitText(/^\S+ +batch +job 0 /m);
});
