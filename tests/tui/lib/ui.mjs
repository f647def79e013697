// ui.mjs - the steps most UI tests start with, and readers for the screens.
//
//   const ui = await startLoaded(t);         // 120x32, the five traces, sealed
//   await openTrace(ui, 'GET /checkout');    // from the list, as a person would
//   selectedRows(ui)                         // the highlighted screen rows
//   await assertRestored(ui, "'q'")          // after obstui ended: status 0, terminal back

import assert from 'node:assert/strict';
import { post, get, waitFor } from '../../integration/lib/obstui.mjs';
import { stringifyJson, encodeTraces } from '../../integration/lib/otlp.mjs';
import { startUi } from './tmux.mjs';
import { traceSet, CHECKOUT_TREE } from './traces.mjs';
import { runsOf, expectedBar } from './screen.mjs';

// POST /v1/traces to the UI's own OTLP/HTTP receiver; insist on 200.
export async function send(ui, obj, { encoding = 'json' } = {}) {
	const body = encoding === 'json' ? Buffer.from(stringifyJson(obj)) : encodeTraces(obj);
	const ct = encoding === 'json' ? 'application/json' : 'application/x-protobuf';
	let r;
	try {
		r = await post(`${ui.otlp}/v1/traces`, body, { 'content-type': ct }, { timeout: 10000 });
	} catch (e) {
		e.message += `\nscreen:\n${ui.capture()}\nlog:\n${ui.log()}`;
		throw e;
	}
	assert.equal(r.status, 200, `POST /v1/traces answered ${r.status}: ${r.body.toString().slice(0, 300)}`);
	return r;
}

// The store's numbers from the UI's own query API (GET /metrics).
export async function storeMetrics(ui) {
	const r = await get(`${ui.api}/metrics`, {}, { timeout: 5000 });
	const m = {};
	for (const line of r.body.toString('utf8').split('\n')) {
		const x = /^(obstui_store_\w+) (\S+)$/.exec(line);
		if (x) m[x[1]] = Number(x[2]);
	}
	return m;
}

// The UI with the five traces of traces.mjs, shown in the list and sealed
// into a block (--seal-idle 1s), so the status line, which says more once
// data is sealed, is the same on every run.
export async function startLoaded(t, { cols = 120, rows = 32, env = {}, args = [], encoding = 'proto' } = {}) {
	const ui = await startUi({ cols, rows, env, args: ['--seal-idle', '1s', ...args], t });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	await send(ui, traceSet(), { encoding });
	await ui.waitText(/ 5 traces {2}sorted by time/);
	await waitFor('the five traces sealed into a block (GET /metrics)', async () => {
		const m = await storeMetrics(ui);
		return m.obstui_store_traces === 5 && m.obstui_store_spans === 18 && m.obstui_store_head_bytes === 0;
	}, { timeout: 15000, interval: 100 });
	// and the status line has caught up (it is fetched once a second)
	await ui.waitText(/ kept until/);
	return ui;
}

// Move the list's cursor to the row whose root span is `name`, then Enter.
export async function openTrace(ui, name) {
	const rows = ui.capture().split('\n').slice(2, -1);
	const at = rows.findIndex((l) => l.includes(` ${name} `));
	assert.ok(at >= 0, `no row for ${name} in the list:\n${ui.capture()}`);
	await ui.keys('g', ...Array(at).fill('j'), 'Enter');
	await ui.waitText(new RegExp(`^ obstui Trace  `));
	await ui.waitText(new RegExp(`^SPAN `, 'm'));
}

// Screen rows drawn in the selection style (dark theme: black on 110; in
// mono, reverse), judged on the first `span` cells, which the list, the
// waterfall and the details all highlight.  (tmux leaves a row's trailing
// blank cells out of a capture even when they are coloured, so a short
// row is judged on what it has.)
export function selectedRows(ui, { span = 20, bg = 110 } = {}) {
	const cells = ui.cells();
	const out = [];
	cells.forEach((row, y) => {
		const head = row.slice(0, span);
		if (head.length >= 3 && head.every((c) => c.bg === bg || (c.reverse && c.bg === null && c.fg === null)))
			out.push(y);
	});
	// the title and status lines are reverse in mono: not selections
	return out.filter((y) => y !== 0 && y !== cells.length - 1);
}

export async function waitSelected(ui, what, pred) {
	let got;
	await ui.waitScreen(what, () => {
		got = selectedRows(ui);
		return pred(got, ui.capture().split('\n'));
	});
	return got;
}

// The waterfall's geometry at a screen width, as view_trace.c lays it out:
// the names take 2/5 of the width (60 at most), the durations the last 8.
export function waterfallGeometry(cols) {
	const x0 = Math.min(60, Math.floor((cols * 2) / 5));
	return { x0, width: cols - x0 - 8 };
}

// The ruler's labels (row 1 of the trace view), left to right.
export function rulerLabels(screen) {
	const line = screen.split('\n')[1];
	return line.replace(/^SPAN( \(zoomed: - or Z back\))?/, '').trim().split(/\s+/);
}

const lines = (s) => s.split('\n');
// the text of the details pane: the lines under its ── Details ── rule
export function details(screen) {
	const ls = lines(screen);
	const at = ls.findIndex((l) => /Details \(Tab/.test(l));
	return at < 0 ? [] : ls.slice(at + 1, -1);
}
const hasChildren = (i) => CHECKOUT_TREE.some((s, j) => j > i && s.depth === CHECKOUT_TREE[i].depth + 1 &&
	CHECKOUT_TREE.slice(i + 1, j).every((x) => x.depth > CHECKOUT_TREE[i].depth));

// Check each CHECKOUT span row against the tree and the times: indentation
// by depth, the open/closed mark, service and name, and the bar's cells
// computed here from the span's times over the window [from, to] ms.
export function checkWaterfall(screen, cols, { from = 0, to = 120, marks = {}, glyph = '█', open = '▾', closed = '▸' } = {}) {
	const { x0, width } = waterfallGeometry(cols);
	const ls = lines(screen);
	const problems = [];
	let y = 2;
	const hidden = new Set();
	CHECKOUT_TREE.forEach((s, i) => {
		if (hidden.has(i)) return;
		const line = ls[y++] ?? '';
		const collapsed = marks[s.name] === 'closed';
		const mark = hasChildren(i) ? (collapsed ? closed : open) : ' ';
		const want = `${' '.repeat(s.depth * 2)}${mark} ${s.service} ${s.name}`;
		if (!line.startsWith(want)) problems.push(`row ${y - 1}: want it to start '${want}', got '${line}'`);
		if (collapsed) {
			for (let j = i + 1; j < CHECKOUT_TREE.length && CHECKOUT_TREE[j].depth > s.depth; j++) hidden.add(j);
		}
		const got = runsOf(line, glyph).filter((r) => r.x >= x0).map((r) => ({ x: r.x - x0, len: r.len }));
		const inWindow = s.to > from && s.from < to;
		const exp = inWindow ? [expectedBar(s.from, s.to, from, to, width)] : [];
		if (JSON.stringify(got) !== JSON.stringify(exp))
			problems.push(`${s.name} (${s.from}-${s.to}ms in ${from}-${to}ms, width ${width}): bar ${JSON.stringify(got)}, want ${JSON.stringify(exp)}`);
		const dur = `${s.to - s.from === 120 ? '120ms' : `${(s.to - s.from).toFixed(1)}ms`}`;
		if (!line.trimEnd().endsWith(dur)) problems.push(`${s.name}: want the duration ${dur} at the right end: '${line}'`);
	});
	return problems;
}

// The pane's mouse modes as tmux keeps them: any mode on, standard (1000:
// clicks), button (1002: drags), SGR encoding (1006); one digit each.
const MOUSE_FLAGS = '#{mouse_any_flag}#{mouse_standard_flag}#{mouse_button_flag}#{mouse_sgr_flag}';
export const mouseFlags = (ui) => ui.info(MOUSE_FLAGS);

// The terminal after obstui ended: the pane shows the shell's screen (empty:
// nothing was printed before obstui started), the alternate screen is off,
// the cursor is visible, no mouse reporting and no application keypad left.
export async function assertRestored(ui, how) {
	const status = await ui.waitExit();
	assert.equal(status, 0, `${how}: exit status`);
	const s = await ui.waitScreen(`${how}: the UI gone from the screen`, (x) => x.trim() === '');
	assert.equal(s.trim(), '', `${how}: the pane should be empty`);
	const flags = ui.info(`alt=#{alternate_on} cursor=#{cursor_flag} mouse=${MOUSE_FLAGS} keypad=#{keypad_cursor_flag}`);
	assert.equal(flags, 'alt=0 cursor=1 mouse=0000 keypad=0', `${how}: terminal modes after exit`);
}
