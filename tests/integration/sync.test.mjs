// Sync with Azure Blob Storage (Azurite over http, Shared Key unless said):
// push and pull round trips compared field by field with what the
// OpenTelemetry SDK sent, idempotence, multi-block uploads, corrupt blocks
// on the remote, an interrupted push that resumes, wrong credentials,
// named remotes, serve --push (and its --push-timeout), captures, a trace
// stitched from two origins, and a file:// remote.
//
// Commands that talk through a proxy run by this process use runCli (async):
// cli() is spawnSync, which would stop the proxy from answering.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { writeFileSync, readFileSync } from 'node:fs';
import { createHash, randomBytes } from 'node:crypto';
import { join } from 'node:path';
import { hostname } from 'node:os';
import { startServe, cli, describeCli, tempDir, waitFor } from './lib/obstui.mjs';
import { startAzurite } from './lib/azurite.mjs';
import { startRecordingProxy } from './lib/proxy.mjs';
import { assertSameSpans, captured, traceId, simpleRequest, mustSend, fetchV2 } from './lib/traces.mjs';
import { onlyTrace, spanMap, mergeMaps } from './lib/otlp.mjs';
import {
	makeStore, shopTraffic, cliOk, parseSyncLine, assertNoSecrets, sasSignature, stats, waitSealed,
	localBlockIds, localBlockFile, knownIds, storeTraceIds, cliTrace, remoteBlocks, ulidHour,
	decodeBlock, traceIdsOf, zstdCompress, spawnCli, runCli, startBlobProxy,
} from './lib/sync.mjs';

const T = { timeout: 30000 };
const C = 'sync';
let az;
let shop; // store A: sealed blocks of SDK traffic, and what was sent
let KEY_ENV;

before(async () => {
	[az, shop] = await Promise.all([
		startAzurite(),
		// two rounds of SDK traffic sealed by --seal-idle (the first with a
		// trace of ~200 KB of incompressible attributes), three one-trace runs
		makeStore({ rounds: 2, quick: 3, bulkBytes: 200000 }),
	]);
	KEY_ENV = { AZURE_STORAGE_KEY: az.key };
	await az.blobServiceClient().createContainer(C);
	assert.ok(shop.blocks.length >= 5, `test bug: want at least 5 blocks, got ${shop.blocks.length}`);
}, { timeout: 40000 });
after(() => az?.stop());

const lower = (ids) => new Set(ids.map((x) => x.toLowerCase()));

// Every trace of `ids` in `store` equals what the SDK sent.
function assertTracesAsSent(store, ids, what) {
	for (const id of ids) {
		const got = cliTrace(store, id);
		assert.ok(got, `${what}: obstui trace ${id} --store ${store} found nothing`);
		assertSameSpans(onlyTrace(shop.sent, id), got, `${what}: trace ${id}`);
	}
}

function push(url, store, env = KEY_ENV, code = 0) {
	const r = cliOk(['push', url, '--store', store], { env, code });
	return { ...r, line: code === 0 ? parseSyncLine(r.stdout, `obstui push ${url}`) : null };
}
function pull(url, store, env = KEY_ENV, code = 0) {
	const r = cliOk(['pull', url, '--store', store], { env, code });
	return { ...r, line: parseSyncLine(r.stdout, `obstui pull ${url}`) };
}

test('round trip: push, pull into a fresh store, every trace as sent; again moves nothing', T, async () => {
	const url = az.containerUrl(C, 'rt');
	const n = shop.blocks.length;

	const p1 = push(url, shop.store);
	assert.deepEqual(p1.line, { ...p1.line, verb: 'pushed', n, already: 0, failed: 0, remote: url }, p1.stdout);
	assert.equal(p1.stderr, '', 'a push without failures says nothing on stderr');

	const remote = await remoteBlocks(az, C, 'rt');
	assert.deepEqual(remote.map((b) => b.id), shop.blocks, 'the remote holds exactly the local blocks');
	for (const b of remote) {
		assert.ok(b.hasBlock && b.hasMeta, `block ${b.id}: block and meta both there`);
		assert.equal(b.hour, ulidHour(b.id), `block ${b.id} is filed under the UTC hour of its id`);
	}

	const B = tempDir('obstui-sync-b-');
	const q1 = pull(url, B);
	assert.deepEqual(q1.line, { ...q1.line, verb: 'pulled', n, already: 0, failed: 0, remote: url }, q1.stdout);
	assert.equal(q1.stderr, '');

	assert.deepEqual(storeTraceIds(B), lower(shop.traceIds), 'store B holds exactly the traces sent to A');
	assertTracesAsSent(B, shop.traceIds, 'pulled into B');
	for (const id of shop.traceIds)
		assertSameSpans(cliTrace(shop.store, id), cliTrace(B, id), `trace ${id}: A and B`);
	const sa = stats(shop.store);
	const sb = stats(B);
	for (const k of ['traces', 'spans', 'blocks', 'blockBytes', 'blockSpans', 'oldestUnixNano', 'newestUnixNano'])
		assert.equal(sb[k], sa[k], `stats ${k}: A ${sa[k]}, B ${sb[k]}`);
	assert.deepEqual(localBlockIds(B), shop.blocks, 'B keeps the blocks under their ids');
	for (const id of shop.blocks)
		assert.ok(localBlockFile(B, id).equals(localBlockFile(shop.store, id)), `block ${id}: B's file equals A's`);

	const p2 = push(url, shop.store);
	assert.deepEqual([p2.line.n, p2.line.already, p2.line.failed], [0, n, 0], `push again: ${p2.stdout}`);
	assert.match(p2.stdout, /^pushed 0 blocks /);
	const q2 = pull(url, B);
	assert.deepEqual([q2.line.n, q2.line.already, q2.line.failed], [0, n, 0], `pull again: ${q2.stdout}`);
	assert.match(q2.stdout, /^pulled 0 blocks /);
	// B learnt what the remote holds by pulling: pushing B sends nothing either
	const p3 = push(url, B);
	assert.deepEqual([p3.line.n, p3.line.already, p3.line.failed], [0, n, 0], `push from B: ${p3.stdout}`);
	assert.equal((await az.listNames(C, 'rt/')).length, 2 * n, 'nothing was written twice');
});

test('multi-block uploads (OBSTUI_BLOB_BLOCK_SIZE=65536): the blob equals the local block file', T, async () => {
	const url = az.containerUrl(C, 'rt-blocks');
	const env = { ...KEY_ENV, OBSTUI_BLOB_BLOCK_SIZE: '65536' };
	const p = push(url, shop.store, env);
	assert.equal(p.line.n, shop.blocks.length, p.stdout);
	const cc = az.blobServiceClient().getContainerClient(C);
	let big = 0;
	for (const b of await remoteBlocks(az, C, 'rt-blocks')) {
		const local = localBlockFile(shop.store, b.id);
		const blob = cc.getBlockBlobClient(b.name);
		assert.ok((await blob.downloadToBuffer()).equals(local), `blob ${b.name} equals blocks/${b.id}.blk`);
		const props = await blob.getProperties();
		assert.equal(props.contentLength, local.length);
		assert.ok(props.contentMD5, `blob ${b.name} has a Content-MD5`);
		assert.deepEqual(Buffer.from(props.contentMD5), createHash('md5').update(local).digest(), `blob ${b.name}: Content-MD5`);
		assert.equal(props.contentType, 'application/zstd', `blob ${b.name}: Content-Type`);
		const list = await blob.getBlockList('committed');
		const want = local.length > 65536 ? Math.ceil(local.length / 65536) : 0;
		assert.equal(list.committedBlocks?.length ?? 0, want,
			`blob ${b.name} (${local.length} bytes): ${want ? `${want} blocks of 64 KiB (Put Block + Put Block List)` : 'one Put Blob'}`);
		if (want) {
			big++;
			assert.ok(list.committedBlocks.every((x, i) => x.size === Math.min(65536, local.length - i * 65536)), 'block sizes');
		}
	}
	assert.ok(big >= 1, 'test bug: no block was larger than 64 KiB');
	const C2 = tempDir('obstui-sync-c-');
	const q = pull(url, C2, env);
	assert.equal(q.line.n, shop.blocks.length, q.stdout);
	assertTracesAsSent(C2, shop.traceIds, 'pulled from the multi-block prefix');
});

test('corrupt blocks on the remote are named and skipped; the others arrive', T, async (t) => {
	const url = az.containerUrl(C, 'corrupt');
	push(url, shop.store);
	const remote = await remoteBlocks(az, C, 'corrupt');
	const cc = az.blobServiceClient().getContainerClient(C);
	// X: bytes flipped in the middle (fails its SHA-256); Y: a valid zstd frame
	// that is not TracesData, with a meta whose sha256 and size match it (fails
	// to decode).  Both one-trace blocks from the quick runs.
	const small = remote.filter((b) => localBlockFile(shop.store, b.id).length < 16384);
	assert.ok(small.length >= 2, 'test bug: want two small blocks');
	const [X, Y] = small.slice(-2);
	const xb = Buffer.from(localBlockFile(shop.store, X.id));
	for (let i = 0; i < 16; i++) xb[(xb.length >> 1) + i] ^= 0x5a;
	await cc.getBlockBlobClient(X.name).uploadData(xb);
	const yb = zstdCompress(Buffer.from([0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f, 0x01, 0x02]));
	await cc.getBlockBlobClient(Y.name).uploadData(yb);
	const ymeta = JSON.parse((await az.download(C, Y.metaName)).toString('utf8'));
	ymeta.sha256 = createHash('sha256').update(yb).digest('hex');
	ymeta.bytes = yb.length;
	await cc.getBlockBlobClient(Y.metaName).uploadData(Buffer.from(JSON.stringify(ymeta)));

	const inBlock = (id) => traceIdsOf(decodeBlock(localBlockFile(shop.store, id)));
	const lost = new Set([...inBlock(X.id), ...inBlock(Y.id)]);
	for (const b of shop.blocks) if (b !== X.id && b !== Y.id) for (const t of inBlock(b)) lost.delete(t);
	assert.ok(lost.size >= 2, 'test bug: the corrupted blocks hold no trace of their own');

	const B = tempDir('obstui-sync-b-');
	const messages = [];
	for (const round of [1, 2]) {
		const r = pull(url, B, KEY_ENV, 1);
		assert.deepEqual([r.line.n, r.line.failed], round === 1 ? [shop.blocks.length - 2, 2] : [0, 2],
			`pull #${round}: ${r.stdout}`);
		const lines = r.stderr.split('\n').filter(Boolean);
		assert.equal(lines.length, 2, `pull #${round}: one stderr line per failed block: ${r.stderr}`);
		const xl = lines.find((l) => l.includes(X.id));
		const yl = lines.find((l) => l.includes(Y.id));
		assert.ok(xl && yl, `pull #${round}: stderr names both blocks (${X.id}, ${Y.id}): ${r.stderr}`);
		assert.match(xl, new RegExp(`^obstui: pull: block ${X.id}: .*sha-?256`, 'i'), 'the flipped block fails its SHA-256');
		assert.match(yl, new RegExp(`^obstui: pull: block ${Y.id}: \\S`), 'the undecodable block');
		messages.push([xl, X.id], [yl, Y.id]);
	}
	const have = storeTraceIds(B);
	for (const t of lost) {
		assert.ok(!have.has(t), `trace ${t} of a corrupt block is in store B`);
		assert.equal(cliTrace(B, t), null, `obstui trace ${t} in B`);
	}
	const kept = shop.traceIds.filter((t) => !lost.has(t));
	assert.deepEqual(have, lower(kept), 'store B holds the traces of the good blocks');
	assertTracesAsSent(B, kept, 'pulled past corrupt blocks');
	assert.equal(stats(B).blocks, shop.blocks.length - 2);
	assert.deepEqual(localBlockIds(B).filter((id) => id === X.id || id === Y.id), [], 'no file of a corrupt block is kept');
	t.diagnostic(messages.slice(0, 2).map(([l]) => l).join('\n'));
	for (const [l, id] of messages)
		assert.equal(l.split(id).length - 1, 1, `"obstui: pull: block ID: why" says the id once: ${l}`);
});

test('an interrupted push resumes: every block once on the remote, nothing uploaded twice', T, async (t) => {
	const proxy = await startBlobProxy(az.url);
	const url = `${proxy.url}/${C}/interrupt`;
	const total = shop.blocks.length;
	const before = knownIds(shop.store);
	// hold every request once a block is complete (its meta written): with
	// more blocks than transfers at once, the next block waits behind it
	assert.ok(total > 4, 'test bug: want more blocks than obstui runs transfers at once');
	proxy.hold((rec, p) => p.records.some((r) => r.method === 'PUT' && r.name.endsWith('.json') && r.status === 201));
	const h = spawnCli(['push', url, '--store', shop.store], { env: KEY_ENV });
	const file = await waitFor('a block recorded as pushed, and a request held', () => {
		const now = knownIds(shop.store);
		const f = Object.keys(now).find((k) => !(k in before));
		return f && now[f].length >= 1 && proxy.holding() >= 1 ? f : null;
	}, { timeout: 15000, interval: 50 });
	h.kill('SIGKILL');
	const r1 = await h.done;
	assert.equal(r1.signal, 'SIGKILL', `the first push ended by itself: ${JSON.stringify(r1)}`);
	const known1 = knownIds(shop.store)[file];
	assert.ok(known1.length >= 1 && known1.length < total, `${known1.length} of ${total} blocks recorded before the kill`);
	// what was on its way arrives after the client died (a block without its meta, perhaps)
	const mark = proxy.records.length;
	proxy.release();
	await waitFor('held requests answered', () => proxy.records.every((r) => typeof r.status === 'number'), { timeout: 10000 });

	const mark2 = proxy.records.length;
	// (not cli(): spawnSync would stop this process's proxy from answering)
	const r2 = await runCli(['push', url, '--store', shop.store], { env: KEY_ENV, timeout: 15000 });
	const show = () => `\nstdout: ${r2.stdout}\nstderr: ${r2.stderr.slice(-3000)}\nrequests: ${proxy.records.slice(mark2).map((r) => `${r.method} ${r.name}?${new URLSearchParams(r.query)} -> ${r.status}`).join('\n  ')}`;
	assert.equal(r2.code, 0, `the second push: exit ${r2.code}/${r2.signal}${show()}`);
	const p2 = { line: parseSyncLine(r2.stdout, 'the second push'), stdout: r2.stdout, stderr: r2.stderr };
	assert.equal(p2.line.failed, 0, p2.stdout + p2.stderr);
	assert.equal(p2.line.n + p2.line.already, total, `the second push accounts for every block: ${p2.stdout}`);
	assert.ok(p2.line.n < total, `the second push uploaded ${p2.line.n} of ${total} blocks: ${p2.stdout}`);
	assert.ok(p2.line.already >= known1.length, `the ${known1.length} blocks recorded are "already there": ${p2.stdout}`);
	const second = proxy.records.slice(mark2);
	for (const id of known1)
		assert.deepEqual(second.filter((r) => r.name.includes(id)).map((r) => `${r.method} ${r.name}`), [],
			`block ${id}, pushed before the kill, is not touched by the second push`);
	assert.ok(mark <= mark2);

	const remote = await remoteBlocks(az, C, 'interrupt');
	assert.deepEqual(remote.map((b) => b.id), shop.blocks, 'every block on the remote');
	for (const b of remote) {
		assert.ok(b.hasBlock && b.hasMeta, `block ${b.id}: block and meta`);
		assert.ok((await az.download(C, b.name)).equals(localBlockFile(shop.store, b.id)), `block ${b.id} content`);
	}
	assert.equal((await az.listNames(C, 'interrupt/')).length, 2 * total, 'no stray blobs');
	t.diagnostic(`${known1.length} of ${total} blocks recorded before the kill; then: ${p2.stdout.trim()}`);
	const r3 = await runCli(['push', url, '--store', shop.store], { env: KEY_ENV, timeout: 15000 });
	assert.equal(r3.code, 0, `the third push: ${JSON.stringify(r3)}`);
	const p3 = parseSyncLine(r3.stdout, 'the third push');
	assert.deepEqual([p3.n, p3.already], [0, total], r3.stdout);
	await proxy.close();
});

test('wrong credentials: exit 1, one clear line, no secret in it', T, async () => {
	const badKey = randomBytes(64).toString('base64');
	const url = az.containerUrl(C, 'badcreds');
	const secrets = [badKey, az.key];
	const oneLine = (r, what) => {
		const lines = r.stderr.split('\n').filter(Boolean);
		assert.equal(lines.length, 1, `${what}: want one line on stderr, got ${JSON.stringify(r.stderr)}`);
		assert.match(lines[0], /^obstui: /, what);
		assert.match(lines[0], /403|authori[sz]|authenticat|credential|key|signature/i, `${what}: says what is wrong`);
	};

	for (const verb of ['push', 'pull']) {
		const store = verb === 'push' ? shop.store : tempDir('obstui-sync-b-');
		const args = [verb, url, '--store', store];
		const r = cli(args, { env: { AZURE_STORAGE_KEY: badKey } });
		assert.equal(r.code, 1, describeCli(args, r));
		oneLine(r, `${verb} with a wrong key`);
		assert.match(r.stderr, /key/i, 'names the kind of credential used');
		assertNoSecrets(r.stdout + r.stderr, secrets, `${verb} with a wrong key`);
	}
	assert.deepEqual(await az.listNames(C, 'badcreds/'), [], 'nothing written with a wrong key');

	const sas = az.sasFor(C, 'racwdl', 600);
	const tampered = sas.replace(/sig=([^&])/, (m, c) => `sig=${c === 'A' ? 'B' : 'A'}`);
	const secrets2 = [sasSignature(sas), sasSignature(tampered), az.key];
	for (const [verb, how] of [['push', 'url'], ['pull', 'url'], ['push', 'env'], ['pull', 'env']]) {
		const store = verb === 'push' ? shop.store : tempDir('obstui-sync-b-');
		const args = [verb, how === 'url' ? `${url}?${tampered}` : url, '--store', store];
		const env = how === 'env' ? { AZURE_STORAGE_SAS_TOKEN: tampered } : {};
		const r = cli(args, { env });
		assert.equal(r.code, 1, describeCli(args, r));
		oneLine(r, `${verb} with a tampered SAS (${how})`);
		assert.match(r.stderr, /SAS/, 'names the kind of credential used');
		assertNoSecrets(r.stdout + r.stderr, secrets2, `${verb} with a tampered SAS (${how})`);
	}
	assert.deepEqual(await az.listNames(C, 'badcreds/'), [], 'nothing written with a tampered SAS');

	// doctor: which credential, and a line for each of list, read and write
	const args = ['doctor', url, '--store', shop.store];
	const d = cli(args, { env: { AZURE_STORAGE_KEY: badKey } });
	assert.equal(d.code, 1, describeCli(args, d));
	assertNoSecrets(d.stdout + d.stderr, secrets, 'doctor with a wrong key');
	assert.match(d.stdout, /^remote\s+\S*\/badcreds\s*$/m, d.stdout);
	assert.match(d.stdout, /^credentials\s+shared key/m, d.stdout);
	assert.match(d.stdout, /^list\s+FAILED: .*403/m, d.stdout);
	assert.match(d.stdout, /^write\s+FAILED/m, d.stdout);
	assert.match(d.stdout, /key .*does not match|does not match/i, 'says what to do');
	assert.match(d.stdout, /^read\s+\S/m, `doctor says something about read too:\n${d.stdout}`);
});

test('remote add/list/remove: a name works wherever a URL does; a SAS in the URL is refused', T, async () => {
	const dir = tempDir('obstui-sync-cfg-');
	const cfg = join(dir, 'config');
	const original = '# my settings\n[ui]\ntheme = light\n\n; keep me\n';
	writeFileSync(cfg, original);
	const url = az.containerUrl(C, 'named');
	const env = { ...KEY_ENV, OBSTUI_CONFIG: cfg };

	cliOk(['remote', 'add', 'dev', url, '--config', cfg]);
	cliOk(['remote', 'add', 'other', az.containerUrl(C, 'other'), '--auth', 'sas'], { env: { OBSTUI_CONFIG: cfg } });
	assert.deepEqual(cliOk(['remote', 'list', '--config', cfg]).stdout.split('\n').filter(Boolean), ['dev', 'other']);
	const v = cliOk(['remote', 'list', '-v'], { env: { OBSTUI_CONFIG: cfg } }).stdout;
	assert.match(v, new RegExp(`^dev\\s+${url.replace(/[.?]/g, '\\$&')}\\s*$`, 'm'), v);
	assert.match(v, /^other\s+\S+\/other\s+auth=sas\s*$/m, v);
	const text = readFileSync(cfg, 'utf8');
	assert.ok(text.startsWith('# my settings\n[ui]\ntheme = light\n'), `remote add keeps the other lines:\n${text}`);
	assert.match(text, /; keep me/);

	// the name with push, pull, doctor (from the env and from --config)
	const p = push('dev', shop.store, env);
	assert.equal(p.line.n, shop.blocks.length, p.stdout);
	assert.deepEqual((await remoteBlocks(az, C, 'named')).map((b) => b.id), shop.blocks);
	const B = tempDir('obstui-sync-b-');
	const q = cliOk(['pull', 'dev', '--store', B, '--config', cfg], { env: KEY_ENV });
	assert.equal(parseSyncLine(q.stdout).n, shop.blocks.length, q.stdout);
	assert.deepEqual(storeTraceIds(B), lower(shop.traceIds));
	const d = cliOk(['doctor', 'dev', '--store', B], { env });
	assert.match(d.stdout, new RegExp(`^remote\\s+.*${url.replace(/[.?]/g, '\\$&')}`, 'm'), d.stdout);
	assert.match(d.stdout, /^list\s+ok/m, d.stdout);

	// a SAS in the URL is not written to the config
	const sas = az.sasFor(C, 'racwdl', 600);
	const before = readFileSync(cfg, 'utf8');
	const args = ['remote', 'add', 'leaky', `${url}?${sas}`, '--config', cfg];
	const r = cli(args);
	assert.ok(r.code === 1 || r.code === 2, describeCli(args, r));
	assert.match(r.stderr, /SAS/, describeCli(args, r));
	assert.match(r.stderr, /AZURE_STORAGE_SAS_TOKEN/, 'says what to do instead');
	assertNoSecrets(r.stdout + r.stderr, [sasSignature(sas)], 'remote add with a SAS');
	assert.equal(readFileSync(cfg, 'utf8'), before, 'the config is unchanged');

	cliOk(['remote', 'remove', 'dev', '--config', cfg]);
	assert.deepEqual(cliOk(['remote', 'list', '--config', cfg]).stdout.split('\n').filter(Boolean), ['other']);
	assert.ok(readFileSync(cfg, 'utf8').startsWith('# my settings\n[ui]\ntheme = light\n'), 'remote remove keeps the other lines');
	const gone = cli(['push', 'dev', '--store', shop.store], { env });
	assert.notEqual(gone.code, 0, describeCli(['push', 'dev'], gone));
	assert.match(gone.stderr, /dev/, 'the error names the remote');
	const rm = cli(['remote', 'remove', 'dev', '--config', cfg]);
	assert.notEqual(rm.code, 0, 'removing a remote that is not there fails');
	assert.match(rm.stderr, /dev/);
});

test('serve --push: blocks reach the remote right after sealing; SIGTERM pushes what is left', T, async () => {
	const dir = tempDir('obstui-sync-cfg-');
	const cfg = join(dir, 'config');
	cliOk(['remote', 'add', 'live', az.containerUrl(C, 'live'), '--config', cfg]);
	const store = tempDir('obstui-sync-live-');
	// the default --push-interval (30 s) is far longer than the test: blocks go
	// up because they were sealed, not because the interval came round
	const srv = await startServe({ store, args: ['--seal-idle', '2s', '--origin', 'live-node', '--push', 'live'],
		env: { ...KEY_ENV, OBSTUI_CONFIG: cfg } });
	const proxy = await startRecordingProxy(srv.otlp);
	try {
		const first = await shopTraffic(proxy.url, { tag: 'live', traces: 2 });
		await waitSealed(store);
		const sealedAt = Date.now();
		const ids1 = localBlockIds(store);
		await waitFor('the sealed blocks on the remote', async () => {
			const r = await remoteBlocks(az, C, 'live');
			return r.filter((b) => b.hasMeta && b.hasBlock).length === ids1.length;
		}, { timeout: 5000, interval: 100 });
		const lag = Date.now() - sealedAt;
		assert.ok(lag < 5000, `pushed ${lag} ms after sealing`);

		// spans still in the head when SIGTERM comes
		const second = await shopTraffic(proxy.url, { tag: 'late', traces: 1 });
		assert.ok(stats(store).headSpans > 0, 'test bug: the late trace is already sealed');
		const st = await srv.stop('SIGTERM');
		assert.equal(st.code, 0, `serve exited ${st.code}/${st.signal}: ${srv.stderr().slice(-1500)}`);
		const sent = captured(proxy.records, { expectEncoding: 'proto' });

		const local = localBlockIds(store);
		const remote = await remoteBlocks(az, C, 'live');
		assert.deepEqual(remote.filter((b) => b.hasBlock && b.hasMeta).map((b) => b.id), local,
			'after SIGTERM every block, the last one included, is on the remote');
		const B = tempDir('obstui-sync-b-');
		pull(az.containerUrl(C, 'live'), B);
		for (const id of [...first.traceIds, ...second.traceIds]) {
			const got = cliTrace(B, id);
			assert.ok(got, `trace ${id} pulled from what serve --push uploaded`);
			assertSameSpans(onlyTrace(sent, id), got, `trace ${id} via serve --push`);
		}
		const meta = JSON.parse((await az.download(C, remote.at(-1).metaName)).toString('utf8'));
		assert.equal(meta.origin, 'live-node');
	} finally {
		await proxy.close();
		await srv.stop();
	}
});

test('a capture: push --since 1h --query uploads one block of only the selected traces', T, async () => {
	const url = az.containerUrl(C, 'capture');
	const before = stats(shop.store);
	const r = cliOk(['push', url, '--store', shop.store, '--since', '1h', '--query', '{ status = error }'], { env: KEY_ENV });
	const line = parseSyncLine(r.stdout);
	assert.deepEqual([line.n, line.already, line.failed], [1, 0, 0], r.stdout);
	const remote = await remoteBlocks(az, C, 'capture');
	assert.equal(remote.length, 1, 'one block');
	assert.ok(!shop.blocks.includes(remote[0].id), 'a block of its own');
	const meta = JSON.parse((await az.download(C, remote[0].metaName)).toString('utf8'));
	assert.equal(meta.origin, `${hostname()} (capture)`, 'a capture\'s origin is "HOST (capture)"');
	assert.equal(meta.traces, new Set(shop.errorTraceIds).size);
	assert.deepEqual(traceIdsOf(decodeBlock(await az.download(C, remote[0].name))), lower(shop.errorTraceIds),
		'the block holds the failing traces and nothing else');

	const B = tempDir('obstui-sync-b-');
	const q = pull(url, B);
	assert.equal(q.line.n, 1);
	assert.deepEqual(storeTraceIds(B), lower(shop.errorTraceIds), 'only the failing traces arrive');
	assertTracesAsSent(B, shop.errorTraceIds, 'captured traces (whole, not only their failing spans)');

	const after = stats(shop.store);
	assert.deepEqual(after, before, 'a capture does not change the store');
	assert.deepEqual(localBlockIds(shop.store), shop.blocks);

	const none = cliOk(['push', url, '--store', shop.store, '--query', '{ name = "no such span" }'], { env: KEY_ENV });
	assert.equal(parseSyncLine(none.stdout).n, 0, `a capture of nothing uploads nothing: ${none.stdout}`);
	assert.equal((await remoteBlocks(az, C, 'capture')).length, 1);
});

test('a trace captured in two places is one trace after pull, also into a store a serve is running on', T, async () => {
	const tid = traceId();
	const parts = [];
	const stores = {};
	for (const [origin, service, name] of [['laptop', 'cli-client', 'client call'], ['cluster', 'api', 'server handle']]) {
		const store = tempDir(`obstui-sync-${origin}-`);
		const srv = await startServe({ store, args: ['--origin', origin] });
		const r = simpleRequest({ service, tid, names: [name, `${name} child`] });
		await mustSend(srv, r.req);
		assert.equal((await srv.stop()).code, 0); // sealed on the way out
		parts.push(spanMap(r.req));
		stores[origin] = store;
		const p = push(az.containerUrl(C, 'stitch'), store);
		assert.equal(p.line.n, 1, p.stdout);
	}
	const whole = mergeMaps(...parts);
	const metas = await Promise.all((await remoteBlocks(az, C, 'stitch'))
		.map(async (b) => JSON.parse((await az.download(C, b.metaName)).toString('utf8')).origin));
	assert.deepEqual(metas.sort(), ['cluster', 'laptop'], 'each block carries its origin');

	const B = tempDir('obstui-sync-b-');
	const q = pull(az.containerUrl(C, 'stitch'), B);
	assert.equal(q.line.n, 2, q.stdout);
	assertSameSpans(whole, cliTrace(B, tid), 'the trace from two origins, in a fresh store');

	// the laptop pulls the cluster's half while its own serve runs on the store
	const srv = await startServe({ store: stores.laptop });
	const r = pull(az.containerUrl(C, 'stitch'), stores.laptop);
	assert.deepEqual([r.line.n, r.line.already], [1, 1], r.stdout);
	assertSameSpans(whole, await fetchV2(srv, tid), 'the running serve answers with both halves');
	await srv.stop();
	assertSameSpans(whole, cliTrace(stores.laptop, tid), 'obstui trace on the laptop store');
});

test('file:// remote: the same layout in a folder, push and pull', T, async () => {
	const dir = tempDir('obstui-sync-folder-');
	const url = `file://${dir}/team`;
	const p = push(url, shop.store, {});
	assert.deepEqual([p.line.n, p.line.already, p.line.failed], [shop.blocks.length, 0, 0], p.stdout);
	for (const id of shop.blocks) {
		const rel = `team/obstui/v1/blocks/${ulidHour(id)}/${id}`;
		assert.ok(readFileSync(join(dir, rel)).equals(localBlockFile(shop.store, id)), `${rel} is the block`);
		const meta = JSON.parse(readFileSync(join(dir, `${rel}.json`), 'utf8'));
		assert.equal(meta.id, id);
		assert.equal(meta.sha256, createHash('sha256').update(localBlockFile(shop.store, id)).digest('hex'));
	}
	const B = tempDir('obstui-sync-b-');
	const q = pull(url, B, {});
	assert.equal(q.line.n, shop.blocks.length, q.stdout);
	assertTracesAsSent(B, shop.traceIds, 'pulled from a folder');
	const again = push(url, shop.store, {});
	assert.deepEqual([again.line.n, again.line.already], [0, shop.blocks.length], again.stdout);
	const d = cliOk(['doctor', url, '--store', B]);
	assert.match(d.stdout, /^credentials\s+none/m, d.stdout);
});

test('serve --push: SIGTERM with the remote not answering gives up after --push-timeout, the block stays local', T, async (t) => {
	const proxy = await startBlobProxy(az.url);
	const url = `${proxy.url}/${C}/timeout`;
	proxy.hold(() => true); // the remote accepts connections and never answers
	const store = tempDir('obstui-sync-live-');
	const srv = await startServe({ store, args: ['--seal-idle', '30s', '--push', url, '--push-timeout', '2s'], env: KEY_ENV });
	const r = simpleRequest({ service: 'unlucky' });
	await mustSend(srv, r.req);
	const t0 = Date.now();
	const st = await srv.stop('SIGTERM', 8000); // SIGKILL after 8 s
	const took = Date.now() - t0;
	t.diagnostic(`exit ${st.code}/${st.signal} after ${took} ms; stderr: ${srv.stderr().trim().split('\n').slice(-2).join(' | ')}`);
	assertNoSecrets(srv.stdout() + srv.stderr(), [az.key], 'serve --push');
	const s = stats(store);
	assert.deepEqual([s.headSpans, s.blocks], [0, 1], 'the head was sealed into a block before giving up');

	// later, with the remote back, a push takes it up
	proxy.release();
	const p = await runCli(['push', url, '--store', store], { env: KEY_ENV });
	assert.equal(p.code, 0, JSON.stringify(p));
	assert.deepEqual((await remoteBlocks(az, C, 'timeout')).filter((b) => b.hasMeta).map((b) => b.id), localBlockIds(store));
	await proxy.close();

	assert.equal(st.signal, null, `serve did not exit by itself within 8 s of SIGTERM (--push-timeout 2s): ${srv.stderr().slice(-1500)}`);
	assert.ok(took < 6000, `serve took ${took} ms to exit with --push-timeout 2s`);
});
