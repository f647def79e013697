// obstui.mjs - start the real obstui binary for a test, talk HTTP to it, run its CLI.
//
//   const srv = await startServe();            // fresh temp store, ports picked by obstui
//   await post(srv.otlp + '/v1/traces', body, {'content-type': 'application/json'});
//   const r = await get(srv.api + '/api/v2/traces/' + id);
//
// Every server started here is killed by an after() hook of the test file
// (and, failing that, when the test process exits); temp stores are removed.
// The binary is $OBSTUI_BIN, or ./obstui at the repository root.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import http from 'node:http';
import https from 'node:https';
import { after } from 'node:test';

export const REPO = resolve(dirname(fileURLToPath(import.meta.url)), '../../..');
export const BIN = resolve(REPO, process.env.OBSTUI_BIN || './obstui');

const live = new Set();
const tempDirs = new Set();
// host:port -> the CA that signed the certificate of an obstui started with
// --tls-cert (startServe's `ca`), so request() can speak https to it.
const tlsCa = new Map();

after(async () => {
	for (const s of [...live]) await s.stop().catch(() => {});
	for (const d of tempDirs) rmSync(d, { recursive: true, force: true });
});
process.on('exit', () => {
	for (const s of live) try { process.kill(s.pid, 'SIGKILL'); } catch { /* gone */ }
	for (const d of tempDirs) try { rmSync(d, { recursive: true, force: true }); } catch { /* ignore */ }
});

export function tempDir(prefix = 'obstui-it-') {
	const d = mkdtempSync(join(tmpdir(), prefix));
	tempDirs.add(d);
	return d;
}

export function assertBinary() {
	if (!existsSync(BIN))
		throw new Error(`obstui binary not found at ${BIN}: run make at the repository root or set OBSTUI_BIN`);
}

// The listener flags startServe passes unless told otherwise.
export const TEST_LISTENERS = ['--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0',
	'--otlp-grpc', 'off', '--zipkin', 'off'];

// startServe({store, args, readyTimeout, command, listeners}) -> server handle:
//   { pid, store, otlp: 'http://127.0.0.1:P', api: 'http://127.0.0.1:Q',
//     grpc: '127.0.0.1:R' (only with args ['--otlp-grpc', '127.0.0.1:0']), stdout(), stderr(),
//     stop(signal='SIGTERM') -> {code, signal}, kill9(), exited (promise) }
// command is 'serve' or another command that starts a node and prints
// "listening ..." and "ready" as serve does ('demo'); listeners replaces
// TEST_LISTENERS.  With --tls-cert in args, the listeners print " tls" and
// srv.otlp / srv.api are https:// URLs; ca (PEM) is the CA request() trusts
// for them.
export async function startServe({ store, args = [], readyTimeout = 15000, env = {}, command = 'serve',
	listeners = TEST_LISTENERS, ca } = {}) {
	assertBinary();
	store = store ?? tempDir();
	const argv = [command, '--store', store, ...listeners, ...args];
	const child = spawn(BIN, argv, { stdio: ['ignore', 'pipe', 'pipe'], env: { ...process.env, ...env } });
	let out = '';
	let err = '';
	child.stdout.setEncoding('utf8');
	child.stderr.setEncoding('utf8');
	child.stderr.on('data', (d) => { err += d; if (err.length > 1 << 20) err = err.slice(-(1 << 19)); });
	const exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
	const srv = {
		pid: child.pid, store, child, argv, exited,
		stdout: () => out, stderr: () => err,
		listeners: {},
		async stop(signal = 'SIGTERM', timeout = 15000) {
			if (child.exitCode === null && child.signalCode === null) {
				child.kill(signal);
				const t = setTimeout(() => child.kill('SIGKILL'), timeout);
				const r = await exited;
				clearTimeout(t);
				live.delete(srv);
				return r;
			}
			live.delete(srv);
			return exited;
		},
		kill9() { return srv.stop('SIGKILL'); },
		alive() { return child.exitCode === null && child.signalCode === null; },
		// peak resident set in MiB (VmHWM), or null once the process is gone
		peakRssMiB() {
			try {
				const m = /VmHWM:\s+(\d+) kB/.exec(readFileSync(`/proc/${child.pid}/status`, 'utf8'));
				return m ? Number(m[1]) / 1024 : null;
			} catch { return null; }
		},
		// true when the binary was built with AddressSanitizer (RSS means little then)
		sanitized() {
			try { return /libasan|libclang_rt\.asan/.test(readFileSync(`/proc/${child.pid}/maps`, 'utf8')); } catch { return false; }
		},
	};
	live.add(srv);
	await new Promise((res, rej) => {
		const timer = setTimeout(() => {
			child.kill('SIGKILL');
			rej(new Error(`obstui ${command} not ready after ${readyTimeout} ms\nargv: ${argv.join(' ')}\nstdout: ${out}\nstderr: ${err.slice(-4000)}`));
		}, readyTimeout);
		child.stdout.on('data', (d) => {
			out += d;
			for (const line of out.split('\n')) {
				const m = /^listening (\S+) (\S+)( tls)?\s*$/.exec(line);
				if (m) srv.listeners[m[1]] = m[2];
				if (m && m[3]) srv.tls = true;
			}
			if (/^ready\s*$/m.test(out)) { clearTimeout(timer); res(); }
		});
		child.on('exit', (code, signal) => {
			clearTimeout(timer);
			rej(new Error(`obstui ${command} exited (code ${code}, signal ${signal}) before ready\nargv: ${argv.join(' ')}\nstdout: ${out}\nstderr: ${err.slice(-4000)}`));
		});
		child.on('error', (e) => { clearTimeout(timer); rej(e); });
	});
	if (!srv.listeners['otlp-http'] || !srv.listeners.api)
		throw new Error(`obstui ${command} printed ready without both listeners: ${JSON.stringify(out)}`);
	const scheme = srv.tls ? 'https' : 'http';
	srv.otlp = `${scheme}://${srv.listeners['otlp-http']}`;
	srv.api = `${scheme}://${srv.listeners.api}`;
	if (srv.tls && ca)
		for (const a of Object.values(srv.listeners)) tlsCa.set(a, ca);
	srv.grpc = srv.listeners['otlp-grpc'];
	return srv;
}

// --- HTTP ---------------------------------------------------------------------------

// request(url, {method, headers, body, timeout}) -> {status, headers, body: Buffer, ms}
// body may be a Buffer, a string, or an async iterable of Buffers (streamed).
// A server that answers before it has read the whole body and then closes is
// fine: the answer is returned even if writing the rest failed.
// https:// URLs trust `ca`, else the CA startServe was given for that address.
export function request(url, { method = 'GET', headers = {}, body, timeout = 20000, ca } = {}) {
	const t0 = Date.now();
	return new Promise((res, rej) => {
		const u = new URL(url);
		const secure = u.protocol === 'https:';
		const req = (secure ? https : http).request({
			host: u.hostname, port: u.port, path: u.pathname + u.search, method, headers,
			agent: false,
			...(secure ? { ca: ca ?? tlsCa.get(u.host), servername: 'localhost' } : {}),
		});
		let done = false;
		let writeErr = null;
		const timer = setTimeout(() => {
			if (done) return;
			done = true;
			req.destroy();
			rej(new Error(`${method} ${url}: no answer within ${timeout} ms`));
		}, timeout);
		req.on('response', (r) => {
			const chunks = [];
			r.on('data', (c) => chunks.push(c));
			r.on('end', () => {
				if (done) return;
				done = true;
				clearTimeout(timer);
				res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks), ms: Date.now() - t0 });
			});
			r.on('error', (e) => {
				if (done) return;
				done = true;
				clearTimeout(timer);
				res({ status: r.statusCode, headers: r.headers, body: Buffer.concat(chunks), ms: Date.now() - t0, error: e });
			});
		});
		req.on('error', (e) => {
			writeErr = e;
			// give a response that is already on its way a moment to arrive
			setTimeout(() => {
				if (done) return;
				done = true;
				clearTimeout(timer);
				rej(new Error(`${method} ${url}: ${e.message}`));
			}, 300);
		});
		if (body === undefined || typeof body === 'string' || Buffer.isBuffer(body)) {
			req.end(body);
		} else {
			(async () => {
				try {
					for await (const chunk of body) {
						if (writeErr || done) break;
						if (!req.write(chunk)) await new Promise((r) => { req.once('drain', r); req.once('close', r); });
					}
					req.end();
				} catch (e) { req.destroy(e); }
			})();
		}
	});
}

export const get = (url, headers = {}, opts = {}) => request(url, { headers, ...opts });
export const post = (url, body, headers = {}, opts = {}) =>
	request(url, { method: 'POST', body, headers: { 'content-length': Buffer.byteLength(body), ...headers }, ...opts });

export async function getJson(url, headers = {}) {
	const r = await get(url, { accept: 'application/json', ...headers });
	if (r.status !== 200) throw new Error(`GET ${url}: ${r.status} ${r.body.toString().slice(0, 500)}`);
	try {
		return JSON.parse(r.body.toString('utf8'));
	} catch (e) {
		throw new Error(`GET ${url}: answer is not JSON: ${e.message}: ${r.body.toString().slice(0, 300)}`);
	}
}

export async function waitFor(what, fn, { timeout = 15000, interval = 100 } = {}) {
	const end = Date.now() + timeout;
	let last;
	for (;;) {
		try {
			const v = await fn();
			if (v) return v;
		} catch (e) { last = e; }
		if (Date.now() > end) throw new Error(`timed out after ${timeout} ms waiting for ${what}${last ? `: ${last.message}` : ''}`);
		await new Promise((r) => setTimeout(r, interval));
	}
}

// --- CLI --------------------------------------------------------------------------------

// cli(args, {input, timeout}) -> {code, signal, stdout, stderr}
export function cli(args, { timeout = 30000, input, env = {}, encoding = 'utf8' } = {}) {
	assertBinary();
	const r = spawnSync(BIN, args, {
		input, timeout, encoding, maxBuffer: 256 << 20, env: { ...process.env, ...env },
	});
	if (r.error) throw new Error(`obstui ${args.join(' ')}: ${r.error.message}`);
	return { code: r.status, signal: r.signal, stdout: r.stdout, stderr: r.stderr };
}

export function describeCli(args, r) {
	return `obstui ${args.map((a) => (a.length > 80 ? `${a.slice(0, 77)}...` : a)).join(' ')} -> exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${String(r.stdout).slice(0, 1500)}\nstderr: ${String(r.stderr).slice(0, 1500)}`;
}
