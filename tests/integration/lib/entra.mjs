// entra.mjs - fake Microsoft Entra ID token sources for obstui's Azure auth
// paths, on 127.0.0.1 port 0: the v2 token endpoint (workload identity and
// service principal), IMDS, App Service managed identity, and an `az` CLI.
//
//   const ep = await startTokenEndpoint({ tenant, clientId, assertion: () => readFileSync(f, 'utf8') });
//   cli([...], { env: { ...ep.env, AZURE_FEDERATED_TOKEN_FILE: f } });
//   assert.equal(ep.requests.length, 1);
//
// The tokens are unsigned JWTs that Azurite --oauth basic accepts (it decodes
// without verifying: it needs iat/nbf/exp, an sts.windows.net issuer and a
// storage audience).  Request shapes and answers follow
// /work/shared/notes/azure-blob.md §2.4; errors imitate the real services'.
//
// Every server records each request in .requests ({method, path, query,
// headers, body, form, status, at}) and each token it handed out in .issued;
// .fail(spec) makes the next requests fail (see failWith below); close() stops
// it (an after() hook of the test file closes what is left).

import http from 'node:http';
import { randomUUID, randomBytes } from 'node:crypto';
import { writeFileSync, readFileSync, existsSync, chmodSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { after } from 'node:test';

export const STORAGE_SCOPE = 'https://storage.azure.com/.default';
export const STORAGE_RESOURCE = 'https://storage.azure.com/';
export const JWT_BEARER = 'urn:ietf:params:oauth:client-assertion-type:jwt-bearer';

const live = new Set();
after(async () => { for (const s of [...live]) await s.close().catch(() => {}); });

const b64url = (s) => Buffer.from(s).toString('base64url');

// mintToken(claims?) -> 'header.payload.signature' that Azurite --oauth basic accepts.
//   claims override the defaults: aud https://storage.azure.com, iss
//   https://sts.windows.net/<tid>/, iat/nbf now-300, exp now+lifetime, oid, tid,
//   appid; {lifetime} (s, default 3600); {omit: ['iat']} drops claims.
export function mintToken({ lifetime = 3600, omit = [], tenant, ...claims } = {}) {
	const now = Math.floor(Date.now() / 1000);
	const tid = claims.tid ?? tenant ?? '72f988bf-86f1-41af-91ab-2d7cd011db47';
	const payload = {
		aud: 'https://storage.azure.com',
		iss: `https://sts.windows.net/${tid}/`,
		iat: now - 300, nbf: now - 300, exp: now + lifetime,
		oid: randomUUID(), tid, appid: randomUUID(), sub: randomUUID(), ver: '1.0',
		uti: randomBytes(9).toString('base64url'),
		...claims,
	};
	for (const k of omit) delete payload[k];
	// Azurite does not check the signature; a real-looking one keeps 3 non-empty parts.
	return `${b64url(JSON.stringify({ typ: 'JWT', alg: 'RS256', kid: 'obstui-test' }))}.${b64url(JSON.stringify(payload))}.${randomBytes(64).toString('base64url')}`;
}

// decodeToken(jwt) -> its payload (no verification).
export function decodeToken(jwt) {
	return JSON.parse(Buffer.from(String(jwt).split('.')[1], 'base64url').toString('utf8'));
}

// tokenCredential(get) -> an @azure/core-auth TokenCredential for the SDK.
//   get: a token string, or an async function returning a token string or
//   {token, expiresOnTimestamp(ms)}.
export function tokenCredential(get) {
	return {
		async getToken() {
			const v = typeof get === 'function' ? await get() : get;
			if (typeof v === 'string') {
				const exp = decodeToken(v).exp;
				return { token: v, expiresOnTimestamp: exp * 1000 };
			}
			return v;
		},
	};
}

// requestToken({authorityHost, tenant, clientId, assertion | clientSecret, scope})
//   -> {status, json, text}: the client-credentials POST obstui makes, with fetch().
export async function requestToken({ authorityHost, tenant, clientId, assertion, clientSecret, scope = STORAGE_SCOPE }) {
	const form = new URLSearchParams({ client_id: clientId, scope, grant_type: 'client_credentials' });
	if (assertion !== undefined) {
		form.set('client_assertion_type', JWT_BEARER);
		form.set('client_assertion', assertion);
	}
	if (clientSecret !== undefined) form.set('client_secret', clientSecret);
	const r = await fetch(`${authorityHost.replace(/\/+$/, '')}/${tenant}/oauth2/v2.0/token`, {
		method: 'POST',
		headers: { 'content-type': 'application/x-www-form-urlencoded' },
		body: form.toString(),
		signal: AbortSignal.timeout(20000),
	});
	const text = await r.text();
	let json = null;
	try { json = JSON.parse(text); } catch { /* not JSON */ }
	return { status: r.status, headers: r.headers, json, text };
}

// --- the common server ----------------------------------------------------------------

// failWith spec, for .fail(spec) and the {fail} option of every server:
//   {status, body, headers}  answer this instead (body: string or object -> JSON)
//   {retryAfter}             with status 429 unless given; sets Retry-After (s)
//   {delayMs}                answer (normally, or the failure) this late
//   {hang: true}             never answer (the socket stays open until close())
//   {reset: true}            destroy the connection without an answer
//   {count}                  apply to this many requests, then answer normally
//                            (default: until .fail(null))
async function startServer(name, handle, { fail } = {}) {
	const srv = { name, requests: [], issued: [], failSpec: null, failLeft: 0 };
	const sockets = new Set();
	srv.fail = (spec) => {
		srv.failSpec = spec || null;
		srv.failLeft = spec?.count ?? Infinity;
		return srv;
	};
	if (fail) srv.fail(fail);
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', async () => {
			const u = new URL(req.url, 'http://127.0.0.1');
			const body = Buffer.concat(chunks).toString('utf8');
			const rec = {
				method: req.method, path: u.pathname, query: Object.fromEntries(u.searchParams),
				rawUrl: req.url, headers: req.headers, body, form: null, status: null, at: Date.now(),
			};
			if (/^application\/x-www-form-urlencoded/i.test(req.headers['content-type'] ?? ''))
				rec.form = Object.fromEntries(new URLSearchParams(body));
			srv.requests.push(rec);
			let spec = null;
			if (srv.failSpec && srv.failLeft > 0) {
				spec = srv.failSpec;
				if (--srv.failLeft <= 0) srv.failSpec = null;
			}
			if (spec?.delayMs) await new Promise((r) => setTimeout(r, spec.delayMs));
			if (spec?.hang) { rec.status = 'hang'; return; }
			if (spec?.reset) { rec.status = 'reset'; req.socket.destroy(); return; }
			let answer;
			if (spec && (spec.status || spec.body !== undefined || spec.retryAfter !== undefined)) {
				const status = spec.status ?? (spec.retryAfter !== undefined ? 429 : 500);
				answer = { status, body: spec.body ?? { error: 'temporarily_unavailable', error_description: `injected ${status}` }, headers: { ...(spec.headers ?? {}) } };
				if (spec.retryAfter !== undefined) answer.headers['retry-after'] = String(spec.retryAfter);
			} else {
				try { answer = handle(rec, srv); } catch (e) { answer = { status: 500, body: { error: 'harness_error', error_description: e.stack } }; }
			}
			rec.status = answer.status;
			const text = typeof answer.body === 'string' ? answer.body : JSON.stringify(answer.body);
			res.writeHead(answer.status, {
				'content-type': 'application/json; charset=utf-8', 'cache-control': 'no-store',
				'content-length': Buffer.byteLength(text), ...(answer.headers ?? {}),
			});
			res.end(text);
		});
	});
	server.on('connection', (s) => { sockets.add(s); s.on('close', () => sockets.delete(s)); });
	await new Promise((res, rej) => { server.once('error', rej); server.listen(0, '127.0.0.1', res); });
	srv.port = server.address().port;
	srv.url = `http://127.0.0.1:${srv.port}`;
	srv.close = () => new Promise((res) => {
		live.delete(srv);
		for (const s of sockets) s.destroy();
		server.close(() => res());
	});
	live.add(srv);
	return srv;
}

// --- Entra v2 token endpoint ----------------------------------------------------------

function aadError(status, error, code, text) {
	const trace = randomUUID();
	const corr = randomUUID();
	const ts = new Date().toISOString().replace('T', ' ').replace(/\.\d+Z$/, 'Z');
	return {
		status,
		body: {
			error,
			error_description: `AADSTS${code}: ${text} Trace ID: ${trace} Correlation ID: ${corr} Timestamp: ${ts}`,
			error_codes: [code], timestamp: ts, trace_id: trace, correlation_id: corr,
			error_uri: `https://login.microsoftonline.com/error?code=${code}`,
		},
	};
}

// startTokenEndpoint({tenant, clientId, assertion, clientSecret, lifetime, tokenClaims, fail})
//   -> {url, authorityHost, tokenUrl, env, requests, issued, setAssertion(a), fail(spec), close()}
//   POST /{tenant}/oauth2/v2.0/token, client-credentials grant with a
//   federated assertion (workload identity) or, if clientSecret is set, a
//   client_secret.  assertion: a string or a function returning the current
//   one (e.g. reading the token file, so a test can rotate it).
//   env: AZURE_AUTHORITY_HOST (trailing '/'), AZURE_TENANT_ID, AZURE_CLIENT_ID.
export async function startTokenEndpoint({ tenant = randomUUID(), clientId = randomUUID(), assertion,
	clientSecret, lifetime = 3599, tokenClaims = {}, fail } = {}) {
	let current = assertion;
	const handle = (rec, srv) => {
		if (rec.path !== `/${tenant}/oauth2/v2.0/token`) {
			const m = /^\/([^/]+)\/oauth2\/v2\.0\/token$/.exec(rec.path);
			if (m) return aadError(400, 'invalid_request', 90002, `Tenant '${m[1]}' not found. Check to make sure you have the correct tenant ID and are signing into the correct cloud.`);
			return { status: 404, body: { error: 'not_found', error_description: `no such path ${rec.path}; expected /${tenant}/oauth2/v2.0/token` } };
		}
		if (rec.method !== 'POST')
			return aadError(405, 'invalid_request', 900561, 'The endpoint only accepts POST requests.');
		if (!rec.form)
			return aadError(400, 'invalid_request', 900144, "The request body must contain the following parameter: 'grant_type'. (Content-Type must be application/x-www-form-urlencoded)");
		const f = rec.form;
		for (const p of ['grant_type', 'client_id', 'scope'])
			if (!f[p]) return aadError(400, 'invalid_request', 900144, `The request body must contain the following parameter: '${p}'.`);
		if (f.grant_type !== 'client_credentials')
			return aadError(400, 'unsupported_grant_type', 70003, `The app requested an unsupported grant type '${f.grant_type}'.`);
		if (f.client_id !== clientId)
			return aadError(400, 'unauthorized_client', 700016, `Application with identifier '${f.client_id}' was not found in the directory '${tenant}'.`);
		if (f.scope !== STORAGE_SCOPE)
			return aadError(400, 'invalid_scope', 70011, `The provided request must include a 'scope' input parameter. The provided value for the input parameter 'scope' is not valid (${f.scope}); expected ${STORAGE_SCOPE}.`);
		if (clientSecret !== undefined && f.client_secret !== undefined) {
			if (f.client_secret !== clientSecret)
				return aadError(401, 'invalid_client', 7000215, 'Invalid client secret provided. Ensure the secret being sent in the request is the client secret value, not the client secret ID.');
		} else {
			if (!f.client_assertion_type && !f.client_assertion)
				return aadError(401, 'invalid_client', 7000218, "The request body must contain the following parameter: 'client_assertion' or 'client_secret'.");
			if (f.client_assertion_type !== JWT_BEARER)
				return aadError(400, 'invalid_request', 50027, `Invalid client_assertion_type '${f.client_assertion_type}'; expected ${JWT_BEARER}.`);
			const want = typeof current === 'function' ? current() : current;
			if (want === undefined || f.client_assertion !== String(want).trim())
				return aadError(400, 'invalid_client', 70021, 'No matching federated identity record found for presented assertion.');
		}
		const token = mintToken({ lifetime: lifetime + 1, tenant, appid: clientId, ...tokenClaims });
		srv.issued.push(token);
		return {
			status: 200,
			body: { token_type: 'Bearer', expires_in: lifetime, ext_expires_in: lifetime, access_token: token },
		};
	};
	const srv = await startServer('token-endpoint', handle, { fail });
	srv.tenant = tenant;
	srv.clientId = clientId;
	srv.authorityHost = `${srv.url}/`;
	srv.tokenUrl = `${srv.url}/${tenant}/oauth2/v2.0/token`;
	srv.env = { AZURE_AUTHORITY_HOST: srv.authorityHost, AZURE_TENANT_ID: tenant, AZURE_CLIENT_ID: clientId };
	srv.setAssertion = (a) => { current = a; return srv; };
	return srv;
}

// --- IMDS -------------------------------------------------------------------------------

// startImds({clientId, requireClientId, lifetime, tokenClaims, fail})
//   -> {url, env, requests, issued, fail(spec), close()}
//   GET /metadata/identity/oauth2/token?api-version=2018-02-01&resource=https://storage.azure.com/[&client_id=]
//   with "Metadata: true"; all numbers in the answer are JSON strings.
//   clientId: the identity's client id (a different client_id gets 400);
//   requireClientId: the VM has several identities, so client_id is required.
//   Requests with X-Forwarded-For (i.e. through a proxy) are refused, as IMDS does.
//   env: AZURE_POD_IDENTITY_AUTHORITY_HOST (obstui's override of 169.254.169.254).
export async function startImds({ clientId = randomUUID(), requireClientId = false, lifetime = 86399,
	tokenClaims = {}, fail } = {}) {
	const bad = (desc, status = 400) => ({ status, body: { error: 'invalid_request', error_description: desc } });
	const handle = (rec, srv) => {
		if (rec.path !== '/metadata/identity/oauth2/token')
			return { status: 404, body: { error: 'not_found', error_description: `no such path ${rec.path}` } };
		if (rec.method !== 'GET') return bad(`method ${rec.method} not allowed`, 405);
		if (rec.headers['x-forwarded-for']) return bad('Request with X-Forwarded-For header is not allowed');
		if (String(rec.headers.metadata).toLowerCase() !== 'true') return bad('Required metadata header not specified');
		if (!rec.query['api-version']) return bad('Required query variable \'api-version\' is missing');
		if (rec.query['api-version'] !== '2018-02-01') return bad(`Invalid api-version '${rec.query['api-version']}'; this fake speaks 2018-02-01`);
		const resource = rec.query.resource;
		if (!resource) return bad('Required query variable \'resource\' is missing');
		if (resource !== STORAGE_RESOURCE && resource !== 'https://storage.azure.com')
			return { status: 400, body: { error: 'invalid_resource', error_description: `AADSTS500011: The resource principal named ${resource} was not found in the tenant.` } };
		const asked = rec.query.client_id ?? rec.query.object_id ?? rec.query.msi_res_id;
		if (rec.query.client_id !== undefined && rec.query.client_id !== clientId) return bad('Identity not found');
		if (requireClientId && asked === undefined)
			return bad('Multiple user assigned identities exist, please specify the clientId / resourceId of the identity in the token request');
		const now = Math.floor(Date.now() / 1000);
		const token = mintToken({ lifetime: lifetime + 1, appid: clientId, ...tokenClaims });
		srv.issued.push(token);
		return {
			status: 200,
			body: {
				access_token: token, client_id: clientId, expires_in: String(lifetime),
				expires_on: String(now + lifetime), ext_expires_in: String(lifetime), not_before: String(now),
				resource, token_type: 'Bearer',
			},
		};
	};
	const srv = await startServer('imds', handle, { fail });
	srv.clientId = clientId;
	srv.tokenUrl = `${srv.url}/metadata/identity/oauth2/token`;
	srv.env = { AZURE_POD_IDENTITY_AUTHORITY_HOST: srv.url };
	return srv;
}

// --- App Service / Functions / Container Apps ---------------------------------------

// startAppService({secret, clientId, lifetime, expiresOnFormat, tokenClaims, fail})
//   -> {url (IDENTITY_ENDPOINT), secret, env, requests, issued, fail(spec), close()}
//   GET {IDENTITY_ENDPOINT}?api-version=2019-08-01&resource=...[&client_id=|&mi_res_id=|&object_id=]
//   with "X-IDENTITY-HEADER: {IDENTITY_HEADER}" (missing: 400, wrong: 401).
//   expiresOnFormat 'epoch' (default, "1700000000") or 'legacy'
//   ("MM/dd/yyyy HH:mm:ss +00:00", the old MSI_ENDPOINT form).
export async function startAppService({ secret = randomBytes(16).toString('hex'), clientId = randomUUID(),
	lifetime = 86399, expiresOnFormat = 'epoch', tokenClaims = {}, fail } = {}) {
	const bad = (desc, status = 400) => ({ status, body: { statusCode: status, message: desc, correlationId: randomUUID() } });
	const handle = (rec, srv) => {
		if (rec.path !== '/msi/token')
			return { status: 404, body: { error: 'not_found', error_description: `no such path ${rec.path}` } };
		if (rec.method !== 'GET') return bad(`method ${rec.method} not allowed`, 405);
		const h = rec.headers['x-identity-header'];
		if (h === undefined) return bad('The X-IDENTITY-HEADER header is missing.');
		if (h !== secret) return bad('The X-IDENTITY-HEADER header is not valid.', 401);
		if (rec.query['api-version'] !== '2019-08-01') return bad(`api-version must be 2019-08-01, got '${rec.query['api-version']}'`);
		const resource = rec.query.resource;
		if (resource !== STORAGE_RESOURCE && resource !== 'https://storage.azure.com')
			return bad(`Invalid resource '${resource}'`);
		if (rec.query.client_id !== undefined && rec.query.client_id !== clientId) return bad('Unable to load the proper Managed Identity.');
		const exp = Math.floor(Date.now() / 1000) + lifetime;
		const token = mintToken({ lifetime: lifetime + 1, appid: clientId, ...tokenClaims });
		srv.issued.push(token);
		return {
			status: 200,
			body: {
				access_token: token, expires_on: expiresOnFormat === 'legacy' ? legacyDate(exp) : String(exp),
				resource, token_type: 'Bearer', client_id: clientId,
			},
		};
	};
	const srv = await startServer('app-service', handle, { fail });
	srv.secret = secret;
	srv.clientId = clientId;
	srv.url = `${srv.url}/msi/token`;
	srv.env = { IDENTITY_ENDPOINT: srv.url, IDENTITY_HEADER: secret };
	return srv;
}

function legacyDate(epoch) {
	const d = new Date(epoch * 1000);
	const p = (n) => String(n).padStart(2, '0');
	return `${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${d.getUTCFullYear()} ${p(d.getUTCHours())}:${p(d.getUTCMinutes())}:${p(d.getUTCSeconds())} +00:00`;
}

// --- az CLI ---------------------------------------------------------------------------

// fakeAz(dir, {token, expiresOn, subscription, tenant, epochField, exitCode, stderr, delayMs}) -> dir
//   Writes an executable `az` into dir (put dir first on PATH).  It accepts
//   exactly `account get-access-token --resource https://storage.azure.com/ -o json`
//   (anything else: exit 1 and an error on stderr) and prints what az prints:
//   {accessToken, expiresOn: local "YYYY-MM-DD HH:MM:SS.ffffff", expires_on
//   (epoch int; az >= 2.54, left out with epochField: false), subscription,
//   tenant, tokenType}.  expiresOn: a Date or epoch seconds (default now+1h).
//   exitCode/stderr: fail like a logged-out az ("Please run 'az login'").
//   Every call is logged to dir/az-calls.jsonl (see azCalls).
export function fakeAz(dir, { token, expiresOn, subscription = randomUUID(), tenant = randomUUID(),
	epochField = true, exitCode = 0, stderr, delayMs = 0 } = {}) {
	mkdirSync(dir, { recursive: true });
	const exp = expiresOn instanceof Date ? Math.floor(expiresOn.getTime() / 1000)
		: (expiresOn ?? Math.floor(Date.now() / 1000) + 3600);
	const config = {
		token: token ?? mintToken({ tenant, exp, iat: exp - 3900, nbf: exp - 3900 }),
		exp, subscription, tenant, epochField, exitCode, stderr: stderr ?? null, delayMs,
		log: join(dir, 'az-calls.jsonl'),
	};
	const script = `#!${process.execPath}
// fake az written by tests/integration/lib/entra.mjs
'use strict';
const fs = require('fs');
const c = ${JSON.stringify(config)};
const argv = process.argv.slice(2);
fs.appendFileSync(c.log, JSON.stringify({ argv, at: Date.now(), pid: process.pid }) + '\\n');
const want = ['account', 'get-access-token', '--resource', 'https://storage.azure.com/', '-o', 'json'];
const main = () => {
	if (argv.length !== want.length || argv.some((a, i) => a !== want[i])) {
		process.stderr.write('ERROR: fake az: unexpected arguments: ' + JSON.stringify(argv) + '\\nexpected: ' + want.join(' ') + '\\n');
		process.exit(1);
	}
	if (c.exitCode) {
		process.stderr.write(c.stderr ?? "ERROR: Please run 'az login' to setup account.\\n");
		process.exit(c.exitCode);
	}
	const d = new Date(c.exp * 1000);
	const p = (n, w = 2) => String(n).padStart(w, '0');
	const out = {
		accessToken: c.token,
		expiresOn: d.getFullYear() + '-' + p(d.getMonth() + 1) + '-' + p(d.getDate()) + ' ' + p(d.getHours()) + ':' + p(d.getMinutes()) + ':' + p(d.getSeconds()) + '.' + p(d.getMilliseconds() * 1000, 6),
	};
	if (c.epochField) out.expires_on = c.exp;
	Object.assign(out, { subscription: c.subscription, tenant: c.tenant, tokenType: 'Bearer' });
	process.stdout.write(JSON.stringify(out, null, 2) + '\\n');
};
setTimeout(main, c.delayMs);
`;
	const file = join(dir, 'az');
	writeFileSync(file, script);
	chmodSync(file, 0o755);
	return dir;
}

// azCalls(dir) -> [{argv, at, pid}], one per run of the fake az in dir.
export function azCalls(dir) {
	const f = join(dir, 'az-calls.jsonl');
	if (!existsSync(f)) return [];
	return readFileSync(f, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l));
}
