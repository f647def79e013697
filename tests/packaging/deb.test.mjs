// The Debian package (packaging/debian): make deb's build, lintian clean
// (errors and warnings fail; overrides are justified in the package), the
// systemd unit verified by systemd-analyze, and the package installed with
// apt-get into a fresh bookworm root (mmdebstrap --variant=apt) where
// `obstui version` runs, postinst made the user and the store, and purge
// removes the store.  The same package built without its shared-library
// Depends installs but does not run there: the Depends are what make it work.
//
// Needs root, dpkg-dev, lintian, mmdebstrap and network to the Debian mirror;
// run by make test-packaging.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync, readFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const run = (cmd, args, opts = {}) => spawnSync(cmd, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 64 << 20, ...opts });
const version = /#define OBSTUI_VERSION "([^"]+)"/.exec(readFileSync(join(ROOT, 'src/core/util.h'), 'utf8'))[1];
const arch = run('dpkg', ['--print-architecture']).stdout.trim();

function build(...args) {
	const r = run(join(ROOT, 'packaging/debian/build-deb.sh'), args, { timeout: 900000 });
	assert.equal(r.status, 0, `build-deb.sh ${args.join(' ')}:\n${r.stderr.slice(-4000)}`);
	return r.stdout.trim().split('\n').pop();
}

function facts(deb) {
	const r = run(join(ROOT, 'packaging/debian/fresh-root.sh'), [deb], { timeout: 900000 });
	assert.equal(r.status, 0, `fresh-root.sh ${deb}:\n${r.stderr.slice(-4000)}`);
	const f = { out: r.stdout, log: r.stderr };
	for (const line of r.stdout.split('\n')) {
		const m = /^([a-z-]+): (.*)$/.exec(line);
		if (m) f[m[1]] = m[2];
	}
	return f;
}

let deb;
test('make deb builds obstui_VERSION_ARCH.deb with computed Depends', () => {
	deb = build();
	assert.equal(deb, join(ROOT, 'build', `obstui_${version}_${arch}.deb`));
	const ctl = run('dpkg-deb', ['-f', deb, 'Package', 'Version', 'Depends']).stdout;
	assert.match(ctl, /^Package: obstui$/m);
	assert.match(ctl, new RegExp(`^Version: ${version.replace(/\./g, '\\.')}$`, 'm'));
	// from dpkg-shlibdeps: the libraries the binary links, with versions
	for (const lib of ['libc6 (>= ', 'libsqlite3-0', 'libzstd1', 'libmicrohttpd12', 'libssl3', 'adduser'])
		assert.ok(ctl.includes(lib), `Depends lacks ${lib}:\n${ctl}`);
	const files = run('dpkg-deb', ['-c', deb]).stdout;
	for (const f of ['./usr/bin/obstui', './usr/share/man/man1/obstui.1.gz',
		'./usr/share/bash-completion/completions/obstui', './usr/share/zsh/vendor-completions/_obstui',
		'./lib/systemd/system/obstui.service', './etc/default/obstui', './usr/share/doc/obstui/copyright'])
		assert.ok(files.includes(` ${f}\n`), `${f} not in the package:\n${files}`);
});

test('lintian: no errors or warnings', () => {
	assert.ok(deb, 'needs the package from the first test');
	const r = run('lintian', ['--fail-on', 'error,warning', deb], { timeout: 300000 });
	assert.equal(r.status, 0, `lintian:\n${r.stdout}${r.stderr}`);
	assert.doesNotMatch(r.stdout, /^[EW]: /m, r.stdout);
});

test('the systemd unit verifies and is sandboxed', { skip: run('sh', ['-c', 'command -v systemd-analyze']).status !== 0 && 'no systemd-analyze' }, () => {
	assert.ok(deb, 'needs the package from the first test');
	const dir = mkdtempSync(join(tmpdir(), 'obstui-unit-'));
	try {
		assert.equal(run('dpkg-deb', ['-x', deb, dir]).status, 0);
		const unit = readFileSync(join(dir, 'lib/systemd/system/obstui.service'), 'utf8');
		for (const line of ['User=obstui', 'NoNewPrivileges=yes', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/obstui',
			'StateDirectory=obstui', 'ExecStart=/usr/bin/obstui serve --store /var/lib/obstui $OBSTUI_ARGS'])
			assert.ok(unit.split('\n').includes(line), `unit lacks ${line}`);
		// systemd-analyze checks ExecStart: point it at the extracted binary
		writeFileSync(join(dir, 'obstui.service'), unit.replaceAll('/usr/bin/obstui', join(dir, 'usr/bin/obstui')));
		const v = run('systemd-analyze', ['verify', '--man=no', join(dir, 'obstui.service')]);
		assert.equal(v.status, 0, `systemd-analyze verify:\n${v.stdout}${v.stderr}`);
		assert.equal(v.stderr.trim(), '', v.stderr);
		const s = run('systemd-analyze', ['security', '--offline=true', '--threshold=20', join(dir, 'obstui.service')]);
		assert.equal(s.status, 0, `exposure above 2.0:\n${s.stdout.split('\n').slice(-3).join('\n')}`);
	} finally {
		rmSync(dir, { recursive: true, force: true });
	}
});

test('installed in a fresh bookworm root with apt-get, obstui runs', () => {
	assert.ok(deb, 'needs the package from the first test');
	const f = facts(deb);
	assert.equal(f.install, '0', f.log.slice(-3000));
	assert.equal(f.version, '0', f.out);
	assert.match(f.out, new RegExp(`^obstui ${version.replace(/\./g, '\\.')}$`, 'm'));
	assert.equal(f.user, 'obstui');
	assert.equal(f.store, '750 obstui:obstui');
	assert.equal(f['store-as-user'], '0', `the user obstui cannot use its store:\n${f.log.slice(-2000)}`);
	assert.equal(f.purge, 'removed');
});

test('built without its Depends, the package installs but obstui does not run', () => {
	const bad = build('--without-depends');
	const dep = run('dpkg-deb', ['-f', bad, 'Depends']).stdout.trim();
	assert.equal(dep, 'adduser');
	const f = facts(bad);
	assert.equal(f.install, '0', f.log.slice(-3000));
	assert.notEqual(f.version, '0', `obstui version ran without its libraries:\n${f.out}`);
	assert.match(f.out, /error while loading shared libraries/);
});
