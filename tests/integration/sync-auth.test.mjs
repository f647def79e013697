// Every way obstui can be given Azure credentials, end to end: remote add
// --auth MODE, doctor (which credential was chosen, can it list, read and
// write), push and pull.  Shared Key, SAS and connection strings against
// Azurite over http; bearer tokens (workload identity, managed identity by
// IMDS and by App Service, the Azure CLI) against Azurite over https with
// --oauth basic, from the fake token sources of lib/entra.mjs.  No secret
// may appear in anything obstui prints.
//
// Every obstui command runs in the background (runCli): the fake token
// sources are servers in this process, which spawnSync would stop.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { randomUUID } from 'node:crypto';
import { startServe, tempDir, waitFor } from './lib/obstui.mjs';
import { startAzurite, ACCOUNT } from './lib/azurite.mjs';
import {
	startTokenEndpoint, startImds, startAppService, fakeAz, azCalls, mintToken, STORAGE_SCOPE, JWT_BEARER,
	STORAGE_RESOURCE,
} from './lib/entra.mjs';
import {
	makeStore, runCli, parseSyncLine, assertNoSecrets, sasSignature, storeTraceIds, remoteBlocks, shopTraffic,
	waitSealed, localBlockIds,
} from './lib/sync.mjs';

const T = { timeout: 30000 };
const C = 'auth';
let az; // http: Shared Key, SAS
let azs; // https + OAuth: bearer tokens
let shop;

// Nothing from the environment the tests run in may choose a credential.
const CLEAN = Object.fromEntries(['AZURE_STORAGE_CONNECTION_STRING', 'AZURE_STORAGE_KEY', 'AZURE_STORAGE_SAS_TOKEN',
	'AZURE_CLIENT_ID', 'AZURE_TENANT_ID', 'AZURE_FEDERATED_TOKEN_FILE', 'AZURE_AUTHORITY_HOST', 'IDENTITY_ENDPOINT',
	'IDENTITY_HEADER', 'MSI_ENDPOINT', 'MSI_SECRET', 'AZURE_POD_IDENTITY_AUTHORITY_HOST', 'OBSTUI_CONFIG',
	'CURL_CA_BUNDLE', 'OBSTUI_BLOB_BLOCK_SIZE'].map((k) => [k, undefined]));

// Everything obstui printed in this file, and every secret it was given.
const outputs = [];
const secrets = new Set();
const secret = (s) => { secrets.add(s); return s; };

async function obstui(args, env = {}, timeout = 20000) {
	const r = await runCli(args, { env: { ...CLEAN, ...env }, timeout });
	outputs.push({ args, out: r.stdout + r.stderr });
	r.describe = `obstui ${args.join(' ')} -> exit ${r.code}${r.signal ? ` (${r.signal})` : ''}\nstdout: ${r.stdout}\nstderr: ${r.stderr}`;
	assertNoSecrets(r.stdout + r.stderr, secrets, `obstui ${args[0]}`);
	return r;
}
async function ok(args, env, code = 0) {
	const r = await obstui(args, env);
	assert.equal(r.code, code, r.describe);
	return r;
}

before(async () => {
	[az, azs, shop] = await Promise.all([
		startAzurite(),
		startAzurite({ https: true, oauth: true }),
		makeStore({ rounds: 0, quick: 3, tag: 'auth' }),
	]);
	secret(az.key);
	await az.blobServiceClient().createContainer(C);
	await azs.blobServiceClient().createContainer(C);
}, { timeout: 40000 });
after(async () => { await az?.stop(); await azs?.stop(); });

const lower = (ids) => new Set(ids.map((x) => x.toLowerCase()));

// A config file with one remote: remote add NAME URL [--auth MODE] [--client-id ID].
function configWith(name, url, addArgs = []) {
	const cfg = join(tempDir('obstui-auth-cfg-'), 'config');
	return { cfg, add: () => ok(['remote', 'add', name, url, ...addArgs, '--config', cfg]) };
}

// doctor, push, pull (into a fresh store) of `remote` (a name or a URL) with env.
// credentials: what doctor must say about the credential chosen.
async function roundTrip(remote, env, { credentials, az: a = az, prefix }) {
	const d = await ok(['doctor', remote, '--store', shop.store], env);
	const cred = /^credentials\s+(.*)$/m.exec(d.stdout);
	assert.ok(cred, `doctor prints a credentials line: ${d.stdout}`);
	assert.match(cred[1], credentials, `doctor: which credential was chosen\n${d.stdout}`);
	for (const what of ['list', 'read', 'write'])
		assert.match(d.stdout, new RegExp(`^${what}\\s+ok`, 'm'), `doctor: ${what}\n${d.stdout}`);

	const p = await ok(['push', remote, '--store', shop.store], env);
	const pl = parseSyncLine(p.stdout, 'push');
	assert.deepEqual([pl.n, pl.already, pl.failed], [shop.blocks.length, 0, 0], p.stdout);
	assert.deepEqual((await remoteBlocks(a, C, prefix)).map((b) => b.id), shop.blocks, 'the blocks are on the remote');

	const B = tempDir('obstui-auth-b-');
	const q = await ok(['pull', remote, '--store', B], env);
	const ql = parseSyncLine(q.stdout, 'pull');
	assert.deepEqual([ql.n, ql.already, ql.failed], [shop.blocks.length, 0, 0], q.stdout);
	assert.deepEqual(storeTraceIds(B), lower(shop.traceIds), 'pull brought every trace');
	return { doctor: d, push: p, pull: q };
}

// --- Azurite over http: Shared Key, SAS, connection strings ----------------------------------

test('shared key: AZURE_STORAGE_KEY, the account from the URL', T, async () => {
	const { cfg, add } = configWith('k', az.containerUrl(C, 'key'), ['--auth', 'key']);
	await add();
	await roundTrip('k', { OBSTUI_CONFIG: cfg, AZURE_STORAGE_KEY: az.key, OBSTUI_LOG: 'debug' },
		{ credentials: new RegExp(`shared key.*AZURE_STORAGE_KEY.*${ACCOUNT}`, 'i'), prefix: 'key' });
	// the mode named but not configured: a plain reason
	const r = await ok(['push', 'k', '--store', shop.store], { OBSTUI_CONFIG: cfg }, 1);
	assert.match(r.stderr, /AZURE_STORAGE_KEY/, r.describe);
});

test('SAS: AZURE_STORAGE_SAS_TOKEN with and without "?", and the URL query', T, async () => {
	// an account SAS (ss=b, srt=sco): it may create the container too
	const sas = az.sasFor(null, 'racwdl', 600);
	secret(sasSignature(sas));
	const { cfg, add } = configWith('s', az.containerUrl(C, 'sas-env'), ['--auth', 'sas']);
	await add();
	await roundTrip('s', { OBSTUI_CONFIG: cfg, AZURE_STORAGE_SAS_TOKEN: sas },
		{ credentials: /SAS.*AZURE_STORAGE_SAS_TOKEN/, prefix: 'sas-env' });

	const c2 = configWith('q', az.containerUrl(C, 'sas-env-q'), ['--auth', 'sas']);
	await c2.add();
	await roundTrip('q', { OBSTUI_CONFIG: c2.cfg, AZURE_STORAGE_SAS_TOKEN: `?${sas}`, OBSTUI_LOG: 'debug' },
		{ credentials: /SAS.*AZURE_STORAGE_SAS_TOKEN/, prefix: 'sas-env-q' });

	// a URL with a SAS query works wherever a name does, with no --auth (auto)
	const r = await roundTrip(`${az.containerUrl(C, 'sas-url')}?${sas}`, {}, { credentials: /SAS.*URL/i, prefix: 'sas-url' });
	assert.match(r.doctor.stdout, /^remote\s+\S+\/sas-url\s*$/m, 'doctor shows the URL without its SAS');
	assert.match(r.push.stdout, / to \S+\/sas-url in /, 'push shows the URL without its SAS');
});

test('a container SAS (sr=c) pushes into its existing container', T, async () => {
	// what a team usually hands out: rights on one container, not the
	// account, so it cannot create the container (403) but can write in it
	const sas = az.sasFor(C, 'racwdl', 600);
	secret(sasSignature(sas));
	const url = `${az.containerUrl(C, 'sas-container')}?${sas}`;
	const p = await obstui(['push', url, '--store', shop.store]);
	assert.equal(p.code, 0, p.describe);
	assert.deepEqual((await remoteBlocks(az, C, 'sas-container')).map((b) => b.id), shop.blocks);
	const B = tempDir('obstui-auth-b-');
	const q = await ok(['pull', url, '--store', B]);
	assert.equal(parseSyncLine(q.stdout).n, shop.blocks.length, q.stdout);
	assert.deepEqual(storeTraceIds(B), lower(shop.traceIds));
});

test('connection strings: BlobEndpoint + AccountName + AccountKey, the full form, and SharedAccessSignature', T, async () => {
	const sas = az.sasFor(null, 'racwdl', 600);
	secret(sasSignature(sas));
	const forms = [
		['cs-key', `BlobEndpoint=${az.url};AccountName=${ACCOUNT};AccountKey=${az.key}`],
		['cs-full', az.connectionString],
		['cs-sas', `BlobEndpoint=${az.url};SharedAccessSignature=${sas}`],
	];
	for (const [prefix, cs] of forms) {
		const { cfg, add } = configWith('cs', az.containerUrl(C, prefix), ['--auth', 'connection-string']);
		await add();
		await roundTrip('cs', { OBSTUI_CONFIG: cfg, AZURE_STORAGE_CONNECTION_STRING: cs },
			{ credentials: /AZURE_STORAGE_CONNECTION_STRING|connection string/i, prefix });
	}
});

test('auto: connection string, then key, then SAS, as documented', T, async () => {
	const sas = az.sasFor(C, 'racwdl', 600);
	secret(sasSignature(sas));
	const url = az.containerUrl(C, 'auto');
	const all = { AZURE_STORAGE_CONNECTION_STRING: az.connectionString, AZURE_STORAGE_KEY: az.key, AZURE_STORAGE_SAS_TOKEN: sas };
	const said = async (env) => /^credentials\s+(.*)$/m.exec((await ok(['doctor', url, '--store', shop.store], env)).stdout)[1];
	assert.match(await said(all), /AZURE_STORAGE_CONNECTION_STRING|connection string/i);
	assert.match(await said({ ...all, AZURE_STORAGE_CONNECTION_STRING: undefined }), /shared key.*AZURE_STORAGE_KEY/i);
	assert.match(await said({ AZURE_STORAGE_SAS_TOKEN: sas }), /SAS.*AZURE_STORAGE_SAS_TOKEN/);
});

// --- bearer tokens: Azurite over https with OAuth ------------------------------------------------

// env for the https Azurite: its CA, and nothing else that chooses a credential
const TLS = () => ({ SSL_CERT_FILE: azs.caFile });

test('workload identity: the federated token exchanged at the token endpoint', T, async () => {
	const dir = tempDir('obstui-auth-wi-');
	const file = join(dir, 'token');
	const first = secret(mintToken({ aud: 'api://AzureADTokenExchange', iss: 'https://oidc.example/issuer' }));
	writeFileSync(file, `${first}\n`);
	const ep = await startTokenEndpoint({ assertion: () => readToken(file) });
	const env = { ...TLS(), ...ep.env, AZURE_FEDERATED_TOKEN_FILE: file };
	const { cfg, add } = configWith('wi', azs.containerUrl(C, 'wi'), ['--auth', 'workload-identity']);
	await add();
	env.OBSTUI_CONFIG = cfg;

	// one exchange per command: the token is cached for the whole push
	const { doctor } = await roundTrip('wi', env, { credentials: new RegExp(`workload identity.*${ep.clientId.slice(0, 8)}`), az: azs, prefix: 'wi' });
	for (const t of ep.issued) secret(t);
	assert.equal(ep.requests.length, 3, `one token request each for doctor, push and pull: ${ep.requests.length}`);
	for (const rec of ep.requests) {
		assert.equal(rec.method, 'POST');
		assert.equal(rec.path, `/${ep.tenant}/oauth2/v2.0/token`);
		assert.match(rec.headers['content-type'], /^application\/x-www-form-urlencoded/);
		assert.deepEqual(rec.form, {
			client_id: ep.clientId, scope: STORAGE_SCOPE, grant_type: 'client_credentials',
			client_assertion_type: JWT_BEARER, client_assertion: first,
		}, 'the client-credentials form with the federated assertion');
		assert.equal(rec.status, 200);
	}
	assert.ok(doctor.stdout.includes(ep.tenant.slice(0, 8)) || doctor.stdout.includes(ep.clientId.slice(0, 8)));

	// the kubelet rotates the file: the next exchange sends the new one
	const second = secret(mintToken({ aud: 'api://AzureADTokenExchange', iss: 'https://oidc.example/issuer' }));
	writeFileSync(file, second);
	const B = tempDir('obstui-auth-b-');
	await ok(['pull', 'wi', '--store', B], env);
	assert.equal(ep.requests.at(-1).form.client_assertion, second, 'the rotated token file was read');
	for (const t of ep.issued) secret(t);
});

// what the fake endpoint accepts: the token file's current content
const readToken = (file) => readFileSync(file, 'utf8').trim();

test('workload identity in serve --push: a rotated token file is re-read when the token is refreshed', T, async () => {
	const dir = tempDir('obstui-auth-wi2-');
	const file = join(dir, 'token');
	const first = secret(mintToken({ aud: 'api://AzureADTokenExchange' }));
	writeFileSync(file, first);
	// tokens living 4 s: obstui refreshes them half-way
	const ep = await startTokenEndpoint({ assertion: () => readToken(file), lifetime: 4 });
	const { cfg, add } = configWith('wi2', azs.containerUrl(C, 'wi2'), ['--auth', 'workload-identity']);
	await add();
	const store = tempDir('obstui-auth-live-');
	const srv = await startServe({ store, args: ['--seal-idle', '1s', '--push', 'wi2'],
		env: { ...CLEAN, ...TLS(), ...ep.env, AZURE_FEDERATED_TOKEN_FILE: file, OBSTUI_CONFIG: cfg, OBSTUI_LOG: 'debug' } });
	try {
		await shopTraffic(srv.otlp, { tag: 'wi2a', traces: 1 });
		await waitSealed(store);
		await waitFor('the first block on the remote', async () => (await remoteBlocks(azs, C, 'wi2')).filter((b) => b.hasMeta).length === 1,
			{ timeout: 8000, interval: 100 });
		assert.ok(ep.requests.length >= 1);
		assert.ok(ep.requests.every((r) => r.form.client_assertion === first));
		const before = ep.requests.length;

		const second = secret(mintToken({ aud: 'api://AzureADTokenExchange' }));
		writeFileSync(file, second);
		await new Promise((r) => setTimeout(r, 2500)); // past half the token's life
		await shopTraffic(srv.otlp, { tag: 'wi2b', traces: 1 });
		await waitFor('the second block on the remote', async () => (await remoteBlocks(azs, C, 'wi2')).filter((b) => b.hasMeta).length === 2,
			{ timeout: 10000, interval: 100 });
		const later = ep.requests.slice(before);
		assert.ok(later.length >= 1, 'the token was refreshed');
		assert.ok(later.every((r) => r.form.client_assertion === second && r.status === 200),
			`every exchange after the rotation sent the new file: ${later.map((r) => r.status)}`);
		assert.deepEqual((await remoteBlocks(azs, C, 'wi2')).map((b) => b.id), localBlockIds(store));
	} finally {
		const st = await srv.stop();
		for (const t of ep.issued) secret(t);
		outputs.push({ args: ['serve'], out: srv.stdout() + srv.stderr() });
		assertNoSecrets(srv.stdout() + srv.stderr(), secrets, 'serve --push with workload identity (debug log)');
		assert.equal(st.code, 0, `serve: ${srv.stderr().slice(-1500)}`);
	}
});

test('workload identity: the token endpoint refuses (400 AADSTS) -> a clear error naming it, no assertion', T, async (t) => {
	const dir = tempDir('obstui-auth-wi3-');
	const file = join(dir, 'token');
	const assertion = secret(mintToken({ aud: 'api://AzureADTokenExchange' }));
	writeFileSync(file, assertion);
	const ep = await startTokenEndpoint({ assertion: 'a-different-federated-token' });
	const env = { ...TLS(), ...ep.env, AZURE_FEDERATED_TOKEN_FILE: file };
	const url = azs.containerUrl(C, 'wi-refused');
	const { cfg, add } = configWith('wr', url, ['--auth', 'workload-identity']);
	await add();
	for (const verb of ['push', 'pull']) {
		const store = verb === 'push' ? shop.store : tempDir('obstui-auth-b-');
		const x = await ok([verb, 'wr', '--store', store], { ...env, OBSTUI_CONFIG: cfg }, 1);
		const lines = x.stderr.split('\n').filter(Boolean);
		assert.equal(lines.length, 1, `one line: ${x.stderr}`);
		assert.ok(x.stderr.includes(`127.0.0.1:${ep.port}`), `names the token endpoint: ${x.stderr}`);
		assert.match(x.stderr, /AADSTS70021|No matching federated identity/, `says what the endpoint said: ${x.stderr}`);
		assert.match(x.stderr, /400/, x.describe);
		if (verb === 'push') t.diagnostic(x.stderr.trim());
	}
	assert.ok(ep.requests.length >= 2 && ep.requests.every((q) => q.status === 400));
	assert.equal(ep.requests.filter((q) => q.form?.client_assertion === assertion).length, ep.requests.length);
	const d = await ok(['doctor', 'wr', '--store', shop.store], { ...env, OBSTUI_CONFIG: cfg }, 1);
	assert.match(d.stdout, /^credentials\s+workload identity/m, d.stdout);
	assert.match(d.stdout, /FAILED/, d.stdout);
	assert.deepEqual(await azs.listNames(C, 'wi-refused/'), []);
});

test('managed identity (IMDS): --client-id picks the identity; 429 + Retry-After is waited out', T, async () => {
	const clientId = randomUUID();
	const imds = await startImds({ clientId, requireClientId: true });
	const { cfg, add } = configWith('mi', azs.containerUrl(C, 'mi'), ['--auth', 'managed-identity', '--client-id', clientId]);
	await add();
	const list = (await ok(['remote', 'list', '-v', '--config', cfg])).stdout;
	assert.match(list, new RegExp(`^mi\\s.*auth=managed-identity.*client-id=${clientId}`, 'm'), list);
	const env = { ...TLS(), ...imds.env, OBSTUI_CONFIG: cfg };
	await roundTrip('mi', env, { credentials: /managed identity/i, az: azs, prefix: 'mi' });
	for (const t of imds.issued) secret(t);
	assert.equal(imds.requests.length, 3, 'one token per command');
	for (const rec of imds.requests) {
		assert.equal(rec.method, 'GET');
		assert.equal(rec.path, '/metadata/identity/oauth2/token');
		assert.equal(String(rec.headers.metadata).toLowerCase(), 'true');
		assert.equal(rec.query['api-version'], '2018-02-01');
		assert.equal(rec.query.resource, STORAGE_RESOURCE);
		assert.equal(rec.query.client_id, clientId, 'the user-assigned identity asked for');
		assert.equal(rec.status, 200);
	}

	imds.fail({ status: 429, retryAfter: 2, count: 1 });
	const n = imds.requests.length;
	const B = tempDir('obstui-auth-b-');
	const q = await ok(['pull', 'mi', '--store', B], env);
	assert.equal(parseSyncLine(q.stdout).n, shop.blocks.length);
	const tries = imds.requests.slice(n);
	assert.deepEqual(tries.map((t) => t.status), [429, 200], 'retried after the 429');
	const gap = tries[1].at - tries[0].at;
	assert.ok(gap >= 1900, `waited ${gap} ms; Retry-After said 2 s`);
	for (const t of imds.issued) secret(t);
});

test('managed identity (App Service): IDENTITY_ENDPOINT + IDENTITY_HEADER, before IMDS', T, async () => {
	const as = await startAppService();
	secret(as.secret);
	const imds = await startImds();
	const { cfg, add } = configWith('as', azs.containerUrl(C, 'appsvc'), ['--auth', 'managed-identity']);
	await add();
	const env = { ...TLS(), ...as.env, ...imds.env, OBSTUI_CONFIG: cfg, OBSTUI_LOG: 'debug' };
	await roundTrip('as', env, { credentials: /managed identity/i, az: azs, prefix: 'appsvc' });
	for (const t of as.issued) secret(t);
	assert.equal(imds.requests.length, 0, 'IMDS is not asked when App Service has an endpoint');
	assert.equal(as.requests.length, 3, 'one token per command');
	for (const rec of as.requests) {
		assert.equal(rec.method, 'GET');
		assert.equal(rec.headers['x-identity-header'], as.secret);
		assert.equal(rec.query['api-version'], '2019-08-01');
		assert.equal(rec.query.resource, STORAGE_RESOURCE);
		assert.equal(rec.status, 200);
	}
});

test('Azure CLI: az on PATH, one call for a whole push', T, async () => {
	const bin = tempDir('obstui-auth-az-');
	const token = secret(mintToken());
	fakeAz(bin, { token });
	const { cfg, add } = configWith('cli', azs.containerUrl(C, 'cli'), ['--auth', 'cli']);
	await add();
	const env = { ...TLS(), PATH: `${bin}:${process.env.PATH}`, OBSTUI_CONFIG: cfg };
	const before = azCalls(bin).length;
	const d = await ok(['doctor', 'cli', '--store', shop.store], env);
	assert.match(/^credentials\s+(.*)$/m.exec(d.stdout)[1], /Azure CLI/i, d.stdout);
	assert.equal(azCalls(bin).length - before, 1, 'doctor: one az call');
	const p = await ok(['push', 'cli', '--store', shop.store], env);
	assert.equal(parseSyncLine(p.stdout).n, shop.blocks.length, p.stdout);
	assert.ok(shop.blocks.length >= 3);
	assert.equal(azCalls(bin).length - before, 2, `one az call for a push of ${shop.blocks.length} blocks`);
	const B = tempDir('obstui-auth-b-');
	const q = await ok(['pull', 'cli', '--store', B], env);
	assert.equal(parseSyncLine(q.stdout).n, shop.blocks.length, q.stdout);
	assert.equal(azCalls(bin).length - before, 3);
	assert.deepEqual(storeTraceIds(B), lower(shop.traceIds));
	for (const c of azCalls(bin))
		assert.deepEqual(c.argv, ['account', 'get-access-token', '--resource', 'https://storage.azure.com/', '-o', 'json']);

	// logged out: the error says what to do
	const out = tempDir('obstui-auth-az2-');
	fakeAz(out, { exitCode: 1 });
	const r = await ok(['pull', 'cli', '--store', tempDir('obstui-auth-b-')], { ...env, PATH: `${out}:${process.env.PATH}` }, 1);
	assert.match(r.stderr, /az login/, r.describe);
});

test('no secret appeared in anything obstui printed', { timeout: 5000 }, () => {
	assert.ok(outputs.length > 30, `test bug: only ${outputs.length} outputs collected`);
	assert.ok(secrets.size > 8, `test bug: only ${secrets.size} secrets collected`);
	for (const o of outputs) assertNoSecrets(o.out, secrets, `obstui ${o.args.join(' ')}`);
});
