// TLS and bearer tokens on every listener (--tls-cert/--tls-key,
// --tls-client-ca, --auth-token-file, --open-paths), with the real clients:
// curl and openssl s_client, the OpenTelemetry JS exporters over gRPC and
// HTTP, Zipkin JSON and a Prometheus remote write.  Certificates are made
// here with the openssl CLI: a CA, two server certificates for
// localhost/127.0.0.1 (the second one is swapped in on disk while obstui
// runs) and a client certificate.
//
// One obstui serves all four listeners with TLS and a token (its log at
// debug level, to be searched for the tokens at the end); a second one
// requires client certificates.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { writeFileSync, renameSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import grpc from '@grpc/grpc-js';
import { OTLPTraceExporter as GrpcExporter } from '@opentelemetry/exporter-trace-otlp-grpc';
import { OTLPTraceExporter as ProtoExporter } from '@opentelemetry/exporter-trace-otlp-proto';
import { startServe, tempDir, request, waitFor, cli } from './lib/obstui.mjs';
import { richTrace, takeExportErrors } from './lib/sdk.mjs';
import { connect, unary, closeSession, describe, within, EXPORT, GRPC } from './lib/grpc.mjs';
import { encodeWriteRequest, snappyEncode, RW_HEADERS } from './lib/promrw.mjs';
import { traceId as newTraceId, spanId as newSpanId } from './lib/traces.mjs';

const TOKEN1 = 'tok1-Zq8vX3kP9mW2sL7d';
const TOKEN2 = 'tok2-Hn4cR6tY1bJ5gF0a';
const WRONG = 'wrong-Ue2wQ9pZ4xN7vK3m';

let dir, pki, srv, addr;

function openssl(args, what) {
	const r = spawnSync('openssl', args, { encoding: 'utf8', timeout: 20000, cwd: dir });
	if (r.status !== 0) throw new Error(`openssl ${what} failed (${r.status}): ${r.stderr}`);
	return r.stdout;
}

// A CA, and certificates it signs (EC keys: fast to make).
function makePki() {
	const p = (n) => join(dir, n);
	const ec = ['-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes', '-sha256'];
	openssl(['req', '-x509', ...ec, '-keyout', p('ca.key'), '-out', p('ca.pem'), '-days', '2',
		'-subj', '/CN=obstui test CA'], 'CA');
	writeFileSync(p('server.ext'), 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n');
	writeFileSync(p('client.ext'), 'extendedKeyUsage=clientAuth\n');
	const sign = (name, subj, ext, serial) => {
		openssl(['req', ...ec, '-keyout', p(`${name}.key`), '-out', p(`${name}.csr`), '-subj', subj], `${name} key`);
		openssl(['x509', '-req', '-in', p(`${name}.csr`), '-CA', p('ca.pem'), '-CAkey', p('ca.key'),
			'-set_serial', serial, '-out', p(`${name}.pem`), '-days', '2', '-extfile', p(ext)], `${name} cert`);
	};
	sign('server1', '/CN=localhost', 'server.ext', '0x1001');
	sign('server2', '/CN=localhost', 'server.ext', '0x2002');
	sign('client', '/CN=a collector', 'client.ext', '0x3003');
	return {
		ca: readFileSync(p('ca.pem')), caFile: p('ca.pem'),
		cert: p('tls.pem'), key: p('tls.key'),
		clientCert: p('client.pem'), clientKey: p('client.key'),
	};
}

// Put server certificate n in place the way Kubernetes does: write aside, rename over.
function installCert(n) {
	for (const ext of ['pem', 'key']) {
		writeFileSync(join(dir, `next.${ext}`), readFileSync(join(dir, `server${n}.${ext}`)));
		renameSync(join(dir, `next.${ext}`), join(dir, `tls.${ext}`));
	}
}

function writeTokens(text) {
	writeFileSync(join(dir, 'tokens.next'), text);
	renameSync(join(dir, 'tokens.next'), join(dir, 'tokens'));
}

// openssl s_client to addr: {ok, serial, protocol, out}
function sClient(a, extra = []) {
	const r = spawnSync('openssl', ['s_client', '-connect', a, '-servername', 'localhost', '-CAfile', pki.caFile,
		'-verify_return_error', ...extra], { input: '', encoding: 'utf8', timeout: 10000 });
	const out = `${r.stdout}\n${r.stderr}`;
	let serial = null;
	const pem = /-----BEGIN CERTIFICATE-----[\s\S]+?-----END CERTIFICATE-----/.exec(r.stdout);
	if (pem) {
		const x = spawnSync('openssl', ['x509', '-noout', '-serial'], { input: pem[0], encoding: 'utf8' });
		serial = /serial=(\w+)/.exec(x.stdout)?.[1] ?? null;
	}
	const protocol = /Protocol\s*:\s*(TLSv[\d.]+)/.exec(out)?.[1] ?? /New, (TLSv[\d.]+), Cipher/.exec(out)?.[1];
	return {
		ok: /Verify return code: 0 \(ok\)/.test(out) && /^TLSv1\.[23]$/.test(protocol ?? ''),
		serial, protocol, out,
	};
}

function curl(url, args = []) {
	const r = spawnSync('curl', ['-sS', '-m', '10', '-o', '-', '-w', '\n%{http_code}', ...args, url],
		{ encoding: 'utf8', timeout: 15000 });
	const i = r.stdout.lastIndexOf('\n');
	return { exit: r.status, code: Number(r.stdout.slice(i + 1)), body: r.stdout.slice(0, i), stderr: r.stderr };
}

const bearer = (t) => ({ authorization: `Bearer ${t}` });
const https = (name, path) => `https://${addr[name]}${path}`;

before(async () => {
	dir = tempDir('obstui-tls-auth-');
	pki = makePki();
	installCert(1);
	writeTokens(`# obstui test tokens\n${TOKEN1}\n`);
	srv = await startServe({
		listeners: ['--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--zipkin', '127.0.0.1:0', '--api', '127.0.0.1:0'],
		args: ['--tls-cert', pki.cert, '--tls-key', pki.key, '--auth-token-file', join(dir, 'tokens')],
		env: { OBSTUI_LOG: 'debug' }, ca: pki.ca,
	});
	addr = srv.listeners;
	assert.match(srv.stdout(), /^listening otlp-grpc \S+ tls$/m);
	assert.match(srv.stdout(), /^listening zipkin \S+ tls$/m);
	assert.match(srv.api, /^https:/);
});

after(() => {
	// the token never reaches the log, at any level
	const log = srv?.stderr() ?? '';
	for (const t of [TOKEN1, TOKEN2, WRONG])
		assert.ok(!log.includes(t), `obstui's log holds a token: ${log.slice(-3000)}`);
});

test('TLS on every listener: TLS 1.2 and 1.3 with the CA, no TLS 1.1, no plain text', { timeout: 30000 }, async () => {
	for (const name of ['otlp-grpc', 'otlp-http', 'zipkin', 'api']) {
		const a = addr[name];
		const ok = sClient(a, name === 'otlp-grpc' ? ['-alpn', 'h2'] : []);
		assert.ok(ok.ok, `${name}: TLS with the CA failed:\n${ok.out.slice(-1500)}`);
		assert.equal(ok.serial, '1001', `${name}: served certificate`);
		const v12 = sClient(a, ['-tls1_2', ...(name === 'otlp-grpc' ? ['-alpn', 'h2'] : [])]);
		assert.ok(v12.ok && v12.protocol === 'TLSv1.2', `${name}: TLS 1.2 refused:\n${v12.out.slice(-1500)}`);
		// a client that can speak TLS 1.1 (security level 0) is refused with an alert
		const v11 = sClient(a, ['-tls1_1', '-cipher', 'DEFAULT@SECLEVEL=0']);
		assert.ok(!v11.ok && /alert protocol version|unsupported protocol|no protocols available/i.test(v11.out),
			`${name}: TLS 1.1 must be refused:\n${v11.out.slice(-1500)}`);
		assert.equal(v11.serial, null, `${name}: a certificate was sent over TLS 1.1`);
	}
	// plain HTTP on the HTTP ports: a 400 that says why, never an answer
	for (const name of ['otlp-http', 'zipkin', 'api']) {
		const r = await request(`http://${addr[name]}/ready`);
		assert.equal(r.status, 400, `${name}: plain HTTP: ${r.status} ${r.body}`);
		assert.match(r.body.toString(), /speaks TLS/);
		const c = curl(`http://${addr[name]}/api/search`, ['-H', `Authorization: Bearer ${TOKEN1}`]);
		assert.equal(c.code, 400, `${name}: curl over plain HTTP: ${JSON.stringify(c)}`);
	}
	// h2c on the gRPC port: an error soon, no gRPC answer
	const c = connect(addr['otlp-grpc']);
	const r = await unary(c, EXPORT, Buffer.alloc(0), { timeout: 8000 });
	c.destroy();
	assert.equal(r.grpcStatus, undefined, `h2c on the TLS gRPC port was answered: ${describe(r)}`);
	assert.ok(!r.timedOut, 'h2c on the TLS gRPC port hung');
	// curl with the CA: TLS, and then the token decides
	const ready = curl(https('api', '/ready'), ['--cacert', pki.caFile]);
	assert.equal(ready.code, 200, JSON.stringify(ready));
	const noCa = curl(https('api', '/ready'));
	assert.notEqual(noCa.exit, 0, 'curl trusted a certificate without the CA');
});

test('a token is required on every receiver and the API; /ready and /metrics stay open', { timeout: 40000 }, async () => {
	const ca = ['--cacert', pki.caFile];
	// the API, with curl
	for (const path of ['/api/search', '/api/v1/query?query=1', '/api/echo', '/api/status/buildinfo']) {
		const none = curl(https('api', path), [...ca, '-D', '-']);
		assert.equal(none.code, 401, `${path} without a token: ${JSON.stringify(none)}`);
		assert.match(none.body, /www-authenticate: Bearer/i);
		const wrong = curl(https('api', path), [...ca, '-H', `Authorization: Bearer ${WRONG}`, '-D', '-']);
		assert.equal(wrong.code, 401, `${path} with a wrong token`);
		assert.match(wrong.body, /www-authenticate: Bearer[^\n]*invalid_token/i);
		assert.ok(!wrong.body.includes(WRONG), 'the answer echoes the token');
		const basic = curl(https('api', path), [...ca, '-u', `user:${TOKEN1}`]);
		assert.equal(basic.code, 401, `${path} with the token as Basic auth`);
		const right = curl(https('api', path), [...ca, '-H', `Authorization: Bearer ${TOKEN1}`]);
		assert.equal(right.code, 200, `${path} with the token: ${JSON.stringify(right)}`);
	}
	for (const path of ['/ready', '/metrics'])
		assert.equal(curl(https('api', path), ca).code, 200, `${path} must stay open`);
	const t0 = Date.now();
	const quick = await request(https('api', '/api/search'));
	assert.equal(quick.status, 401);
	assert.ok(Date.now() - t0 < 2000, `a 401 took ${Date.now() - t0} ms`);

	// OTLP/HTTP with the real exporter (protobuf), over TLS with the CA
	const protoExporter = (headers) => new ProtoExporter({
		url: https('otlp-http', '/v1/traces'), headers, timeoutMillis: 8000, httpAgentOptions: { ca: pki.ca },
	});
	const denied = await richTrace(protoExporter({}), { service: 'tls-http-no-token' });
	assert.ok(denied.flushError, 'the OTLP/HTTP exporter without a token succeeded');
	assert.match(`${String(denied.flushError)} ${takeExportErrors().join(' ')}`, /401|Unauthorized/,
		`OTLP/HTTP without a token: ${String(denied.flushError)}`);
	takeExportErrors();
	const okHttp = await richTrace(protoExporter(bearer(TOKEN1)), { service: 'tls-http' });
	assert.equal(okHttp.flushError, null, `OTLP/HTTP with the token: ${String(okHttp.flushError)}`);
	assert.deepEqual(takeExportErrors(), []);

	// OTLP/gRPC with the real exporter, the token in the metadata
	const grpcExporter = (token) => {
		const metadata = new grpc.Metadata();
		if (token) metadata.set('authorization', `Bearer ${token}`);
		return new GrpcExporter({ url: `https://${addr['otlp-grpc']}`, timeoutMillis: 8000,
			credentials: grpc.credentials.createSsl(pki.ca), metadata });
	};
	const deniedGrpc = await richTrace(grpcExporter(null), { service: 'tls-grpc-no-token' });
	assert.ok(deniedGrpc.flushError, 'the gRPC exporter without a token succeeded');
	// (forceFlush rejects with the exporter's errors, an array)
	assert.match(`${String(deniedGrpc.flushError)} ${takeExportErrors().join(' ')}`, /16 UNAUTHENTICATED: missing bearer token/,
		`gRPC without a token: ${String(deniedGrpc.flushError)}`);
	const okGrpc = await richTrace(grpcExporter(TOKEN1), { service: 'tls-grpc' });
	assert.equal(okGrpc.flushError, null, `gRPC with the token: ${String(okGrpc.flushError)}`);
	assert.deepEqual(takeExportErrors(), []);
	// raw gRPC: UNAUTHENTICATED, and the same call with the token is judged on its merits
	const s = connect(addr['otlp-grpc'], { ca: pki.ca, servername: 'localhost' });
	const raw = await unary(s, EXPORT, Buffer.alloc(0));
	const rawWrong = await unary(s, EXPORT, Buffer.alloc(0), { headers: bearer(WRONG) });
	const rawUnknown = await unary(s, '/no.such.Service/Export', Buffer.alloc(0), { headers: bearer(TOKEN1) });
	await closeSession(s);
	assert.equal(raw.grpcStatus, GRPC.UNAUTHENTICATED ?? 16, `raw gRPC without a token: ${describe(raw)}`);
	assert.equal(rawWrong.grpcStatus, 16, `raw gRPC with a wrong token: ${describe(rawWrong)}`);
	assert.ok(!String(rawWrong.grpcMessage ?? '').includes(WRONG), 'grpc-message echoes the token');
	assert.equal(rawUnknown.grpcStatus, GRPC.UNIMPLEMENTED, `raw gRPC with the token: ${describe(rawUnknown)}`);

	// Zipkin v2 JSON
	const zid = newTraceId();
	const zspans = JSON.stringify([{ traceId: zid, id: newSpanId(), name: 'zipkin-tls', timestamp: Date.now() * 1000,
		duration: 1500, kind: 'SERVER', localEndpoint: { serviceName: 'zipkin-tls' } }]);
	const zpost = (headers) => request(https('zipkin', '/api/v2/spans'), { method: 'POST', body: zspans,
		headers: { 'content-type': 'application/json', ...headers } });
	assert.equal((await zpost({})).status, 401, 'Zipkin without a token');
	assert.equal((await zpost(bearer(WRONG))).status, 401, 'Zipkin with a wrong token');
	const zok = await zpost(bearer(TOKEN1));
	assert.equal(zok.status, 202, `Zipkin with the token: ${zok.status} ${zok.body}`);

	// Prometheus remote write on the API port
	const now = Date.now();
	const body = snappyEncode(encodeWriteRequest({ series: [{ labels: { __name__: 'tls_rw_test', job: 'tls' },
		samples: [[now, 42]] }] }));
	const rw = (headers) => request(https('api', '/api/v1/write'), { method: 'POST', body,
		headers: { ...RW_HEADERS, 'content-length': body.length, ...headers } });
	const rwNone = await rw({});
	assert.equal(rwNone.status, 401, `remote write without a token: ${rwNone.status}`);
	assert.match(String(rwNone.headers['www-authenticate']), /^Bearer/);
	const rwOk = await rw(bearer(TOKEN1));
	assert.ok(rwOk.status >= 200 && rwOk.status < 300, `remote write with the token: ${rwOk.status} ${rwOk.body}`);

	// what went in with the token is there, read with the token
	for (const id of [okHttp.traceId, okGrpc.traceId, zid]) {
		const r = await waitFor(`trace ${id}`, async () => {
			const g = await request(https('api', `/api/v2/traces/${id}`), { headers: bearer(TOKEN1) });
			return g.status === 200 ? g : null;
		}, { timeout: 10000 });
		assert.equal(r.status, 200);
	}
	for (const id of [denied.traceId, deniedGrpc.traceId]) {
		const g = await request(https('api', `/api/v2/traces/${id}`), { headers: bearer(TOKEN1) });
		assert.equal(g.status, 404, `trace ${id} sent without a token was stored`);
	}
	const q = await request(https('api', '/api/v1/query?query=tls_rw_test'), { headers: bearer(TOKEN1) });
	assert.match(q.body.toString(), /"42"/, `the remote-written sample: ${q.body}`);
	// the refusals are counted, gRPC and HTTP alike, on the open /metrics
	const m = await request(https('api', '/metrics'));
	const rejected = Number(/^obstui_auth_rejected_total (\S+)$/m.exec(m.body.toString())?.[1]);
	assert.ok(rejected >= 15, `obstui_auth_rejected_total ${rejected}: ${m.body.toString().slice(0, 300)}`);
});

test('the token file is re-read when it changes: the new token works, the old one fails', { timeout: 20000 }, async () => {
	writeTokens(`${TOKEN2}\n`);
	await waitFor('the new token', async () =>
		(await request(https('api', '/api/search'), { headers: bearer(TOKEN2) })).status === 200, { timeout: 8000 });
	assert.equal((await request(https('api', '/api/search'), { headers: bearer(TOKEN1) })).status, 401);
	assert.equal((await request(https('otlp-http', '/v1/traces'), { method: 'POST', body: '{}',
		headers: { 'content-type': 'application/json', ...bearer(TOKEN1) } })).status, 401);
	const s = connect(addr['otlp-grpc'], { ca: pki.ca, servername: 'localhost' });
	const oldTok = await unary(s, EXPORT, Buffer.alloc(0), { headers: bearer(TOKEN1) });
	const newTok = await unary(s, EXPORT, Buffer.alloc(0), { headers: bearer(TOKEN2) });
	await closeSession(s);
	assert.equal(oldTok.grpcStatus, 16, `gRPC with the old token: ${describe(oldTok)}`);
	assert.equal(newTok.grpcStatus, GRPC.OK, `gRPC with the new token: ${describe(newTok)}`);
	// a file that breaks keeps the tokens in use (fail closed, never open)
	writeTokens('\n# nothing here\n');
	await waitFor('the warning about the broken token file', () => /no token in it.*; keeping the tokens in use/.test(srv.stderr()), { timeout: 5000 });
	assert.equal((await request(https('api', '/api/search'), { headers: bearer(TOKEN2) })).status, 200);
	assert.equal((await request(https('api', '/api/search'))).status, 401);
	writeTokens(`${TOKEN2}\n`);
});

test('a certificate swapped on disk is served to new connections without a restart', { timeout: 20000 }, async () => {
	// a connection opened before the swap keeps working
	const s = connect(addr['otlp-grpc'], { ca: pki.ca, servername: 'localhost' });
	const before1 = await unary(s, EXPORT, Buffer.alloc(0), { headers: bearer(TOKEN2) });
	assert.equal(before1.grpcStatus, GRPC.OK, describe(before1));
	installCert(2);
	for (const name of ['api', 'otlp-http', 'zipkin', 'otlp-grpc']) {
		await waitFor(`${name} serving the new certificate`, () => sClient(addr[name], name === 'otlp-grpc' ? ['-alpn', 'h2'] : []).serial === '2002',
			{ timeout: 8000, interval: 250 });
	}
	const after1 = await unary(s, EXPORT, Buffer.alloc(0), { headers: bearer(TOKEN2) });
	await closeSession(s);
	assert.equal(after1.grpcStatus, GRPC.OK, `the connection opened before the swap: ${describe(after1)}`);
	assert.equal(curl(https('api', '/ready'), ['--cacert', pki.caFile]).code, 200);
	// SIGHUP reloads at once too, and obstui keeps running
	installCert(1);
	process.kill(srv.pid, 'SIGHUP');
	await waitFor('the first certificate again after SIGHUP', () => sClient(addr.api).serial === '1001', { timeout: 5000, interval: 200 });
	assert.ok(srv.alive(), 'obstui died on SIGHUP');
	await waitFor('the SIGHUP line in the log', () => /SIGHUP: reading the certificate/.test(srv.stderr()), { timeout: 5000 });
});

test('--tls-client-ca: no client certificate is refused, one the CA signed is accepted', { timeout: 30000 }, async () => {
	const cs = await startServe({
		listeners: ['--otlp-grpc', '127.0.0.1:0', '--otlp-http', '127.0.0.1:0', '--zipkin', 'off', '--api', '127.0.0.1:0'],
		args: ['--tls-cert', pki.cert, '--tls-key', pki.key, '--tls-client-ca', pki.caFile], ca: pki.ca,
	});
	const url = `https://${cs.listeners.api}/ready`;
	const without = curl(url, ['--cacert', pki.caFile]);
	assert.notEqual(without.code, 200, `no client certificate was accepted: ${JSON.stringify(without)}`);
	const withCert = curl(url, ['--cacert', pki.caFile, '--cert', pki.clientCert, '--key', pki.clientKey]);
	assert.equal(withCert.code, 200, `with a client certificate: ${JSON.stringify(withCert)}`);
	// a certificate the CA did not sign: the second server key, self-signed
	openssl(['req', '-x509', '-key', join(dir, 'server2.key'), '-out', join(dir, 'self.pem'), '-days', '1', '-subj', '/CN=stranger'], 'self-signed');
	const stranger = curl(url, ['--cacert', pki.caFile, '--cert', join(dir, 'self.pem'), '--key', join(dir, 'server2.key')]);
	assert.notEqual(stranger.code, 200, 'a client certificate from another CA was accepted');
	// gRPC too, with the exporter's own credentials
	const exp = (withClient) => new GrpcExporter({ url: `https://${cs.listeners['otlp-grpc']}`, timeoutMillis: 6000,
		credentials: withClient ? grpc.credentials.createSsl(pki.ca, readFileSync(pki.clientKey), readFileSync(pki.clientCert))
			: grpc.credentials.createSsl(pki.ca) });
	const bad = await richTrace(exp(false), { service: 'mtls-none' });
	assert.ok(bad.flushError, 'gRPC without a client certificate succeeded');
	takeExportErrors();
	const good = await richTrace(exp(true), { service: 'mtls' });
	assert.equal(good.flushError, null, `gRPC with a client certificate: ${String(good.flushError)}`);
	takeExportErrors();
	await cs.stop();
});

test('bad security options are clear errors; help serve lists the options', { timeout: 20000 }, async () => {
	const store = tempDir();
	const base = ['serve', '--store', store, '--otlp-grpc', 'off', '--zipkin', 'off', '--otlp-http', '127.0.0.1:0', '--api', '127.0.0.1:0'];
	let r = cli([...base, '--tls-cert', pki.cert]);
	assert.equal(r.code, 2, `--tls-cert alone: ${r.stderr}`);
	r = cli([...base, '--tls-client-ca', pki.caFile]);
	assert.equal(r.code, 2, `--tls-client-ca without a certificate: ${r.stderr}`);
	r = cli([...base, '--auth-token-file', join(dir, 'tokens'), '--open-paths', 'ready']);
	assert.equal(r.code, 2, `a relative open path: ${r.stderr}`);
	writeFileSync(join(dir, 'empty-tokens'), '# none\n');
	r = cli([...base, '--auth-token-file', join(dir, 'empty-tokens')]);
	assert.equal(r.code, 1, `an empty token file: ${r.stderr}`);
	assert.match(r.stderr, /empty-tokens: no token/);
	r = cli([...base, '--tls-cert', pki.cert, '--tls-key', join(dir, 'server2.key')]);
	assert.equal(r.code, 1, `a key that does not match: ${r.stderr}`);
	assert.match(r.stderr, /does not match/);
	// --open-paths '' closes /ready too; from the config file's [serve] as well as from flags
	writeFileSync(join(dir, 'closed-tokens'), `${TOKEN1}\n`);
	const closed = await startServe({ args: ['--auth-token-file', join(dir, 'closed-tokens'), '--open-paths', ''] });
	assert.equal((await request(`${closed.api}/ready`)).status, 401);
	assert.equal((await request(`${closed.api}/ready`, { headers: bearer(TOKEN1) })).status, 200);
	await closed.stop();
	const conf = join(dir, 'config');
	writeFileSync(conf, `[serve]\ntls-cert = ${pki.cert}\ntls-key = ${pki.key}\nauth-token-file = ${join(dir, 'closed-tokens')}\nopen-paths =\n`);
	const fromConf = await startServe({ args: ['--config', conf], ca: pki.ca });
	assert.match(fromConf.api, /^https:/, `[serve] tls-cert in the config file: ${fromConf.stdout()}`);
	assert.equal((await request(`${fromConf.api}/ready`)).status, 401, '[serve] open-paths = (none)');
	assert.equal((await request(`${fromConf.api}/ready`, { headers: bearer(TOKEN1) })).status, 200);
	await fromConf.stop();
	// a flag wins over the file
	const flagWins = await startServe({ args: ['--config', conf, '--open-paths', '/ready'], ca: pki.ca });
	assert.equal((await request(`${flagWins.api}/ready`)).status, 200, '--open-paths over [serve] open-paths');
	await flagWins.stop();
	const help = cli(['help', 'serve']);
	for (const opt of ['--tls-cert', '--tls-key', '--tls-client-ca', '--auth-token-file', '--open-paths'])
		assert.ok(help.stdout.includes(opt), `help serve does not list ${opt}`);
});
