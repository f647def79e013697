// Help ('?'), command mode (':' with Tab completion and history), themes,
// and the keys the help lists that the other files do not press.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { hasTmux } from './lib/tmux.mjs';
import { startLoaded, openTrace, selectedRows, waitSelected } from './lib/ui.mjs';
import { TID } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';
const lastLine = (s) => s.split('\n').at(-1);

test("'?' lists the keys of the traces list; j scrolls to the commands; '?' closes", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys('?');
	const s = await ui.expectScreen('help-traces');
	for (const what of ['next trace', 'previous trace', 'a page down', 'a page up', 'the newest trace',
		'the oldest trace loaded', 'open the trace', 'filter by service or span name', 'edit the TraceQL query',
		'sort by time / by duration', 'clear the filter', 'reload', 'copy the trace id',
		'this help', 'command mode', 'back; quit from the traces list', 'the traces list', 'quit'])
		assert.match(s, new RegExp(`^ {6}\\S.{15}${what.replace(/[()/.]/g, '\\$&')}`, 'm'), `help lists '${what}'`);
	// the trace view's keys are not listed here
	assert.doesNotMatch(s, /critical path/);
	for (let i = 0; i < 12; i++) await ui.keys('j');
	// one key column for all: as wide as the widest, ':range FROM TO'
	await ui.waitText(/^ {6}:quit {11}leave obstui$/m);
	await ui.waitText(/^ {6}:theme NAME {5}dark, light, high-contrast, or a theme file$/m);
	await ui.waitText(/^ {6}:range FROM TO {2}traces between two times: 10:00, 2026-11-21T10:00:00Z, now-1h, unix seconds; TO may be now$/m);
	await ui.keys('?');
	await ui.expectScreen('traces-list');
});

test("'?' in the waterfall lists the trace view's keys; Esc and q close it without leaving the view", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	await ui.keys('?');
	const s = await ui.expectScreen('help-trace');
	for (const what of ['next span', 'previous span', 'the first span', 'the last span', 'collapse or expand the span',
		'collapse; on a leaf, go to the parent', 'expand', 'collapse all', 'expand all', 'next error span',
		'previous error span', 'highlight the critical path', "zoom into the span's time window", 'zoom back out',
		'move between the spans and the details'])
		assert.match(s, new RegExp(`^ {6}\\S.{15}${what.replace(/[()/.;,']/g, '\\$&')}$`, 'm'), `help lists '${what}'`);
	assert.match(s, /^ {4}Trace$/m);
	assert.doesNotMatch(s, /sort by time/);
	await ui.keys('Escape');
	await ui.expectScreen('checkout-waterfall');
	await ui.keys('?');
	await ui.waitText(/Keys {2}\(Esc, q or \? closes/);
	await ui.keys('q');
	await ui.expectScreen('checkout-waterfall');
	// ':help' opens it too
	await ui.keys(':');
	await ui.type('help');
	await ui.keys('Enter');
	await ui.waitText(/Keys {2}\(Esc, q or \? closes/);
});

test("':' Tab completes a command name: ':th' → ':theme '", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys(':');
	await ui.waitScreen('the command line', (s) => lastLine(s) === ':');
	await ui.type('th');
	await ui.keys('Tab');
	await ui.waitScreen("':theme ' on the command line", (s) => lastLine(s) === ':theme');
	await ui.type('light');
	await ui.waitScreen("':theme light'", (s) => lastLine(s) === ':theme light');
	await ui.keys('Escape');
	await ui.waitScreen('the status line back', (s) => /^ http :\d+/.test(lastLine(s)));
});

test("':ra' Tab completes ':range '; the range typed runs", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys(':');
	await ui.type('ra');
	await ui.keys('Tab');
	await ui.waitScreen("':range ' on the command line", (s) => lastLine(s) === ':range');
	await ui.type('2025-03-14T09:27:05Z 2025-03-14T09:27:15Z');
	await ui.keys('Enter');
	await ui.waitText(/ 1 traces {2}range 2025-03-14 09:27:05 to 09:27:15 {2}sorted/);
	// and the history has it as typed
	await ui.keys(':', 'Up');
	await ui.waitScreen('recalled', (s) => lastLine(s) === ':range 2025-03-14T09:27:05Z 2025-03-14T09:27:15Z');
});

test("':tr' Tab: completes to ':trace' or shows the matches (:trace, :traces)", { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys(':');
	await ui.type('tr');
	await ui.waitScreen("':tr'", (s) => lastLine(s) === ':tr');
	await ui.keys('Tab');
	// two commands start with 'tr': either the common prefix is completed,
	// or the matches are shown where the user can see them (the command line
	// is still open, so not on the status line it hides)
	await ui.waitScreen("':trace' completed, or ':trace' and ':traces' shown", (s) =>
		/^:trace ?$/.test(lastLine(s)) || (/:traces\b/.test(s) && /:trace\b(?!s)/.test(s)));
	// and with the argument typed it runs: ':trace ID' opens the trace
	await ui.keys('C-u');
	await ui.type(`trace ${TID.ERROR}`);
	await ui.keys('Enter');
	await ui.waitText(`Trace  ${TID.ERROR}  80.0ms  4 spans`);
});

test("':' Up and Down recall earlier commands", { skip }, async (t) => {
	const ui = await startLoaded(t);
	for (const cmd of ['q { status = error }', 'q']) {
		await ui.keys(':');
		await ui.type(cmd);
		await ui.keys('Enter');
	}
	await ui.waitText(/ 5 traces {2}sorted/);
	await ui.keys(':', 'Up');
	await ui.waitScreen("':q' recalled", (s) => lastLine(s) === ':q');
	await ui.keys('Up');
	await ui.waitScreen("':q { status = error }' recalled", (s) => lastLine(s) === ':q { status = error }');
	await ui.keys('Up'); // nothing older: stays
	await ui.waitScreen('still the oldest', (s) => lastLine(s) === ':q { status = error }');
	await ui.keys('Down');
	await ui.waitScreen("':q' again", (s) => lastLine(s) === ':q');
	await ui.keys('Down');
	await ui.waitScreen('an empty line after the newest', (s) => lastLine(s) === ':');
	await ui.keys('Up', 'Up', 'Enter');
	await ui.waitText(/ 1 traces {2}q: \{ status = error \}/);
});

test('unknown commands and bad arguments say what is wrong', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await ui.keys(':');
	await ui.type('nope');
	await ui.keys('Enter');
	await ui.waitScreen('the unknown command message', (s) => lastLine(s) === " no command ':nope' (? lists them)");
	await ui.keys(':');
	await ui.type('trace xyz');
	await ui.keys('Enter');
	await ui.waitScreen('the bad trace id message', (s) => lastLine(s) === " not a trace id: 'xyz' (up to 32 hex digits)");
	await ui.keys(':');
	await ui.type('trace 0123456789abcdef0123456789abcdef');
	await ui.keys('Enter');
	await ui.waitText(/^ {2}no such trace in the store$/m);
	await ui.keys('q');
	await ui.waitText(/^ obstui Traces /);
	await ui.keys(':');
	await ui.type('since soon');
	await ui.keys('Enter');
	await ui.waitScreen('the bad duration message', (s) => lastLine(s) === " not a duration: 'soon' (15m, 2h, 7d or all)");
});

test("':theme light' recolours the screen; ':theme nope' is an error and keeps the theme", { skip }, async (t) => {
	const ui = await startLoaded(t);
	assert.deepEqual(selectedRows(ui), [2], 'dark theme: the selected row is black on 110');
	await ui.keys(':');
	await ui.type('theme light');
	await ui.keys('Enter');
	await ui.waitScreen("the 'theme light' message", (s) => lastLine(s) === ' theme light');
	// light.theme: selected = white 25
	await waitSelected(ui, 'the selection in the light theme', () => selectedRows(ui, { bg: 25 }).join() === '2');
	assert.deepEqual(selectedRows(ui), [], 'no row left in the dark selection colour');
	const styleOf = () => ui.cells()[1].slice(0, 4).map((c) => `${c.fg}/${c.bg}/${c.bold}`).join(' ');
	const lightHeader = styleOf();
	await ui.keys(':');
	await ui.type('theme nope');
	await ui.keys('Enter');
	const s = await ui.waitScreen('the unknown theme message', (x) => lastLine(x).startsWith(" no theme 'nope'"));
	assert.equal(lastLine(s), " no theme 'nope' (looked in $OBSTUI_THEMES and assets/themes beside the program); themes: dark, light, high-contrast");
	// said as an error: light.theme's error style, 160 bold
	const msg = ui.cells().at(-1).filter((c) => c.ch !== ' ');
	assert.ok(msg.length && msg.every((c) => c.fg === 160 && c.bold), `the message in the error style: ${JSON.stringify(msg[0])}`);
	// still light
	assert.deepEqual(selectedRows(ui, { bg: 25 }), [2]);
	assert.equal(styleOf(), lightHeader);
	// ':theme' alone goes back to dark
	await ui.keys(':');
	await ui.type('theme');
	await ui.keys('Enter');
	await waitSelected(ui, 'dark again', (rows) => rows.join() === '2');
	await ui.waitScreen("the 'theme dark' message", (x) => lastLine(x) === ' theme dark');
});

test('the other keys the help lists: y, r, PgDn/PgUp, g/G, l, ^T', { skip }, async (t) => {
	const ui = await startLoaded(t);
	// r reloads: the same rows come back
	await ui.keys('r');
	await ui.expectScreen('traces-list');
	// y copies the trace id (OSC 52, which tmux keeps as a buffer) and says so
	await ui.keys('y');
	await ui.waitScreen('the copied message', (s) => lastLine(s) === ` copied ${TID.LINK}`);
	assert.equal(ui.clipboard(), TID.LINK, 'the OSC 52 clipboard holds the trace id');
	// PgDn/End to the oldest, PgUp/Home back to the newest
	await ui.keys('PgDn');
	await waitSelected(ui, 'the last row after PgDn', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('GET /report'));
	await ui.keys('PgUp');
	await waitSelected(ui, 'the first row after PgUp', (rows) => rows.join() === '2');
	await ui.keys('G');
	await waitSelected(ui, 'the last row after G', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('GET /report'));
	await ui.keys('g');
	await waitSelected(ui, 'the first row after g', (rows) => rows.join() === '2');
	await ui.keys('G', 'k');
	await waitSelected(ui, 'the fourth row after G k', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('GET /checkout'));
	// l opens too; ^T goes back to the list from two views deep
	await ui.keys('l');
	await ui.waitText(`Trace  ${TID.CHECKOUT}`);
	await ui.keys(':');
	await ui.type(`trace ${TID.ERROR}`);
	await ui.keys('Enter');
	await ui.waitText(`Trace  ${TID.ERROR}`);
	await ui.keys('y');
	await ui.waitScreen('the copied message', (s) => lastLine(s) === ` copied ${TID.ERROR}`);
	assert.equal(ui.clipboard(), TID.ERROR);
	await ui.keys('C-t');
	await ui.waitText(/^ obstui Traces /);
	await waitSelected(ui, 'GET /checkout still selected', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('GET /checkout'));
});

// tmux (and PuTTY) send Home and End as ESC [ 1 ~ and ESC [ 4 ~, which the
// xterm-256color terminfo does not list; the help promises 'g Home' and
// 'G End', so they must work there too (and never read as Esc + '[').
test('Home and End as tmux sends them (ESC [1~, ESC [4~) under TERM=xterm-256color', { skip }, async (t) => {
	const ui = await startLoaded(t);
	await openTrace(ui, 'GET /checkout');
	await ui.keys('End');
	await ui.waitScreen('End: the last span selected, in the trace view', (x) => /^ obstui Trace  /.test(x) &&
		selectedRows(ui).length === 1 && x.split('\n')[selectedRows(ui)[0]].includes('bank.authorize'));
	await ui.keys('Home');
	await ui.waitScreen('Home: the first span selected, in the trace view', (x) => /^ obstui Trace  /.test(x) &&
		selectedRows(ui).join() === '2');
	await ui.expectScreen('checkout-waterfall');
	await ui.keys('q');
	await ui.waitText(/^ obstui Traces /);
	await ui.keys('End');
	await waitSelected(ui, 'the last row after End', (rows, ls) => rows.length === 1 && ls[rows[0]].includes('GET /report'));
	await ui.keys('Home');
	await waitSelected(ui, 'the first row after Home', (rows) => rows.join() === '2');
});
