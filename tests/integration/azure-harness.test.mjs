// azure-harness.test.mjs - proves the Azure test harness (lib/azurite.mjs,
// lib/entra.mjs) right before obstui's sync is tested with it.  Only the
// official SDK (@azure/storage-blob), fetch() and curl talk to the fakes
// here; obstui itself is not run.

import { test, describe, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawn, spawnSync } from 'node:child_process';
import { writeFileSync, readFileSync, mkdtempSync, rmSync, existsSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import net from 'node:net';
import { createHash, randomBytes } from 'node:crypto';
import { fileURLToPath } from 'node:url';
import { startAzurite, curlArgs, API_VERSION, ACCOUNT } from './lib/azurite.mjs';
import {
	startTokenEndpoint, startImds, startAppService, fakeAz, azCalls, mintToken, decodeToken,
	tokenCredential, requestToken, STORAGE_SCOPE, JWT_BEARER,
} from './lib/entra.mjs';

const T = { timeout: 60000 };
const scratch = mkdtempSync(join(tmpdir(), 'obstui-azh-'));
after(() => rmSync(scratch, { recursive: true, force: true }));

// curl(args) -> {code, status, headers, body}; -w appends the status on its own line.
function curl(args, { input } = {}) {
	const r = spawnSync('curl', ['-sS', '--max-time', '20', '-D', '-', '-w', '\n%{http_code}', ...args],
		{ encoding: 'utf8', input, timeout: 30000 });
	if (r.error) throw r.error;
	const out = r.stdout;
	const nl = out.lastIndexOf('\n');
	const status = Number(out.slice(nl + 1));
	const rest = out.slice(0, nl);
	const split = rest.search(/\r?\n\r?\n/);
	const head = split < 0 ? rest : rest.slice(0, split);
	const headers = {};
	for (const line of head.split(/\r?\n/).slice(1)) {
		const i = line.indexOf(':');
		if (i > 0) headers[line.slice(0, i).trim().toLowerCase()] = line.slice(i + 1).trim();
	}
	return { code: r.status, status, headers, body: split < 0 ? '' : rest.slice(split).replace(/^\r?\n\r?\n/, ''), stderr: r.stderr };
}

async function rejectsWith(promise, status, code) {
	await assert.rejects(promise, (e) => {
		assert.equal(e.statusCode, status, `want ${status} ${code ?? ''}, got ${e.statusCode} ${e.code}: ${e.message}`);
		if (code) assert.equal(e.code, code, e.message);
		return true;
	});
}

// --- Azurite over http: Shared Key and SAS --------------------------------------------------

describe('azurite over http', () => {
	let az;
	before(async () => { az = await startAzurite(); }, T);
	after(() => az?.stop());

	test('answers on a free 127.0.0.1 port with the well-known account', T, () => {
		assert.match(az.url, /^http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
		assert.ok(az.port > 0 && az.port !== 10000, `port ${az.port}`);
		assert.equal(az.account, ACCOUNT);
		assert.equal(Buffer.from(az.key, 'base64').length, 64);
		assert.match(az.connectionString, new RegExp(`BlobEndpoint=${az.url};`));
		assert.equal(az.caFile, undefined);
		assert.equal(az.containerUrl('obstui', 'tenant a/x'), `${az.url}/obstui/tenant%20a/x`);
	});

	test('container, upload, paged list with prefix, download, create-only 409', T, async () => {
		const svc = az.blobServiceClient();
		await svc.createContainer('harness');
		const cc = svc.getContainerClient('harness');
		const names = ['t1/b1/meta.json', 't1/b1/data.parquet', 't1/b2/meta.json', 't1/b2/data.parquet',
			't1/index.json.gz', 't2/b9/meta.json', 'u/x'];
		const bodies = new Map(names.map((n) => [n, randomBytes(1000 + n.length)]));
		for (const [n, b] of bodies) {
			const r = await cc.getBlockBlobClient(n).uploadData(b, { conditions: { ifNoneMatch: '*' } });
			assert.ok(r.etag);
		}

		const pages = [];
		for await (const page of cc.listBlobsFlat({ prefix: 't1/' }).byPage({ maxPageSize: 2 }))
			pages.push({ names: page.segment.blobItems.map((b) => b.name), next: page.continuationToken });
		assert.equal(pages.length, 3, JSON.stringify(pages));
		for (const p of pages.slice(0, -1)) { assert.ok(p.names.length <= 2); assert.ok(p.next); }
		assert.ok(!pages.at(-1).next);
		const listed = pages.flatMap((p) => p.names);
		assert.deepEqual(listed, names.filter((n) => n.startsWith('t1/')).sort());
		assert.deepEqual(await az.listNames('harness', 't2/'), ['t2/b9/meta.json']);

		for (const [n, b] of bodies) assert.ok((await az.download('harness', n)).equals(b), n);
		const props = await cc.getBlobClient('u/x').getProperties();
		assert.equal(props.contentLength, bodies.get('u/x').length);
		assert.deepEqual(Buffer.from(props.contentMD5), createHash('md5').update(bodies.get('u/x')).digest());

		// Create-only (If-None-Match: *) on an existing blob: 409 BlobAlreadyExists.
		await rejectsWith(cc.getBlockBlobClient('u/x').upload('again', 5, { conditions: { ifNoneMatch: '*' } }),
			409, 'BlobAlreadyExists');
		assert.ok((await az.download('harness', 'u/x')).equals(bodies.get('u/x')), 'first upload kept');
	});

	test('SAS from sasFor works for curl and the SDK; tampered, expired, too weak get 403', T, async () => {
		await az.blobServiceClient().createContainer('sas');
		const rw = az.sasFor('sas', 'racwdl', 600);
		assert.match(rw, /(^|&)sv=/);
		assert.match(rw, /(^|&)sr=c(&|$)/);
		assert.match(rw, /(^|&)sig=/);

		// Upload with curl (what obstui's libcurl will do): Put Blob with the SAS.
		const file = join(scratch, 'sas-body');
		writeFileSync(file, 'hello sas');
		const put = curl(['-X', 'PUT', '-H', 'x-ms-blob-type: BlockBlob', '-H', 'If-None-Match: *',
			'-H', 'x-ms-version: 2021-08-06', '--data-binary', `@${file}`, '-H', 'Content-Type: application/octet-stream',
			`${az.containerUrl('sas', 'p/one')}?${rw}`]);
		assert.equal(put.status, 201, put.body);
		const again = curl(['-X', 'PUT', '-H', 'x-ms-blob-type: BlockBlob', '-H', 'If-None-Match: *',
			'-H', 'x-ms-version: 2021-08-06', '--data-binary', `@${file}`, `${az.containerUrl('sas', 'p/one')}?${rw}`]);
		assert.equal(again.status, 409);
		assert.equal(again.headers['x-ms-error-code'], 'BlobAlreadyExists');

		// The SDK with the same SAS sees it.
		const viaSas = az.blobServiceClient({ sas: rw }).getContainerClient('sas');
		await viaSas.getBlockBlobClient('p/two').upload('two', 3);
		const seen = [];
		for await (const b of viaSas.listBlobsFlat({ prefix: 'p/' })) seen.push(b.name);
		assert.deepEqual(seen, ['p/one', 'p/two']);

		// Raw List Blobs paging: maxresults + NextMarker, as obstui will loop.
		const ro = az.sasFor('sas', 'rl', 600);
		let marker = '';
		const pages = [];
		do {
			const q = `restype=container&comp=list&prefix=p%2F&maxresults=1${marker ? `&marker=${encodeURIComponent(marker)}` : ''}&${ro}`;
			const r = curl(['-H', 'x-ms-version: 2021-08-06', `${az.containerUrl('sas')}?${q}`]);
			assert.equal(r.status, 200, r.body);
			pages.push([...r.body.matchAll(/<Name>([^<]*)<\/Name>/g)].map((m) => m[1]));
			marker = /<NextMarker>([^<]*)<\/NextMarker>/.exec(r.body)?.[1] ?? '';
			assert.ok(pages.length < 10, 'paging does not end');
		} while (marker);
		assert.deepEqual(pages, [['p/one'], ['p/two']]);

		// Read-only SAS cannot write.
		const weak = curl(['-X', 'PUT', '-H', 'x-ms-blob-type: BlockBlob', '--data-binary', `@${file}`,
			`${az.containerUrl('sas', 'p/three')}?${ro}`]);
		assert.equal(weak.status, 403);
		assert.equal(weak.headers['x-ms-error-code'], 'AuthorizationPermissionMismatch');

		// Tampered signature: flip one character of sig.
		const tampered = ro.replace(/sig=([^&])/, (m, c) => `sig=${c === 'A' ? 'B' : 'A'}`);
		assert.notEqual(tampered, ro);
		const t = curl([`${az.containerUrl('sas')}?restype=container&comp=list&${tampered}`]);
		assert.equal(t.status, 403);
		assert.equal(t.headers['x-ms-error-code'], 'AuthorizationFailure');

		// Expired SAS.
		const old = az.sasFor('sas', 'rl', -60);
		const e = curl([`${az.containerUrl('sas')}?restype=container&comp=list&${old}`]);
		assert.equal(e.status, 403);

		// Account SAS (container null): may create containers.
		const acct = az.sasFor(null, 'racwdl', 600);
		assert.match(acct, /(^|&)ss=b(&|$)/);
		await az.blobServiceClient({ sas: acct }).createContainer('from-account-sas');
		assert.ok(await az.blobServiceClient().getContainerClient('from-account-sas').exists());
	});

	test('Azurite keeps its x-ms-version check (the SDK clients are pinned, obstui is not)', T, async () => {
		const ro = az.sasFor(null, 'rl', 600);
		const ok = curl(['-H', `x-ms-version: ${API_VERSION}`, `${az.url}?comp=list&${ro}`]);
		assert.equal(ok.status, 200, ok.body);
		const future = curl(['-H', 'x-ms-version: 2099-01-01', `${az.url}?comp=list&${ro}`]);
		assert.equal(future.status, 400);
		assert.equal(future.headers['x-ms-error-code'], 'InvalidHeaderValue');
	});

	test('Bearer over http is refused', T, () => {
		const r = curl(['-H', `Authorization: Bearer ${mintToken()}`, '-H', 'x-ms-version: 2021-08-06', `${az.url}?comp=list`]);
		assert.equal(r.status, 403);
	});
});

// --- Azurite lifecycle ------------------------------------------------------------------

describe('azurite lifecycle', () => {
	test('restart keeps the port and, with a location, the data; crash leaves it down', T, async () => {
		const location = mkdtempSync(join(scratch, 'loc-'));
		const az = await startAzurite({ location });
		try {
			await az.blobServiceClient().createContainer('persist');
			await az.blobServiceClient().getContainerClient('persist').getBlockBlobClient('k').upload('v', 1);
			const { port, url, pid } = az;
			await az.restart();
			assert.notEqual(az.pid, pid);
			assert.equal(az.port, port);
			assert.equal(az.url, url);
			assert.equal((await az.download('persist', 'k')).toString(), 'v');
			await az.crash();
			assert.equal(az.alive(), false);
			await assert.rejects(az.blobServiceClient().getContainerClient('persist').exists(), { code: /^(ECONNREFUSED|ECONNRESET)$/ }); // RESET: a pooled keep-alive socket
			await az.restart();
			assert.equal(az.port, port);
			assert.ok(await az.blobServiceClient().getContainerClient('persist').exists());
		} finally {
			await az.stop();
		}
		assert.equal(az.alive(), false);
		assert.equal(existsSync(az.dir), false, 'temp dir removed');
	});

	test('suspend makes requests hang until resume', T, async () => {
		const az = await startAzurite();
		try {
			const sas = az.sasFor(null, 'rl', 600);
			az.suspend();
			const hung = curl(['--max-time', '1', `${az.url}?comp=list&${sas}`]);
			assert.equal(hung.code, 28, 'curl: operation timed out');
			az.resume();
			assert.equal(curl([`${az.url}?comp=list&${sas}`]).status, 200);
			az.suspend();
		} finally {
			await az.stop(); // also when suspended
		}
		assert.equal(az.alive(), false);
	});

	test('a start that fails says why, with Azurite\'s own output', T, async () => {
		const busy = net.createServer().listen(0, '127.0.0.1');
		await new Promise((r) => busy.once('listening', r));
		try {
			await assert.rejects(startAzurite({ port: busy.address().port }),
				/Azurite exited .*before listening[\s\S]*EADDRINUSE/);
			await assert.rejects(startAzurite({ startTimeout: 1 }), /did not listen within 1 ms/);
			await assert.rejects(startAzurite({ oauth: true }), /oauth needs https/);
		} finally {
			busy.close();
		}
	});

	test('Azurite dies with the test process, even on SIGKILL', T, async () => {
		const lib = new URL('./lib/azurite.mjs', import.meta.url).href;
		const script = `import { startAzurite } from ${JSON.stringify(lib)};
const az = await startAzurite();
process.stdout.write('PID ' + az.pid + ' DIR ' + az.dir + '\\n');
process.kill(process.pid, 'SIGKILL');`;
		const child = spawn(process.execPath, ['--input-type=module', '-e', script], { stdio: ['ignore', 'pipe', 'pipe'] });
		let out = '';
		child.stdout.on('data', (d) => { out += d; });
		await new Promise((r) => child.on('exit', r));
		const m = /PID (\d+) DIR (\S+)/.exec(out);
		assert.ok(m, `no pid in ${out}`);
		const pid = Number(m[1]);
		rmSync(m[2], { recursive: true, force: true }); // its parent could not
		const gone = () => {
			try { return readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1][0] === 'Z'; } catch { return true; }
		};
		const end = Date.now() + 10000;
		while (!gone() && Date.now() < end) await new Promise((r) => setTimeout(r, 100));
		if (!gone()) { process.kill(pid, 'SIGKILL'); assert.fail(`Azurite ${pid} outlived its parent`); }
	});
});

// --- Azurite over https with OAuth, and the token sources ------------------------------

describe('azurite over https with --oauth basic', () => {
	let az;
	let ep;
	const tokenFile = join(scratch, 'azure-identity-token');
	before(async () => {
		writeFileSync(tokenFile, `${mintToken({ aud: 'api://AzureADTokenExchange', iss: 'https://oidc.example/' })}\n`);
		az = await startAzurite({ https: true, oauth: true });
		ep = await startTokenEndpoint({ assertion: () => readFileSync(tokenFile, 'utf8') });
	}, T);
	after(async () => { await ep?.close(); await az?.stop(); });

	test('https with a per-client CA: trusted with caFile, refused without', T, async () => {
		assert.match(az.url, /^https:\/\/127\.0\.0\.1:\d+\/devstoreaccount1$/);
		assert.ok(readFileSync(az.caFile, 'utf8').includes('BEGIN CERTIFICATE'));
		assert.equal(process.env.NODE_TLS_REJECT_UNAUTHORIZED, undefined);
		const ro = az.sasFor(null, 'rl', 600);
		const good = curl([...curlArgs(az), `${az.url}?comp=list&${ro}`]);
		assert.equal(good.status, 200, good.stderr);
		const viaLocalhost = curl([...curlArgs(az), `https://localhost:${az.port}/${ACCOUNT}?comp=list&${ro}`]);
		assert.equal(viaLocalhost.status, 200, viaLocalhost.stderr);
		const untrusted = curl([`${az.url}?comp=list&${ro}`]);
		assert.equal(untrusted.code, 60, 'curl: peer certificate cannot be authenticated');
		await az.blobServiceClient().listContainers().next();
		await assert.rejects(az.blobServiceClient(undefined, { tlsOptions: undefined }).listContainers().next(),
			/self[- ]signed/i);
	});

	test('token endpoint: form-encoded client-credentials POST gets an Entra-shaped answer', T, async () => {
		const before = ep.requests.length;
		const r = await requestToken({ authorityHost: ep.authorityHost, tenant: ep.tenant, clientId: ep.clientId,
			assertion: readFileSync(tokenFile, 'utf8').trim() });
		assert.equal(r.status, 200, r.text);
		assert.deepEqual(Object.keys(r.json).sort(), ['access_token', 'expires_in', 'ext_expires_in', 'token_type']);
		assert.equal(r.json.token_type, 'Bearer');
		assert.ok(Number.isInteger(r.json.expires_in) && r.json.expires_in > 3000);
		assert.ok(Number.isInteger(r.json.ext_expires_in));
		const claims = decodeToken(r.json.access_token);
		assert.equal(claims.aud, 'https://storage.azure.com');
		assert.equal(claims.iss, `https://sts.windows.net/${ep.tenant}/`);
		assert.equal(claims.tid, ep.tenant);
		for (const k of ['iat', 'nbf', 'exp', 'oid']) assert.ok(claims[k], k);
		assert.deepEqual(ep.issued.at(-1), r.json.access_token);

		assert.equal(ep.requests.length, before + 1);
		const rec = ep.requests.at(-1);
		assert.equal(rec.method, 'POST');
		assert.equal(rec.path, `/${ep.tenant}/oauth2/v2.0/token`);
		assert.match(rec.headers['content-type'], /^application\/x-www-form-urlencoded/);
		assert.deepEqual(rec.form, {
			client_id: ep.clientId, scope: STORAGE_SCOPE, grant_type: 'client_credentials',
			client_assertion_type: JWT_BEARER, client_assertion: readFileSync(tokenFile, 'utf8').trim(),
		});
		assert.equal(ep.env.AZURE_AUTHORITY_HOST, `http://127.0.0.1:${ep.port}/`);
	});

	test('a token from the endpoint lets the SDK and curl create, write and list', T, async () => {
		const cred = tokenCredential(async () => {
			const r = await requestToken({ authorityHost: ep.authorityHost, tenant: ep.tenant, clientId: ep.clientId,
				assertion: readFileSync(tokenFile, 'utf8').trim() });
			assert.equal(r.status, 200, r.text);
			return { token: r.json.access_token, expiresOnTimestamp: Date.now() + r.json.expires_in * 1000 };
		});
		const svc = az.blobServiceClient(cred);
		await svc.createContainer('oauth');
		const cc = svc.getContainerClient('oauth');
		await cc.getBlockBlobClient('t/a').upload('aaa', 3, { conditions: { ifNoneMatch: '*' } });
		const names = [];
		for await (const b of cc.listBlobsFlat({ prefix: 't/' })) names.push(b.name);
		assert.deepEqual(names, ['t/a']);

		// curl + OpenSSL with caFile and a Bearer header: what obstui's libcurl does.
		const tok = ep.issued.at(-1);
		const put = curl([...curlArgs(az), '-X', 'PUT', '-H', `Authorization: Bearer ${tok}`, '-H', 'x-ms-version: 2021-08-06',
			'-H', 'x-ms-blob-type: BlockBlob', '-H', 'If-None-Match: *', '--data-binary', 'bbb', az.containerUrl('oauth', 't/b')]);
		assert.equal(put.status, 201, put.body);
		assert.equal((await az.download('oauth', 't/b')).toString(), 'bbb');
	});

	test('Azurite refuses tokens with a wrong audience or issuer, expired, not yet valid, or without iat', T, async () => {
		await az.blobServiceClient().createContainer('refuse');
		const cases = [
			['audience', mintToken({ aud: 'https://management.azure.com' }), 'Invalid token audience.'],
			['issuer', mintToken({ iss: 'https://evil.example/' }), 'Invalid token issuer.'],
			['expired', mintToken({ exp: Math.floor(Date.now() / 1000) - 60 }), 'Lifetime validation failed. The token is expired.'],
			['not yet valid', mintToken({ nbf: Math.floor(Date.now() / 1000) + 600 }), 'Lifetime validation failed.'],
			['no iat', mintToken({ omit: ['iat'] }), 'Authentication scheme Bearer is not supported.'],
		];
		for (const [what, tok, detail] of cases) {
			await assert.rejects(az.blobServiceClient(tokenCredential(tok)).getContainerClient('refuse').getBlockBlobClient('x').upload('x', 1),
				(e) => {
					assert.equal(e.statusCode, 403, `${what}: ${e.message}`);
					assert.equal(e.code, 'AuthenticationFailed', what);
					assert.equal(e.details?.authenticationErrorDetail, detail, what);
					return true;
				});
			// HEAD has no body: only the status and x-ms-error-code tell obstui why.
			const head = curl([...curlArgs(az), '-I', '-H', `Authorization: Bearer ${tok}`, '-H', 'x-ms-version: 2021-08-06',
				az.containerUrl('refuse', 'x')]);
			assert.equal(head.status, 403, what);
			assert.equal(head.headers['x-ms-error-code'], 'AuthenticationFailed', what);
		}
		const good = mintToken();
		await az.blobServiceClient(tokenCredential(good)).getContainerClient('refuse').getBlockBlobClient('x').upload('x', 1);
	});

	test('Azurite quirks a client must live with (they differ from Azure)', T, async () => {
		await az.blobServiceClient().createContainer('quirks');
		const tok = mintToken();
		const list = `${az.containerUrl('quirks')}?restype=container&comp=list`;
		// "Bearer" is matched case-sensitively: "bearer" is 400 InvalidAuthenticationInfo.
		const lower = curl([...curlArgs(az), '-H', `Authorization: bearer ${tok}`, '-H', 'x-ms-version: 2021-08-06', list]);
		assert.equal(lower.status, 400);
		assert.equal(lower.headers['x-ms-error-code'], 'InvalidAuthenticationInfo');
		// No x-ms-version >= 2017-11-09 rule (Azure has one): none at all is accepted.
		assert.equal(curl([...curlArgs(az), '-H', `Authorization: Bearer ${tok}`, list]).status, 200);
		// An expired token is 403 AuthenticationFailed, not Azure's 401 with a
		// WWW-Authenticate: Bearer challenge.
		const exp = curl([...curlArgs(az), '-H', `Authorization: Bearer ${mintToken({ exp: Math.floor(Date.now() / 1000) - 10 })}`,
			'-H', 'x-ms-version: 2021-08-06', list]);
		assert.equal(exp.status, 403);
		assert.equal(exp.headers['www-authenticate'], undefined);
		// An account-scoped audience works for this account only; an array aud is refused.
		assert.equal(curl([...curlArgs(az), '-H', `Authorization: Bearer ${mintToken({ aud: `https://${ACCOUNT}.blob.core.windows.net` })}`, list]).status, 200);
		assert.equal(curl([...curlArgs(az), '-H', `Authorization: Bearer ${mintToken({ aud: 'https://other.blob.core.windows.net' })}`, list]).status, 403);
		// No credentials on a private container: 403 AuthorizationFailure (Azure: 404).
		const anon = curl([...curlArgs(az), list]);
		assert.equal(anon.status, 403);
		assert.equal(anon.headers['x-ms-error-code'], 'AuthorizationFailure');
	});

	test('token endpoint refuses what Entra refuses, and follows a rotated assertion', T, async () => {
		const base = { authorityHost: ep.authorityHost, tenant: ep.tenant, clientId: ep.clientId };
		const current = readFileSync(tokenFile, 'utf8').trim();
		const check = async (r, status, error, code) => {
			assert.equal(r.status, status, r.text);
			assert.equal(r.json.error, error, r.text);
			assert.match(r.json.error_description, new RegExp(`^AADSTS${code}: .*Trace ID: .*Correlation ID: `));
			assert.deepEqual(r.json.error_codes, [code]);
			assert.ok(r.json.trace_id && r.json.correlation_id && r.json.timestamp);
		};
		await check(await requestToken({ ...base, assertion: 'x.y.z' }), 400, 'invalid_client', 70021);
		await check(await requestToken({ ...base, clientId: 'someone-else', assertion: current }), 400, 'unauthorized_client', 700016);
		await check(await requestToken({ ...base, tenant: 'other-tenant', assertion: current }), 400, 'invalid_request', 90002);
		await check(await requestToken({ ...base, assertion: current, scope: 'https://storage.azure.com/' }), 400, 'invalid_scope', 70011);

		// Not form-encoded.
		const json = await fetch(ep.tokenUrl, { method: 'POST', headers: { 'content-type': 'application/json' },
			body: JSON.stringify({ grant_type: 'client_credentials' }) });
		await check({ status: json.status, json: await json.json(), text: '' }, 400, 'invalid_request', 900144);
		// Wrong grant and assertion type.
		const form = (o) => fetch(ep.tokenUrl, { method: 'POST', body: new URLSearchParams(o) });
		const f1 = await form({ client_id: ep.clientId, scope: STORAGE_SCOPE, grant_type: 'password' });
		await check({ status: f1.status, json: await f1.json() }, 400, 'unsupported_grant_type', 70003);
		const f2 = await form({ client_id: ep.clientId, scope: STORAGE_SCOPE, grant_type: 'client_credentials',
			client_assertion_type: 'jwt', client_assertion: current });
		await check({ status: f2.status, json: await f2.json() }, 400, 'invalid_request', 50027);
		// Double slash between host and tenant (a careless join of AZURE_AUTHORITY_HOST).
		const dbl = await fetch(`${ep.authorityHost}/${ep.tenant}/oauth2/v2.0/token`, { method: 'POST', body: new URLSearchParams({}) });
		assert.equal(dbl.status, 404);

		// Rotation: the file changes, the old assertion stops working.
		writeFileSync(tokenFile, `${mintToken({ aud: 'api://AzureADTokenExchange', iss: 'https://oidc.example/' })}\n`);
		await check(await requestToken({ ...base, assertion: current }), 400, 'invalid_client', 70021);
		const ok = await requestToken({ ...base, assertion: readFileSync(tokenFile, 'utf8').trim() });
		assert.equal(ok.status, 200, ok.text);
	});

	test('token endpoint failure injection: 429 Retry-After, 503, slow, hang, reset', T, async () => {
		const base = { authorityHost: ep.authorityHost, tenant: ep.tenant, clientId: ep.clientId,
			assertion: readFileSync(tokenFile, 'utf8').trim() };
		ep.fail({ retryAfter: 2, count: 1 });
		const r1 = await requestToken(base);
		assert.equal(r1.status, 429);
		assert.equal(r1.headers.get('retry-after'), '2');
		assert.equal((await requestToken(base)).status, 200, 'count: 1 means only one failure');

		ep.fail({ status: 503, count: 2 });
		assert.equal((await requestToken(base)).status, 503);
		assert.equal((await requestToken(base)).status, 503);
		assert.equal((await requestToken(base)).status, 200);

		ep.fail({ delayMs: 700, count: 1 });
		const t0 = Date.now();
		assert.equal((await requestToken(base)).status, 200);
		assert.ok(Date.now() - t0 >= 650, 'slow answer');

		ep.fail({ hang: true, count: 1 });
		const hung = fetch(ep.tokenUrl, { method: 'POST', body: new URLSearchParams({}), signal: AbortSignal.timeout(500) });
		await assert.rejects(hung, /abort|timeout/i);

		ep.fail({ reset: true, count: 1 });
		await assert.rejects(requestToken(base), /fetch failed/);
		ep.fail(null);
		assert.equal((await requestToken(base)).status, 200);
		assert.ok(ep.requests.some((r) => r.status === 'hang') && ep.requests.some((r) => r.status === 'reset'));
	});

	test('client secret flow (service principal)', T, async () => {
		const sp = await startTokenEndpoint({ clientSecret: 's3cret' });
		try {
			const base = { authorityHost: sp.authorityHost, tenant: sp.tenant, clientId: sp.clientId };
			const ok = await requestToken({ ...base, clientSecret: 's3cret' });
			assert.equal(ok.status, 200, ok.text);
			const bad = await requestToken({ ...base, clientSecret: 'nope' });
			assert.equal(bad.status, 401);
			assert.equal(bad.json.error, 'invalid_client');
			await az.blobServiceClient(tokenCredential(ok.json.access_token)).listContainers().next();
		} finally {
			await sp.close();
		}
	});

	test('IMDS: needs Metadata: true, answers numbers as strings, checks client_id', T, async () => {
		const imds = await startImds({ clientId: 'uami-1' });
		try {
			assert.deepEqual(imds.env, { AZURE_POD_IDENTITY_AUTHORITY_HOST: `http://127.0.0.1:${imds.port}` });
			const q = `api-version=2018-02-01&resource=${encodeURIComponent('https://storage.azure.com/')}`;
			const url = `${imds.env.AZURE_POD_IDENTITY_AUTHORITY_HOST}/metadata/identity/oauth2/token?${q}`;
			const no = await fetch(url);
			assert.equal(no.status, 400);
			assert.match((await no.json()).error_description, /metadata header/i);

			const r = await fetch(url, { headers: { Metadata: 'true' } });
			assert.equal(r.status, 200);
			const j = await r.json();
			assert.deepEqual(Object.keys(j).sort(), ['access_token', 'client_id', 'expires_in', 'expires_on',
				'ext_expires_in', 'not_before', 'resource', 'token_type']);
			for (const k of ['expires_in', 'expires_on', 'ext_expires_in', 'not_before'])
				assert.match(j[k], /^\d+$/, `${k} is a string of digits`);
			assert.ok(Math.abs(Number(j.expires_on) - (Date.now() / 1000 + 86399)) < 5);
			assert.equal(j.resource, 'https://storage.azure.com/');
			assert.equal(j.token_type, 'Bearer');
			assert.equal(j.client_id, 'uami-1');
			assert.equal(imds.requests.at(-1).headers.metadata, 'true');
			await az.blobServiceClient(tokenCredential(j.access_token)).listContainers().next();

			assert.equal((await fetch(`${url}&client_id=uami-1`, { headers: { Metadata: 'true' } })).status, 200);
			assert.equal((await fetch(`${url}&client_id=uami-2`, { headers: { Metadata: 'true' } })).status, 400);
			assert.equal((await fetch(url.replace('2018-02-01', '2017-01-01'), { headers: { Metadata: 'true' } })).status, 400);
			assert.equal((await fetch(url, { headers: { Metadata: 'true', 'X-Forwarded-For': '10.0.0.1' } })).status, 400);

			imds.fail({ status: 500, count: 1 });
			assert.equal((await fetch(url, { headers: { Metadata: 'true' } })).status, 500);
			assert.equal((await fetch(url, { headers: { Metadata: 'true' } })).status, 200);
		} finally {
			await imds.close();
		}
		const multi = await startImds({ clientId: 'uami-1', requireClientId: true });
		try {
			const url = `${multi.tokenUrl}?api-version=2018-02-01&resource=https://storage.azure.com/`;
			const r = await fetch(url, { headers: { Metadata: 'true' } });
			assert.equal(r.status, 400);
			assert.match((await r.json()).error_description, /Multiple user assigned identities/);
			assert.equal((await fetch(`${url}&client_id=uami-1`, { headers: { Metadata: 'true' } })).status, 200);
		} finally {
			await multi.close();
		}
	});

	test('App Service: needs X-IDENTITY-HEADER, answers expires_on as epoch string (or legacy)', T, async () => {
		const as = await startAppService();
		try {
			assert.deepEqual(Object.keys(as.env).sort(), ['IDENTITY_ENDPOINT', 'IDENTITY_HEADER']);
			const url = `${as.env.IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=${encodeURIComponent('https://storage.azure.com/')}`;
			assert.equal((await fetch(url)).status, 400);
			assert.equal((await fetch(url, { headers: { 'X-IDENTITY-HEADER': 'wrong' } })).status, 401);
			assert.equal((await fetch(url.replace('2019-08-01', '2017-09-01'), { headers: { 'X-IDENTITY-HEADER': as.secret } })).status, 400);
			const r = await fetch(url, { headers: { 'X-IDENTITY-HEADER': as.env.IDENTITY_HEADER } });
			assert.equal(r.status, 200);
			const j = await r.json();
			assert.deepEqual(Object.keys(j).sort(), ['access_token', 'client_id', 'expires_on', 'resource', 'token_type']);
			assert.match(j.expires_on, /^\d+$/);
			assert.ok(Math.abs(Number(j.expires_on) - (Date.now() / 1000 + 86399)) < 5);
			await az.blobServiceClient(tokenCredential(j.access_token)).listContainers().next();
		} finally {
			await as.close();
		}
		const legacy = await startAppService({ expiresOnFormat: 'legacy' });
		try {
			const r = await fetch(`${legacy.url}?api-version=2019-08-01&resource=https://storage.azure.com/`,
				{ headers: { 'X-IDENTITY-HEADER': legacy.secret } });
			assert.match((await r.json()).expires_on, /^\d\d\/\d\d\/\d{4} \d\d:\d\d:\d\d \+00:00$/);
		} finally {
			await legacy.close();
		}
	});
});

// --- az CLI ---------------------------------------------------------------------------

describe('fake az', () => {
	const ARGS = ['account', 'get-access-token', '--resource', 'https://storage.azure.com/', '-o', 'json'];
	const run = (dir, args, env = {}) => spawnSync('az', args, {
		encoding: 'utf8', timeout: 20000, env: { ...process.env, ...env, PATH: `${dir}:${process.env.PATH}` },
	});

	test('prints what az prints, in local time, and logs each call', T, () => {
		const dir = fakeAz(join(scratch, 'az1'), { expiresOn: 1795249954, tenant: 't-1', subscription: 's-1' });
		const r = run(dir, ARGS, { TZ: 'Asia/Kolkata' });
		assert.equal(r.status, 0, r.stderr);
		const j = JSON.parse(r.stdout);
		assert.deepEqual(Object.keys(j), ['accessToken', 'expiresOn', 'expires_on', 'subscription', 'tenant', 'tokenType']);
		assert.equal(j.expires_on, 1795249954);
		assert.equal(j.expiresOn, '2026-11-21 14:02:34.000000', 'local time of the az process (UTC+5:30)');
		assert.equal(run(dir, ARGS, { TZ: 'UTC' }).stdout.includes('"2026-11-21 08:32:34.000000"'), true);
		assert.equal(j.tenant, 't-1');
		assert.equal(j.subscription, 's-1');
		assert.equal(j.tokenType, 'Bearer');
		assert.equal(decodeToken(j.accessToken).exp, 1795249954);
		assert.equal(azCalls(dir).length, 2);
		assert.deepEqual(azCalls(dir)[0].argv, ARGS);
	});

	test('refuses other arguments; fails like a logged-out az; old az has no expires_on', T, async () => {
		const dir = fakeAz(join(scratch, 'az2'));
		for (const bad of [[], ['account', 'get-access-token'], [...ARGS.slice(0, 3), 'https://storage.azure.com', '-o', 'json'],
			[...ARGS, '--tenant', 'x']]) {
			const r = run(dir, bad);
			assert.equal(r.status, 1, JSON.stringify(bad));
			assert.match(r.stderr, /^ERROR: fake az: unexpected arguments/);
			assert.equal(r.stdout, '');
		}
		const out = run(fakeAz(join(scratch, 'az3'), { exitCode: 1 }), ARGS);
		assert.equal(out.status, 1);
		assert.match(out.stderr, /Please run 'az login'/);
		const old = JSON.parse(run(fakeAz(join(scratch, 'az4'), { epochField: false }), ARGS).stdout);
		assert.equal(old.expires_on, undefined);
		assert.match(old.expiresOn, /^\d{4}-\d\d-\d\d \d\d:\d\d:\d\d\.\d{6}$/);
		// Its default token works on Azurite (checked against a fresh https instance).
		const az = await startAzurite({ https: true, oauth: true });
		try {
			await az.blobServiceClient(tokenCredential(old.accessToken)).createContainer('from-az');
		} finally {
			await az.stop();
		}
	});
});
