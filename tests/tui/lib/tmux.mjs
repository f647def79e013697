// tmux.mjs - run `obstui` (the UI) in a private tmux server and look at it
// as a person would: send keys, read the screen.
//
//   const ui = await startUi({ cols: 120, rows: 32, t });  // empty store, free ports
//   await send(ui, traceSet());                            // (ui.mjs) POST /v1/traces
//   await ui.waitText(/5 traces/);
//   await ui.keys('j', 'Enter');                           // tmux key names
//   await ui.expectScreen('checkout-waterfall');           // tests/tui/expected/*.txt
//   await ui.click(30, 5); await ui.wheel('down', 30, 5);  // the mouse, as the terminal reports it
//   ui.signal('SIGTERM');                                  // to obstui itself
//   await ui.keys('q'); await ui.waitExit();               // the exit status
//
// Every UI gets its own tmux server (-L obstui-tui-<pid>-<n>, no config
// file but ours) holding one session of a fixed size, so nothing here can
// touch another tmux server or session; the server is killed when the test
// ends (t.after) and, failing that, when the test process exits.  The
// program runs under `sh -c 'obstui ...; echo EXIT=$? > FILE; exec sleep'`
// (and remain-on-exit on), so after it quits the pane still shows what the
// terminal was left with, and FILE has the exit status.
//
// Waiting is always by polling the screen with a bound (5 s unless told),
// never by a fixed sleep.

import { spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, existsSync, mkdirSync, rmSync } from 'node:fs';
import { join, dirname, resolve, basename } from 'node:path';
import { fileURLToPath } from 'node:url';
import net from 'node:net';
import assert from 'node:assert/strict';
import { BIN, tempDir, assertBinary } from '../../integration/lib/obstui.mjs';
import { normalize, parseAnsiScreen } from './screen.mjs';

const HERE = dirname(fileURLToPath(import.meta.url));
export const EXPECTED_DIR = resolve(HERE, '../expected');
export const UPDATE = process.env.OBSTUI_TUI_UPDATE === '1';
export const WAIT_MS = Number(process.env.OBSTUI_TUI_WAIT_MS || 5000);

let counter = 0;
const servers = new Set();
const socketPaths = new Map();
// Kill one of our servers and remove its socket file (tmux leaves it behind).
function killServer(sock) {
	spawnSync('tmux', ['-L', sock, 'kill-server'], { stdio: 'ignore', timeout: 10000 });
	const path = socketPaths.get(sock);
	if (path && basename(path) === sock) rmSync(path, { force: true });
	servers.delete(sock);
	socketPaths.delete(sock);
}
process.on('exit', () => {
	for (const sock of [...servers]) killServer(sock);
});

const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

export function hasTmux() {
	return spawnSync('tmux', ['-V'], { encoding: 'utf8' }).status === 0;
}

// A port nobody listens on now (bound to 0 by us, then released).
export function freePort() {
	return new Promise((res, rej) => {
		const s = net.createServer();
		s.on('error', rej);
		s.listen(0, '127.0.0.1', () => {
			const { port } = s.address();
			s.close(() => res(port));
		});
	});
}

const shq = (s) => `'${String(s).replace(/'/g, "'\\''")}'`;

// startUi({cols, rows, env, args, store, command, t}) -> ui handle (see the methods below).
// env is the program's environment on top of LANG=C.UTF-8 TZ=UTC
// TERM=xterm-256color; a value of null removes a variable.  command runs
// `obstui COMMAND ...` (e.g. 'demo') instead of the plain UI.
export async function startUi({ cols = 120, rows = 32, env = {}, args = [], store, command, t } = {}) {
	assertBinary();
	const n = ++counter;
	const sock = `obstui-tui-${process.pid}-${n}`;
	const session = sock;
	const dir = tempDir('obstui-tui-');
	store = store ?? join(dir, 'store');
	const httpPort = await freePort();
	const apiPort = await freePort();
	const exitFile = join(dir, 'exit');
	const conf = join(dir, 'tmux.conf');
	writeFileSync(conf, [
		'set -g status off',
		'set -g remain-on-exit on',
		'set -g history-limit 0',
		'set -g escape-time 0',
		// OSC 52 from the program sets a tmux buffer the tests can read
		'set -g set-clipboard on',
		`set -g default-size ${cols}x${rows}`,
		'',
	].join('\n'));
	const argv = [BIN, ...(command ? [command] : []), '--store', store, '--otlp-http', `127.0.0.1:${httpPort}`, '--otlp-grpc', 'off',
		'--zipkin', 'off', '--api', `127.0.0.1:${apiPort}`, ...args];
	const progEnv = { LANG: 'C.UTF-8', TZ: 'UTC', TERM: 'xterm-256color', ...env };
	const unset = Object.entries(progEnv).filter(([, v]) => v === null).map(([k]) => `-u ${k}`);
	const set = Object.entries(progEnv).filter(([, v]) => v !== null).map(([k, v]) => `${k}=${shq(v)}`);
	// LC_ALL and LC_CTYPE would override LANG: the tests say what the locale
	// is.  After obstui exits the shell records its status and then waits
	// (printing nothing), so the pane shows what obstui left on the terminal
	// and tmux's pane flags (alternate screen, cursor, mouse) are obstui's.
	const cmd = `env -u LC_ALL -u LC_CTYPE -u NO_COLOR ${unset.join(' ')} ${set.join(' ')} ${argv.map(shq).join(' ')}; echo EXIT=$? > ${shq(exitFile)}; exec sleep 3600`;
	const tmuxEnv = { ...process.env, LANG: 'C.UTF-8', LC_ALL: 'C.UTF-8' };
	delete tmuxEnv.TMUX;
	const tmux = (...a) => {
		const r = spawnSync('tmux', ['-L', sock, ...a], { encoding: 'utf8', env: tmuxEnv, timeout: 10000 });
		if (r.status !== 0)
			throw new Error(`tmux ${a.join(' ')}: exit ${r.status}: ${r.stderr}`);
		return r.stdout;
	};
	servers.add(sock);
	tmux('-f', conf, 'new-session', '-d', '-s', session, '-x', String(cols), '-y', String(rows),
		'sh', '-c', cmd);
	socketPaths.set(sock, tmux('display', '-p', '-t', session, '#{socket_path}').trim());

	const ui = {
		sock, session, store, dir, exitFile, cols, rows, argv,
		otlp: `http://127.0.0.1:${httpPort}`, api: `http://127.0.0.1:${apiPort}`,
		httpPort, apiPort,
		tmux,
		// the screen as text: exactly `rows` lines, trailing spaces cut
		capture() {
			const out = tmux('capture-pane', '-p', '-t', session);
			const lines = out.replace(/\n$/, '').split('\n').map((l) => l.replace(/\s+$/, ''));
			const h = Number(tmux('display', '-p', '-t', session, '#{pane_height}').trim());
			while (lines.length < h) lines.push('');
			return lines.slice(0, h).join('\n');
		},
		// the screen with SGR escapes
		captureAnsi() {
			return tmux('capture-pane', '-p', '-e', '-N', '-t', session);
		},
		// cells with styles: [[{ch, fg, bg, bold, reverse, ...}]]
		cells() {
			return parseAnsiScreen(ui.captureAnsi());
		},
		// what the program last copied with OSC 52 ('' when nothing)
		clipboard() {
			const r = spawnSync('tmux', ['-L', sock, 'show-buffer'], { encoding: 'utf8', env: tmuxEnv, timeout: 10000 });
			return r.status === 0 ? r.stdout : '';
		},
		info(fmt) {
			return tmux('display', '-p', '-t', session, fmt).trim();
		},
		// obstui still running (the exit file is written when it ends)
		alive() {
			return ui.exitStatus() === null && ui.info('#{pane_dead}') !== '1';
		},
		// keys: tmux key names ('Enter', 'Escape', 'Tab', 'Up', 'Space', 'C-c') or
		// single characters; { text: '...' } sends literally.
		async keys(...ks) {
			for (const k of ks) {
				if (typeof k === 'object') tmux('send-keys', '-t', session, '-l', k.text);
				else tmux('send-keys', '-t', session, k);
				// a person's pace: let the UI take each key before the next,
				// so an Escape is not read as the start of an escape sequence
				// (curses waits ESCDELAY, 25 ms, for the rest of one)
				await sleep(k === 'Escape' ? 80 : 40);
			}
		},
		async type(text) {
			await ui.keys({ text });
		},
		// Bytes as the terminal would send them (send-keys -H puts them in
		// the pane's input as they are, past tmux's key names).
		async input(bytes) {
			tmux('send-keys', '-t', session, '-H', ...[...Buffer.from(bytes, 'latin1')].map((b) => b.toString(16)));
			await sleep(40);
		},
		// The mouse.  ncurses asks for SGR reports under TERM=xterm-256color
		// (its terminfo: kmous=\E[<, XM sets modes 1000 and 1006), so they are
		// sent as xterm sends them then: ESC [ < BUTTON ; X ; Y, then M for a
		// press or m for a release; X and Y count from 1.  Here x and y count
		// from 0, as in a capture (y is the screen row).  ncurses makes a
		// click of a press and a release that come within its mouseinterval
		// (300 ms), a double click of two clicks; so a click takes effect
		// 300 ms after it is sent, which the tests' polling waits out.
		async click(x, y) {
			await ui.input(sgrClick(x, y));
		},
		async doubleClick(x, y) {
			await ui.input(sgrClick(x, y) + sgrClick(x, y));
		},
		// The wheel: buttons 64 (up) and 65 (down), pressed, never released.
		async wheel(dir, x, y) {
			await ui.input(`\x1b[<${dir === 'up' ? 64 : 65};${x + 1};${y + 1}M`);
		},
		// obstui's process id: the child of the pane's shell that runs BIN
		// (ps shows the first 15 characters of its name).
		pid() {
			const shell = ui.info('#{pane_pid}');
			const r = spawnSync('ps', ['-o', 'pid=,comm=', '--ppid', shell], { encoding: 'utf8', timeout: 10000 });
			const comm = basename(BIN).slice(0, 15);
			const child = r.stdout.split('\n').map((l) => l.trim().split(/\s+/)).find(([, c]) => c === comm);
			assert.ok(child, `no obstui process under the pane's shell ${shell}: ${r.stdout}`);
			return Number(child[0]);
		},
		// Send a signal to obstui (not to the shell or tmux).
		signal(name) {
			process.kill(ui.pid(), name);
		},
		resize(x, y) {
			tmux('resize-window', '-t', session, '-x', String(x), '-y', String(y));
		},
		// Poll until fn(screen) is truthy; fail with the last screen after `timeout`.
		async waitScreen(what, fn, { timeout = WAIT_MS, interval = 50, ansi = false } = {}) {
			const end = Date.now() + timeout;
			let last = '';
			for (;;) {
				last = ansi ? ui.captureAnsi() : ui.capture();
				let v;
				try { v = fn(last); } catch (e) { v = false; }
				if (v) return last;
				if (Date.now() > end) {
					const dead = !ui.alive() ? `\nobstui has EXITED (status ${ui.exitStatus() ?? 'unknown: no exit file'}); its log:\n${ui.log()}` : '';
					assert.fail(`timed out after ${timeout} ms waiting for ${what}; screen:\n${ansi ? normalize(stripAnsi(last)) : last}${dead}`);
				}
				await sleep(interval);
			}
		},
		waitText(re, opts) {
			const test = typeof re === 'string' ? (s) => s.includes(re) : (s) => re.test(s);
			return ui.waitScreen(`${re}`, test, opts);
		},
		waitGone(re, opts) {
			const test = typeof re === 'string' ? (s) => !s.includes(re) : (s) => !re.test(s);
			return ui.waitScreen(`${re} to go away`, test, opts);
		},
		// Compare the (normalized) screen with expected/NAME.txt, polling until
		// it matches.  With OBSTUI_TUI_UPDATE=1 write the file instead, from a
		// screen that has stopped changing (and that `ready` accepts).
		async expectScreen(name, { ready = () => true, timeout = WAIT_MS } = {}) {
			const file = join(EXPECTED_DIR, `${name}.txt`);
			if (UPDATE || !existsSync(file)) {
				if (!UPDATE)
					assert.fail(`no expected screen ${file}: run with OBSTUI_TUI_UPDATE=1, then READ the file before committing it`);
				let prev = null;
				const s = await ui.waitScreen(`a stable screen for ${name}`, (raw) => {
					const cur = normalize(raw);
					const ok = ready(cur) && cur === prev;
					prev = cur;
					return ok;
				}, { timeout, interval: 250 });
				mkdirSync(EXPECTED_DIR, { recursive: true });
				writeFileSync(file, `${normalize(s)}\n`);
				return normalize(s);
			}
			const want = readFileSync(file, 'utf8').replace(/\n$/, '');
			let got = '';
			try {
				await ui.waitScreen(`the screen ${name}`, (raw) => (got = normalize(raw)) === want, { timeout });
			} catch {
				const dead = !ui.alive() ? ` - obstui has EXITED (status ${ui.exitStatus() ?? 'unknown'}); its log:\n${ui.log()}` : '';
				assert.equal(got, want, `screen differs from ${file} (OBSTUI_TUI_UPDATE=1 rewrites it; read the diff first)${dead}`);
			}
			return got;
		},
		exitStatus() {
			try {
				const m = /EXIT=(\d+)/.exec(readFileSync(exitFile, 'utf8'));
				return m ? Number(m[1]) : null;
			} catch { return null; }
		},
		async waitExit(timeout = WAIT_MS) {
			const end = Date.now() + timeout;
			while (Date.now() < end) {
				const s = ui.exitStatus();
				if (s !== null) return s;
				await sleep(50);
			}
			assert.fail(`obstui did not exit within ${timeout} ms; screen:\n${ui.capture()}`);
		},
		log() {
			try { return readFileSync(join(store, 'obstui.log'), 'utf8').slice(-3000); } catch { return '(no log)'; }
		},
		kill() {
			if (!servers.has(sock)) return;
			killServer(sock);
		},
	};
	if (t) t.after(() => ui.kill());
	return ui;
}

// A left-button press and release at cell (x, y) (from 0), in SGR form.
function sgrClick(x, y) {
	return `\x1b[<0;${x + 1};${y + 1}M\x1b[<0;${x + 1};${y + 1}m`;
}

export function stripAnsi(s) {
	return s.replace(/\x1b\[[0-9;:?]*[A-Za-z]/g, '').replace(/\x1b[()][0-9A-Za-z]/g, '');
}

