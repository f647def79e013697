// Interoperability of obstui's remote layout with the official Azure SDK
// (@azure/storage-blob): what obstui pushes, the SDK lists and downloads,
// and the blocks decode (zstd CLI, then protobufjs with an OTLP schema
// independent of obstui's copy) into exactly the spans the OpenTelemetry
// SDK sent; the metas say what the blocks hold.  What the SDK uploads in
// obstui's layout, obstui pulls.

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { createHash, randomBytes } from 'node:crypto';
import { cli, describeCli, tempDir } from './lib/obstui.mjs';
import { startAzurite } from './lib/azurite.mjs';
import { assertSameSpans } from './lib/traces.mjs';
import { onlyTrace, mergeMaps } from './lib/otlp.mjs';
import {
	makeStore, cliOk, parseSyncLine, localBlockFile, storeTraceIds, cliTrace, remoteBlocks, ulidHour,
	decodeBlock, decodeBlockWithRepoProtos, traceIdsOf,
} from './lib/sync.mjs';

const T = { timeout: 30000 };
const C = 'interop';
let az;
let shop;
let ENV;

before(async () => {
	[az, shop] = await Promise.all([
		startAzurite(),
		makeStore({ rounds: 1, quick: 2, origin: 'sdk-origin', bulkBytes: 100000, tag: 'interop' }),
	]);
	ENV = { AZURE_STORAGE_KEY: az.key };
	await az.blobServiceClient().createContainer(C);
	const r = cliOk(['push', az.containerUrl(C, 'team/a'), '--store', shop.store], { env: ENV });
	assert.equal(parseSyncLine(r.stdout).n, shop.blocks.length, r.stdout);
}, { timeout: 40000 });
after(() => az?.stop());

const lower = (ids) => new Set(ids.map((x) => x.toLowerCase()));

// "2026-11-21T12:19:25.105018914Z" from nanoseconds since the epoch
function rfc3339(ns) {
	const n = BigInt(ns);
	const s = new Date(Number(n / 1000000000n) * 1000).toISOString().slice(0, 19);
	return `${s}.${String(n % 1000000000n).padStart(9, '0')}Z`;
}

test('the SDK lists and downloads what obstui wrote; blocks decode to the spans sent; metas describe them', T, async () => {
	const cc = az.blobServiceClient().getContainerClient(C);
	// paged listing, as any client would walk it
	const items = [];
	for await (const page of cc.listBlobsFlat({ prefix: 'team/a/' }).byPage({ maxPageSize: 3 }))
		items.push(...page.segment.blobItems);
	assert.equal(items.length, 2 * shop.blocks.length, `listed: ${items.map((b) => b.name).join(' ')}`);
	const blocks = await remoteBlocks(az, C, 'team/a');
	assert.deepEqual(blocks.map((b) => b.id), shop.blocks);

	const maps = [];
	for (const b of blocks) {
		assert.equal(b.hour, ulidHour(b.id), `${b.name}: the hour directory is the block's UTC hour`);
		const item = items.find((x) => x.name === b.name);
		const metaItem = items.find((x) => x.name === b.metaName);
		assert.equal(item.properties.contentType, 'application/zstd', `${b.name}: Content-Type`);
		assert.equal(metaItem.properties.contentType, 'application/json', `${b.metaName}: Content-Type`);

		const bytes = await cc.getBlobClient(b.name).downloadToBuffer();
		assert.ok(bytes.equals(localBlockFile(shop.store, b.id)), `${b.name} is the store's block byte for byte`);
		assert.equal(item.properties.contentLength, bytes.length);
		assert.deepEqual(Buffer.from(item.properties.contentMD5), createHash('md5').update(bytes).digest(), `${b.name}: Content-MD5`);
		const spans = decodeBlock(bytes); // zstd -d | TracesData
		assert.ok(spans.size > 0, `${b.name} holds spans`);
		assertSameSpans(spans, decodeBlockWithRepoProtos(bytes), `${b.name} read with obstui's own proto/ files`);
		maps.push(spans);

		const metaText = (await cc.getBlobClient(b.metaName).downloadToBuffer()).toString('utf8');
		const meta = JSON.parse(metaText);
		assert.deepEqual(Buffer.from(metaItem.properties.contentMD5), createHash('md5').update(metaText).digest(), `${b.metaName}: Content-MD5`);
		assert.equal(meta.format, 'obstui-block');
		assert.equal(meta.version, 1);
		assert.equal(meta.id, b.id);
		assert.equal(meta.origin, 'sdk-origin');
		assert.equal(meta.sha256, createHash('sha256').update(bytes).digest('hex'), `${b.metaName}: sha256 of the block`);
		assert.equal(meta.bytes, bytes.length);
		assert.equal(meta.traces, traceIdsOf(spans).size, `${b.metaName}: traces`);
		assert.equal(meta.spans, spans.size, `${b.metaName}: spans`);
		assert.match(meta.start_unix_nano, /^\d+$/);
		assert.match(meta.end_unix_nano, /^\d+$/);
		const starts = [...spans.values()].map((s) => BigInt(s.span.startTimeUnixNano));
		const ends = [...spans.values()].map((s) => BigInt(s.span.endTimeUnixNano));
		const min = starts.reduce((a, x) => (x < a ? x : a));
		const max = ends.reduce((a, x) => (x > a ? x : a));
		assert.equal(BigInt(meta.start_unix_nano), min, `${b.metaName}: start_unix_nano is the earliest span start`);
		assert.equal(BigInt(meta.end_unix_nano), max, `${b.metaName}: end_unix_nano is the latest span end`);
		assert.equal(meta.start, rfc3339(meta.start_unix_nano), `${b.metaName}: start`);
		assert.equal(meta.end, rfc3339(meta.end_unix_nano), `${b.metaName}: end`);
	}
	// every span the OpenTelemetry SDK sent, and nothing else, exactly once
	let all;
	assert.doesNotThrow(() => { all = mergeMaps(...maps); });
	assert.equal([...maps].reduce((n, m) => n + m.size, 0), all.size, 'no span is in two blocks');
	assertSameSpans(shop.sent, all, 'the blocks on the remote, decoded with the SDK and protobufjs');
});

test('obstui pulls what the SDK uploaded in its layout, and recognises it when pushing', T, async () => {
	const cc = az.blobServiceClient().getContainerClient(C);
	const blocks = await remoteBlocks(az, C, 'team/a');
	// copy with the SDK: the big block staged in 8 KiB blocks (Put Block List,
	// no Content-MD5 unless asked), the others with one Put Blob
	for (const b of blocks) {
		for (const name of [b.name, b.metaName]) {
			const data = await cc.getBlobClient(name).downloadToBuffer();
			const to = name.replace(/^team\/a\//, 'team/copy/');
			await cc.getBlockBlobClient(to).uploadData(data, data.length > 20000
				? { blockSize: 8192, maxSingleShotSize: 8192 } : {});
		}
	}
	// a block with no meta yet: not there as far as pull is concerned
	const id0 = blocks[0].id;
	const orphanId = id0.slice(0, 25) + (id0.endsWith('Z') ? 'Y' : 'Z');
	const orphan = blocks[0].name.replace(/^team\/a\//, 'team/copy/').replace(id0, orphanId);
	assert.ok(!blocks.some((b) => b.id === orphanId));
	await cc.getBlockBlobClient(orphan).uploadData(randomBytes(100));

	const B = tempDir('obstui-sync-b-');
	const url = az.containerUrl(C, 'team/copy');
	const r = cliOk(['pull', url, '--store', B], { env: ENV });
	const line = parseSyncLine(r.stdout);
	assert.deepEqual([line.n, line.already, line.failed], [blocks.length, 0, 0], `${r.stdout}${r.stderr}`);
	assert.deepEqual(storeTraceIds(B), lower(shop.traceIds));
	for (const id of shop.traceIds)
		assertSameSpans(onlyTrace(shop.sent, id), cliTrace(B, id), `trace ${id} pulled from SDK-written blobs`);
	// the orphan shows up once its meta is there (and then fails its SHA-256)
	const meta0 = JSON.parse((await cc.getBlobClient(blocks[0].metaName).downloadToBuffer()).toString('utf8'));
	await cc.getBlockBlobClient(`${orphan}.json`).uploadData(Buffer.from(JSON.stringify({ ...meta0, id: orphanId })));
	const args0 = ['pull', url, '--store', B];
	const r0 = cli(args0, { env: ENV });
	assert.equal(r0.code, 1, describeCli(args0, r0));
	assert.deepEqual([parseSyncLine(r0.stdout).n, parseSyncLine(r0.stdout).already, parseSyncLine(r0.stdout).failed],
		[0, blocks.length, 1], r0.stdout);
	assert.match(r0.stderr, new RegExp(`^obstui: pull: block ${orphanId}: `), r0.stderr);

	// pushing the same blocks there: found already there by their content
	const p = cliOk(['push', url, '--store', shop.store], { env: ENV });
	const pl = parseSyncLine(p.stdout);
	assert.deepEqual([pl.n, pl.already, pl.failed], [0, blocks.length, 0], p.stdout);

	// a blob of other content under a block's name is a failure, not "already there"
	const clash = blocks.at(-1);
	await cc.getBlockBlobClient(clash.name.replace(/^team\/a\//, 'team/clash/')).uploadData(Buffer.from('not this block'));
	const args = ['push', az.containerUrl(C, 'team/clash'), '--store', shop.store];
	const q = cli(args, { env: ENV });
	assert.equal(q.code, 1, describeCli(args, q));
	const ql = parseSyncLine(q.stdout);
	assert.deepEqual([ql.n, ql.failed], [blocks.length - 1, 1], q.stdout);
	assert.match(q.stderr, new RegExp(`^obstui: push: block ${clash.id}: .*other content`, 'm'), q.stderr);
	const kept = await cc.getBlobClient(clash.name.replace(/^team\/a\//, 'team/clash/')).downloadToBuffer();
	assert.equal(kept.toString(), 'not this block', 'create-only: the blob that was there is kept');
	const clashBlocks = await remoteBlocks(az, C, 'team/clash');
	assert.ok(!clashBlocks.find((b) => b.id === clash.id).hasMeta, 'no meta is written beside a block that is not ours');
});
