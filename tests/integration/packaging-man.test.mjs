// obstui(1) and the shell completions against the binary's own help: every
// command in `obstui help` and every option any `obstui help COMMAND` names
// must be in packaging/man/obstui.1 (so the man page and the command table
// never drift), the page must render without warnings, and the bash and zsh
// completions generated from the help (packaging/completions/) must offer
// the commands, each command's options and their values.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync, chmodSync, existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import { spawnSync } from 'node:child_process';
import { cli, tempDir, assertBinary } from './lib/obstui.mjs';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const MAN = join(ROOT, 'packaging', 'man', 'obstui.1');
const GEN = join(ROOT, 'packaging', 'completions', 'gen-completions.sh');
const BIN = process.env.OBSTUI_BIN || join(ROOT, 'obstui');

const has = (prog) => spawnSync('sh', ['-c', `command -v ${prog}`]).status === 0;

// The commands of `obstui help`, and every -x / --word token of each
// `obstui help COMMAND` (usage line, option lines and prose alike).
function helpTable(bin = BIN) {
	const run = (args) => {
		const r = spawnSync(bin, args, { encoding: 'utf8', timeout: 10000 });
		assert.equal(r.status, 0, `${bin} ${args.join(' ')}: ${r.stderr}`);
		return r.stdout;
	};
	const overview = run(['help']);
	const sect = overview.split(/^commands:\n/m)[1];
	assert.ok(sect, `no "commands:" section in obstui help:\n${overview}`);
	const cmds = [];
	for (const line of sect.split('\n')) {
		if (line === '') break;
		const m = /^ {2}([a-z][a-z-]*) /.exec(line);
		if (m) cmds.push(m[1]);
	}
	const opts = new Map();
	for (const c of cmds) {
		const set = new Set();
		for (const m of run(['help', c]).matchAll(/(?:^|[\s[(|,])(--?[a-z][a-z0-9-]*)/g)) set.add(m[1]);
		opts.set(c, set);
	}
	return { cmds, opts };
}

// What the mdoc source documents: `Cm NAME` words and `Fl -name` / `Fl x`.
function manTable(src) {
	const cm = new Set();
	const fl = new Set();
	for (const line of src.split('\n')) {
		if (!line.startsWith('.')) continue;
		const w = line.slice(1).split(/\s+/);
		for (let i = 0; i < w.length - 1; i++) {
			if (w[i] === 'Cm') for (let j = i + 1; j < w.length && /^[a-z]/.test(w[j]); j++) cm.add(w[j].replace(/[,;]$/, ''));
			if (w[i] === 'Fl') fl.add(`-${w[i + 1]}`);
		}
	}
	return { cm, fl };
}

function missing(help, src) {
	const man = manTable(src);
	const out = [];
	for (const c of help.cmds) if (!man.cm.has(c)) out.push(`command ${c}`);
	for (const [c, set] of help.opts) for (const o of set) if (!man.fl.has(o)) out.push(`${c} ${o}`);
	return out;
}

test('the man page lists every command and option obstui help lists', () => {
	assertBinary();
	const help = helpTable();
	assert.ok(help.cmds.length >= 10 && help.cmds.includes('serve') && help.cmds.includes('push'),
		`too few commands parsed from obstui help: ${help.cmds}`);
	assert.ok(help.opts.get('serve').has('--push-timeout') && help.opts.get('export').has('-o') &&
		help.opts.get('export').has('--limit'), 'options parsed from obstui help serve/export');
	const src = readFileSync(MAN, 'utf8');
	assert.deepEqual(missing(help, src), [],
		'in obstui help but not in packaging/man/obstui.1 (add them there)');
	// the check itself: a page without one option or one command fails it
	const noPush = src.replaceAll('Fl -push-timeout', 'Ar push-timeout');
	assert.deepEqual(missing(help, noPush), ['serve --push-timeout', 'demo --push-timeout', 'ui --push-timeout']);
	const noDoctor = src.replaceAll(/Cm doctor\b/g, 'Ar doctor');
	assert.ok(missing(help, noDoctor).includes('command doctor'));
});

test('the man page renders without warnings', { skip: !has('groff') && 'no groff' }, () => {
	const r = spawnSync('groff', ['-mandoc', '-Tutf8', '-ww', '-z', MAN], { encoding: 'utf8' });
	assert.equal(r.status, 0, r.stderr);
	assert.equal(r.stderr.trim(), '', `groff warnings:\n${r.stderr}`);
	const txt = spawnSync('groff', ['-mandoc', '-Tascii', '-P-c', '-rLL=200n', MAN], { encoding: 'utf8' })
		.stdout.replace(/.\x08/g, '');
	assert.match(txt, /^NAME\n\s+obstui /m);
	assert.match(txt, /--push-timeout DUR/);
});

// bash: source the generated file and call _obstui as bash would on TAB.
function bashComplete(file, words) {
	const script = `source "$1"; shift; COMP_WORDS=("$@"); COMP_CWORD=$((\${#COMP_WORDS[@]} - 1));
_obstui; printf '%s\\n' "\${COMPREPLY[@]}"`;
	const r = spawnSync('bash', ['-c', script, 'bash', file, ...words], { encoding: 'utf8', timeout: 10000 });
	assert.equal(r.status, 0, r.stderr);
	return r.stdout.split('\n').filter(Boolean).sort();
}

function generate(bin) {
	const out = tempDir('obstui-compl-');
	const r = spawnSync('sh', [GEN, bin, out], { encoding: 'utf8', timeout: 60000 });
	assert.equal(r.status, 0, `gen-completions: ${r.stderr}`);
	return out;
}

test('bash completion offers the commands, their options and values', () => {
	assertBinary();
	const dir = generate(BIN);
	const f = join(dir, 'obstui');
	const help = helpTable();
	assert.deepEqual(bashComplete(f, ['obstui', '']), [...help.cmds].sort());
	assert.deepEqual(bashComplete(f, ['obstui', 'se']), ['search', 'serve']);
	assert.deepEqual(bashComplete(f, ['obstui', 'serve', '--push']), ['--push', '--push-interval', '--push-timeout']);
	assert.deepEqual(bashComplete(f, ['obstui', '--store', '/tmp', 'export', '--format', '']), ['otlp-json', 'otlp-proto']);
	assert.deepEqual(bashComplete(f, ['obstui', 'remote', 'add', 'x', 'u', '--auth', 'wo']), ['workload-identity']);
	assert.deepEqual(bashComplete(f, ['obstui', 'help', 'ver']), ['version']);
	assert.deepEqual(bashComplete(f, ['obstui', 'remote', 'l']), ['list']);
	assert.deepEqual(bashComplete(f, ['obstui', '--th']), ['--theme']);
	// --store takes a directory: its value is not taken for the command
	assert.deepEqual(bashComplete(f, ['obstui', '--store', 'serve', 'st']), ['stats']);
	// every option a command's option lines or usage line name is offered for it
	for (const c of help.cmds) {
		const offered = new Set(bashComplete(f, ['obstui', c, '-']));
		const text = cli(['help', c]).stdout;
		for (const line of text.split('\n')) {
			const m = /^ +(--?[a-z][a-z0-9-]*)/.exec(line);
			if (m) assert.ok(offered.has(m[1]), `obstui ${c} -<TAB> does not offer ${m[1]}: ${[...offered]}`);
		}
	}
});

test('completions follow the help: a new command and option appear without edits', () => {
	// a stand-in binary whose help has one more command, with its own option
	const dir = tempDir('obstui-fakehelp-');
	const fake = join(dir, 'obstui');
	const real = cli(['help']).stdout.replace(/^( {2}version .*\n)/m,
		'$1  frobnicate twiddle the store\n');
	writeFileSync(join(dir, 'overview.txt'), real);
	writeFileSync(fake, `#!/bin/sh
if [ "$1" = help ] && [ -z "$2" ]; then cat "${dir}/overview.txt"; exit 0; fi
if [ "$1" = help ] && [ "$2" = frobnicate ]; then
	printf 'usage: obstui frobnicate [--wibble DIR]\\n\\ntwiddle\\n\\n  --wibble DIR   where\\n'; exit 0; fi
exec "${BIN}" "$@"
`);
	chmodSync(fake, 0o755);
	const f = join(generate(fake), 'obstui');
	assert.deepEqual(bashComplete(f, ['obstui', 'fro']), ['frobnicate']);
	assert.deepEqual(bashComplete(f, ['obstui', 'frobnicate', '--w']), ['--wibble']);
	// and the man page check notices the page lacks them
	const miss = missing(helpTable(fake), readFileSync(MAN, 'utf8'));
	assert.deepEqual(miss.sort(), ['command frobnicate', 'frobnicate --wibble']);
});

test('zsh completion defines the commands and each command\'s options', { skip: !has('zsh') && 'no zsh' }, () => {
	assertBinary();
	const f = join(generate(BIN), '_obstui');
	const n = spawnSync('zsh', ['-n', f], { encoding: 'utf8' });
	assert.equal(n.status, 0, n.stderr);
	// load it with stand-ins for the completion system's functions, and print
	// what it would describe and the option specs of serve and remote
	const script = `_arguments() { return 1 }; _describe() { return 0 }; source "$1" >/dev/null 2>&1
print -l -- \${_obstui_cmds%%:*}; print -- "==="; print -l -- $_obstui_args_serve; print -- "==="; print -l -- $_obstui_args_remote`;
	const r = spawnSync('zsh', ['-f', '-c', script, 'zsh', f], { encoding: 'utf8', timeout: 10000 });
	assert.equal(r.status, 0, r.stderr);
	const [cmds, serve, remote] = r.stdout.split('===\n').map((s) => s.split('\n').filter(Boolean));
	assert.deepEqual(cmds.sort(), [...helpTable().cmds].sort());
	assert.ok(serve.some((s) => s.startsWith('--store[') && s.endsWith(':DIR:_files -/')), serve.join('\n'));
	assert.ok(serve.some((s) => s.startsWith('--push-timeout[')), serve.join('\n'));
	assert.ok(remote.some((s) => s.startsWith('--auth[') && s.includes('(connection-string key sas workload-identity')), remote.join('\n'));
});

test('the packaged files exist where the Debian package takes them', () => {
	assert.ok(existsSync(MAN) && existsSync(GEN));
});
