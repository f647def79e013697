// azurite.mjs - start a private Azurite blob service for a test, and talk to it
// with the official SDK (@azure/storage-blob) to check what obstui wrote.
//
//   const az = await startAzurite();                      // http, Shared Key / SAS
//   const az = await startAzurite({ https: true, oauth: true });   // + Bearer tokens
//   await az.blobServiceClient().createContainer('c');
//   cli(['remote', 'add', 'r', az.containerUrl('c', 'tenant-a'), ...]);
//   az.sasFor('c', 'racwdl', 3600);                        // "sv=...&sig=..."
//
// Design:
//  - Azurite runs as a child node process (its blob entry point), bound to
//    127.0.0.1 with --blobPort 0: the kernel picks a free port and Azurite
//    prints it ("successfully listens on http://127.0.0.1:P"), so there is no
//    bind-then-close race.  restart() reuses that port.
//  - Data lives in memory (--inMemoryPersistence) unless `location` is given
//    (then restart() keeps the data).
//  - HTTPS uses a self-signed P-256 certificate made at start time by openssl,
//    valid for IP:127.0.0.1 and DNS:localhost; it is its own CA, so caFile is
//    what a client trusts (curl --cacert, libcurl CURLOPT_CAINFO).  The SDK
//    clients made here trust it through the pipeline's per-client tlsOptions
//    ({ca}); nothing process-wide (NODE_TLS_REJECT_UNAUTHORIZED,
//    NODE_EXTRA_CA_CERTS) is touched.
//  - The SDK speaks a newer x-ms-version than Azurite 3.35 accepts; SDK clients
//    made here pin x-ms-version to Azurite's baseline (API_VERSION) with a
//    pipeline policy, so Azurite can keep its strict version check for obstui.
//  - Cleanup: stop() kills the child and removes its temp dir; an after() hook
//    of the test file stops what is left; at process exit the children get
//    SIGKILL; and each child exits by itself when its stdin pipe (held by this
//    process) closes, so even a SIGKILLed test runner leaves no Azurite behind.

import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve, dirname } from 'node:path';
import { fileURLToPath } from 'node:url';
import https from 'node:https';
import http from 'node:http';
import { after } from 'node:test';
import {
	BlobServiceClient, StorageSharedKeyCredential, AnonymousCredential,
	generateBlobSASQueryParameters, generateAccountSASQueryParameters,
	ContainerSASPermissions, BlobSASPermissions, AccountSASPermissions, AccountSASServices,
	AccountSASResourceTypes, SASProtocol,
} from '@azure/storage-blob';

const TESTS = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const AZURITE_DIR = join(TESTS, 'node_modules/azurite');
const AZURITE_MAIN = join(AZURITE_DIR, 'dist/src/blob/main.js');

export const ACCOUNT = 'devstoreaccount1';
// The emulator's well-known key (public; Azurite's EMULATOR_ACCOUNT_KEY_STR).
export const KEY = 'Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw==';

// The newest x-ms-version this Azurite accepts (its BLOB_API_VERSION).
export const API_VERSION = (() => {
	try {
		const src = readFileSync(join(AZURITE_DIR, 'dist/src/blob/utils/constants.js'), 'utf8');
		return /BLOB_API_VERSION = "([0-9-]+)"/.exec(src)[1];
	} catch { return '2025-11-05'; }
})();

const live = new Set();

after(async () => {
	for (const az of [...live]) await az.stop().catch(() => {});
});
process.on('exit', () => {
	for (const az of live) {
		try { if (az.pid) process.kill(az.pid, 'SIGKILL'); } catch { /* gone */ }
		try { rmSync(az.dir, { recursive: true, force: true }); } catch { /* ignore */ }
	}
});

// Exits the Azurite child when its parent (this process) goes away: the parent
// holds the write end of the child's stdin, the kernel closes it on any exit.
const WATCHDOG = `'use strict';
process.stdin.on('end', () => process.exit(0));
process.stdin.on('close', () => process.exit(0));
process.stdin.on('error', () => process.exit(0));
process.stdin.resume();
// ...without keeping Azurite alive once it has closed its server (SIGTERM).
process.stdin.unref();
`;

// makeCert(dir) -> {cert, key}: self-signed P-256 certificate for 127.0.0.1/localhost.
export function makeCert(dir) {
	const cert = join(dir, 'cert.pem');
	const key = join(dir, 'key.pem');
	const r = spawnSync('openssl', ['req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1',
		'-nodes', '-keyout', key, '-out', cert, '-days', '2', '-subj', '/CN=127.0.0.1',
		'-addext', 'subjectAltName=IP:127.0.0.1,DNS:localhost'], { encoding: 'utf8', timeout: 20000 });
	if (r.error || r.status !== 0)
		throw new Error(`openssl could not make a test certificate: ${r.error?.message ?? ''}${r.stderr}`);
	return { cert, key };
}

// startAzurite(opts) -> handle (see below).
//   https              serve TLS with a fresh self-signed certificate
//   oauth              --oauth basic (Bearer tokens; needs https)
//   location           persist in this directory instead of memory
//   port               fixed port (default 0: the kernel picks a free one)
//   loose              --loose (ignore unsupported headers such as x-ms-content-crc64)
//   skipApiVersionCheck  accept any x-ms-version
//   debugLog           write Azurite's debug log to this file (every request it saw)
//   startTimeout       ms to wait for "successfully listens" (default 20000)
//   memoryLimitMiB     --extentMemoryLimit for the in-memory store (default 1024)
export async function startAzurite({ https: useHttps = false, oauth = false, location, port = 0, loose = false,
	skipApiVersionCheck = false, debugLog, startTimeout = 20000, memoryLimitMiB = 1024 } = {}) {
	if (oauth && !useHttps) throw new Error('startAzurite: oauth needs https (Azurite refuses Bearer over http)');
	const dir = mkdtempSync(join(tmpdir(), 'obstui-azurite-'));
	writeFileSync(join(dir, 'watchdog.cjs'), WATCHDOG);
	let tls = null;
	try {
		if (useHttps) tls = makeCert(dir);
	} catch (e) {
		rmSync(dir, { recursive: true, force: true });
		throw e;
	}
	const ca = tls ? readFileSync(tls.cert) : null;

	const az = {
		dir, pid: null, port: 0, https: useHttps, oauth, account: ACCOUNT, key: KEY,
		caFile: tls?.cert, ca, apiVersion: API_VERSION,
		child: null, exited: null, argv: null,
	};
	let log = '';
	const keep = (d) => { log += d; if (log.length > 1 << 16) log = log.slice(-(1 << 15)); };
	az.output = () => log;

	const launch = async (listenPort) => {
		const argv = ['--require', join(dir, 'watchdog.cjs'), AZURITE_MAIN,
			'--blobHost', '127.0.0.1', '--blobPort', String(listenPort), '--disableTelemetry', '--silent'];
		if (location) argv.push('--location', location);
		else argv.push('--inMemoryPersistence', '--extentMemoryLimit', String(memoryLimitMiB));
		if (tls) argv.push('--cert', tls.cert, '--key', tls.key);
		if (oauth) argv.push('--oauth', 'basic');
		if (loose) argv.push('--loose');
		if (skipApiVersionCheck) argv.push('--skipApiVersionCheck');
		if (debugLog) argv.push('--debug', debugLog);
		az.argv = argv;
		const child = spawn(process.execPath, argv, { cwd: dir, stdio: ['pipe', 'pipe', 'pipe'] });
		az.child = child;
		az.pid = child.pid;
		az.exited = new Promise((res) => child.on('exit', (code, signal) => res({ code, signal })));
		child.stdout.setEncoding('utf8');
		child.stderr.setEncoding('utf8');
		child.stderr.on('data', keep);
		// The child's own stdin errors (EPIPE once it died) are expected.
		child.stdin.on('error', () => {});
		let out = '';
		const listening = await new Promise((res, rej) => {
			const fail = (why) => {
				clearTimeout(timer);
				try { child.kill('SIGKILL'); } catch { /* gone */ }
				rej(new Error(`Azurite ${why}\ncommand: ${process.execPath} ${argv.join(' ')}\noutput: ${log.slice(-4000)}`));
			};
			const timer = setTimeout(() => fail(`did not listen within ${startTimeout} ms`), startTimeout);
			child.stdout.on('data', (d) => {
				keep(d);
				out += d;
				const m = /successfully listens on (https?):\/\/127\.0\.0\.1:(\d+)/.exec(out);
				if (m) { clearTimeout(timer); res(Number(m[2])); }
			});
			child.on('exit', (code, signal) => fail(`exited (code ${code}, signal ${signal}) before listening`));
			child.on('error', (e) => fail(`could not start: ${e.message}`));
		});
		az.port = listening;
		// Listening is not quite answering: make one request (any status will do).
		await probe(az, startTimeout);
	};

	const scheme = useHttps ? 'https' : 'http';
	await launch(port).catch((e) => { rmSync(dir, { recursive: true, force: true }); throw e; });
	live.add(az);
	az.host = `127.0.0.1:${az.port}`;
	az.url = `${scheme}://127.0.0.1:${az.port}/${ACCOUNT}`;
	az.connectionString = `DefaultEndpointsProtocol=${scheme};AccountName=${ACCOUNT};AccountKey=${KEY};BlobEndpoint=${az.url};`;
	az.agent = useHttps ? new https.Agent({ ca }) : undefined;

	const kill = async (signal, timeout) => {
		const child = az.child;
		if (!child || child.exitCode !== null || child.signalCode !== null) return az.exited;
		try { process.kill(child.pid, 'SIGCONT'); } catch { /* gone */ }
		child.kill(signal);
		const t = setTimeout(() => { try { child.kill('SIGKILL'); } catch { /* gone */ } }, timeout);
		const r = await az.exited;
		clearTimeout(t);
		return r;
	};

	// stop(): kill Azurite (SIGTERM, SIGKILL after 5 s) and remove the temp dir.
	az.stop = async () => {
		const r = await kill(location ? 'SIGTERM' : 'SIGKILL', 5000);
		live.delete(az);
		rmSync(dir, { recursive: true, force: true });
		return r;
	};
	// crash(): SIGKILL now, keep the handle (and port) for restart().  With a
	// location, Azurite saves its metadata every 5 s (loki autosave), so a
	// crash loses what changed in the last 5 s; stop()/restart() save it.
	az.crash = () => kill('SIGKILL', 0);
	// restart(): stop (SIGTERM with a location: Azurite saves its metadata), then
	// start again on the same port, location and certificate.
	az.restart = async () => {
		await kill(location ? 'SIGTERM' : 'SIGKILL', 5000);
		await launch(az.port);
		return az;
	};
	// suspend()/resume(): SIGSTOP/SIGCONT, so connections hang (timeouts tests).
	az.suspend = () => process.kill(az.pid, 'SIGSTOP');
	az.resume = () => process.kill(az.pid, 'SIGCONT');
	az.alive = () => !!az.child && az.child.exitCode === null && az.child.signalCode === null;

	// containerUrl(name, prefix?) -> 'http(s)://127.0.0.1:P/devstoreaccount1/name[/prefix]'
	az.containerUrl = (name, prefix) => {
		let u = `${az.url}/${encodeURIComponent(name)}`;
		if (prefix) u += `/${String(prefix).replace(/^\/+/, '').split('/').map(encodeURIComponent).join('/')}`;
		return u;
	};

	// blobServiceClient(cred?, options?) -> BlobServiceClient
	//   cred undefined: Shared Key; a TokenCredential ({getToken}): Bearer;
	//   null: anonymous; {sas: 'sv=...'}: that SAS.
	//   options go to the SDK (retryOptions etc.); by default one try only.
	az.blobServiceClient = (cred, options = {}) => {
		let url = az.url;
		let credential;
		if (cred === undefined) credential = new StorageSharedKeyCredential(ACCOUNT, KEY);
		else if (cred === null) credential = new AnonymousCredential();
		else if (typeof cred.sas === 'string') { credential = new AnonymousCredential(); url += `?${cred.sas.replace(/^\?/, '')}`; }
		else credential = cred;
		const client = new BlobServiceClient(url, credential, {
			retryOptions: { maxTries: 1, tryTimeoutInMs: 30000 },
			...(ca ? { tlsOptions: { ca } } : {}),
			...options,
		});
		pinApiVersion(client);
		return client;
	};

	// sasFor(container, perms = 'racwdl', expiry = 3600, {start, protocol}) -> 'sv=...&sig=...'
	//   container given: a container-level service SAS (sr=c);
	//   container null: an account SAS (ss=b, srt=sco).
	//   expiry: a Date, or seconds from now (negative: already expired).
	az.sasFor = (container, perms = 'racwdl', expiry = 3600, { start, protocol } = {}) => {
		const expiresOn = expiry instanceof Date ? expiry : new Date(Date.now() + expiry * 1000);
		const cred = new StorageSharedKeyCredential(ACCOUNT, KEY);
		const common = {
			expiresOn, startsOn: start, version: API_VERSION,
			protocol: protocol ?? (useHttps ? SASProtocol.Https : SASProtocol.HttpsAndHttp),
		};
		if (container == null) {
			return generateAccountSASQueryParameters({
				...common,
				services: AccountSASServices.parse('b').toString(),
				resourceTypes: AccountSASResourceTypes.parse('sco').toString(),
				permissions: AccountSASPermissions.parse(perms),
			}, cred).toString();
		}
		return generateBlobSASQueryParameters({
			...common, containerName: container, permissions: ContainerSASPermissions.parse(perms),
		}, cred).toString();
	};
	// blobSasFor(container, blob, perms, expiry) -> a blob-level service SAS (sr=b).
	az.blobSasFor = (container, blob, perms = 'r', expiry = 3600) => generateBlobSASQueryParameters({
		containerName: container, blobName: blob, permissions: BlobSASPermissions.parse(perms),
		expiresOn: expiry instanceof Date ? expiry : new Date(Date.now() + expiry * 1000), version: API_VERSION,
		protocol: useHttps ? SASProtocol.Https : SASProtocol.HttpsAndHttp,
	}, new StorageSharedKeyCredential(ACCOUNT, KEY)).toString();

	// listNames(container, prefix?) -> every blob name (Shared Key), sorted as listed.
	az.listNames = async (container, prefix) => {
		const names = [];
		for await (const b of az.blobServiceClient().getContainerClient(container).listBlobsFlat({ prefix }))
			names.push(b.name);
		return names;
	};
	// download(container, name) -> Buffer
	az.download = (container, name) =>
		az.blobServiceClient().getContainerClient(container).getBlobClient(name).downloadToBuffer();

	return az;
}

// The SDK sends its own (newer) x-ms-version; replace it before the request is
// signed (policies without a phase run before the Sign phase).
function pinApiVersion(client) {
	const pipeline = client.storageClientContext?.pipeline;
	if (!pipeline) throw new Error('azurite.mjs: @azure/storage-blob internals changed (no storageClientContext.pipeline)');
	if (pipeline.getOrderedPolicies().some((p) => p.name === 'obstuiPinApiVersion')) return;
	pipeline.addPolicy({
		name: 'obstuiPinApiVersion',
		sendRequest(req, next) {
			req.headers.set('x-ms-version', API_VERSION);
			return next(req);
		},
	});
}

function probe(az, timeout) {
	const mod = az.https ? https : http;
	const end = Date.now() + timeout;
	const once = () => new Promise((res, rej) => {
		const req = mod.request({
			host: '127.0.0.1', port: az.port, path: `/${ACCOUNT}?comp=list`, method: 'GET',
			ca: az.ca ?? undefined, agent: false, timeout: 2000,
		}, (r) => { r.resume(); r.on('end', () => res(r.statusCode)); });
		req.on('timeout', () => req.destroy(new Error('timeout')));
		req.on('error', rej);
		req.end();
	});
	return (async () => {
		for (;;) {
			try { return await once(); } catch (e) {
				if (Date.now() > end) throw new Error(`Azurite on port ${az.port} listens but does not answer: ${e.message}\noutput: ${az.output().slice(-4000)}`);
				await new Promise((r) => setTimeout(r, 100));
			}
		}
	})();
}

// curlArgs(az) -> the curl options a test needs to reach this Azurite
// (['--cacert', caFile] for https, [] for http).
export const curlArgs = (az) => (az.caFile ? ['--cacert', az.caFile] : []);
