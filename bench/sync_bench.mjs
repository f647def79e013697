// sync_bench.mjs - the sync benchmark (issue 5): obstui push and pull against
// the official Azure SDK (@azure/storage-blob), to the same Azurite on
// 127.0.0.1, and the follow cycle at 10 and 10,000 blocks (bench_sync.c).
// bench/run.sh runs it; bench/README.md ("Sync") says what each figure means.
//
//   node bench/sync_bench.mjs --obstui BIN --tool bench_sync --store STORE \
//        --template TINY_STORE --work DIR --out FILE [--reps 3] [--follow-blocks 10000]
//
// Throughput.  One Azurite (in memory) for all of it.  A warm-up round, then
// --reps rounds; each round uses fresh containers and, in an order that
// alternates from round to round, times:
//
//   push obstui   `obstui push URL --store STORE`: every block + its meta
//   push sdk      the same files (block, then the meta obstui wrote) with
//                 BlockBlobClient.uploadFile / uploadData, SDK defaults,
//                 4 blobs in flight as obstui's SYNC_WORKERS
//   pull obstui   `obstui pull URL --store NEW`: list, meta, block, SHA-256,
//                 read the block's per-trace summaries (blocks sealed before
//                 they existed: decode every trace), scan the spans for the
//                 rollups, record it all (end to end)
//   fetch obstui  `bench_sync fetch`: obstui's blob client only (list, GET
//                 meta, GET block, write the file), 4 threads (raw transfer)
//   pull sdk      listBlobsFlat, then per block downloadToBuffer(meta) and
//                 downloadToFile(block), 4 in flight
//
// All pulls read the container obstui pushed in that round.  MB/s is block
// bytes (10^6) over wall time, the CLI's from spawn to exit.  CPU: obstui's
// from bash `times`, the SDK's from process.cpuUsage (this process: the SDK
// and nothing else runs in it meanwhile), Azurite's from /proc/PID/stat.
//
// Follow.  A fresh Azurite, then `bench_sync follow` (see bench_sync.c).
//
// Results are key=value lines written to --out; progress goes to stderr.
// Azurite is stopped at the end, and by azurite.mjs's exit hook on any
// failure; a watchdog ends the whole run after --timeout seconds.

import { spawnSync } from 'node:child_process';
import { mkdirSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { startAzurite } from '../tests/integration/lib/azurite.mjs';

const opt = {
	obstui: null, tool: null, store: null, template: null, work: null, out: null,
	reps: 3, followBlocks: 10000, followCycles: 20, followNew: 10, timeout: 1500, workers: 4,
};
for (let i = 2; i < process.argv.length; i += 2) {
	const k = process.argv[i].replace(/^--/, '').replace(/-([a-z])/g, (_, c) => c.toUpperCase());
	if (!(k in opt)) throw new Error(`sync_bench: unknown option ${process.argv[i]}`);
	opt[k] = typeof opt[k] === 'number' ? Number(process.argv[i + 1]) : process.argv[i + 1];
}
for (const k of ['obstui', 'tool', 'store', 'template', 'work', 'out'])
	if (!opt[k]) throw new Error(`sync_bench: --${k} is required`);

const results = [];
const put = (k, v) => { results.push(`${k}=${v}`); writeFileSync(opt.out, results.join('\n') + '\n'); };
const log = (...a) => console.error('sync_bench:', ...a);
const watchdog = setTimeout(() => {
	log(`gave up after ${opt.timeout} s`);
	process.exit(1); // azurite.mjs's exit hook kills Azurite
}, opt.timeout * 1000);
watchdog.unref();

const TICKS = Number(spawnSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).stdout) || 100;
const MB = 1e6;
const median = (v) => { const s = [...v].sort((a, b) => a - b); return s[Math.floor((s.length - 1) / 2)]; };
const f2 = (x) => (Number.isFinite(x) ? x.toFixed(2) : 'n/a');

// --- the blocks ---------------------------------------------------------------------

const blockDir = join(opt.store, 'blocks');
const blocks = readdirSync(blockDir).filter((n) => n.endsWith('.blk')).sort().map((n) => ({
	id: n.slice(0, -4), path: join(blockDir, n), size: statSync(join(blockDir, n)).size,
}));
if (blocks.length === 0) throw new Error(`sync_bench: ${opt.store} has no sealed block`);
const totalBytes = blocks.reduce((a, b) => a + b.size, 0);
const sizes = blocks.map((b) => b.size);
put('sync_blocks', blocks.length);
put('sync_bytes', totalBytes);
put('sync_block_bytes_min_median_max', `${Math.min(...sizes)} ${median(sizes)} ${Math.max(...sizes)}`);

// The layout of remote.h: PREFIX/obstui/v1/blocks/YYYY/MM/DD/HH/ID (the ULID's hour).
const PREFIX = 'bench/';
const B32 = '0123456789ABCDEFGHJKMNPQRSTVWXYZ';
function blockName(id) {
	let ms = 0;
	for (const c of id.slice(0, 10)) ms = ms * 32 + B32.indexOf(c);
	const d = new Date(ms);
	const p = (n) => String(n).padStart(2, '0');
	return `${PREFIX}obstui/v1/blocks/${d.getUTCFullYear()}/${p(d.getUTCMonth() + 1)}/${p(d.getUTCDate())}/${p(d.getUTCHours())}/${id}`;
}

// --- measuring ----------------------------------------------------------------------

function azuriteCpu(az) {
	try {
		const f = readFileSync(`/proc/${az.pid}/stat`, 'utf8').split(') ')[1].split(' ');
		return (Number(f[11]) + Number(f[12])) / TICKS;
	} catch { return NaN; }
}

// A command with its wall time and CPU (bash's `times`: the children's line).
function run(cmd, args, env = {}) {
	const t0 = performance.now();
	const r = spawnSync('bash', ['-c', '"$@"; rc=$?; times; exit $rc', 'bash', cmd, ...args], {
		encoding: 'utf8', env: { ...process.env, ...env }, timeout: 600000, maxBuffer: 1 << 26,
	});
	const wall = (performance.now() - t0) / 1000;
	if (r.error || r.status !== 0)
		throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status} ${r.error?.message ?? ''}\n${r.stderr.slice(-2000)}`);
	const lines = r.stdout.trimEnd().split('\n');
	const child = lines.pop().match(/(\d+)m([\d.]+)s (\d+)m([\d.]+)s/);
	lines.pop(); // the shell's own times
	const cpu = child ? Number(child[1]) * 60 + Number(child[2]) + Number(child[3]) * 60 + Number(child[4]) : NaN;
	return { wall, cpu, stdout: lines.join('\n'), stderr: r.stderr };
}

// Times fn (async) with this process's CPU and Azurite's.
async function timed(az, fn) {
	const a0 = azuriteCpu(az);
	const c0 = process.cpuUsage();
	const t0 = performance.now();
	const extra = await fn();
	const wall = (performance.now() - t0) / 1000;
	const c = process.cpuUsage(c0);
	return { wall, cpu: (c.user + c.system) / 1e6, azCpu: azuriteCpu(az) - a0, ...extra };
}

async function pool(n, items, fn) {
	let next = 0;
	const worker = async () => { while (next < items.length) { const i = next++; await fn(items[i], i); } };
	await Promise.all(Array.from({ length: Math.min(n, items.length) }, worker));
}

// "pushed 48 blocks (154 MiB) to URL in 3.2 s; 0 already there; 0 failed"
function syncLine(stdout, verb) {
	const m = new RegExp(`^${verb} (\\d+) blocks? \\(([^)]*)\\) \\S+ \\S+ in ([\\d.]+) s; (\\d+) already \\S+; (\\d+) failed$`, 'm').exec(stdout);
	if (!m) throw new Error(`sync_bench: unexpected output of obstui ${verb}: ${stdout}`);
	return { n: Number(m[1]), seconds: Number(m[3]), failed: Number(m[5]) };
}

// --- the five transfers ----------------------------------------------------------------

const key = (az) => ({ AZURE_STORAGE_KEY: az.key });

function obstuiPush(az, container) {
	const a0 = azuriteCpu(az);
	const r = run(opt.obstui, ['push', az.containerUrl(container, 'bench'), '--store', opt.store], key(az));
	const l = syncLine(r.stdout, 'pushed');
	if (l.n !== blocks.length || l.failed) throw new Error(`obstui push moved ${l.n} of ${blocks.length}: ${r.stdout}`);
	return { wall: r.wall, cpu: r.cpu, azCpu: azuriteCpu(az) - a0, inner: l.seconds };
}

async function sdkPush(az, svc, container, metas) {
	const cc = svc.getContainerClient(container);
	await cc.createIfNotExists();
	return timed(az, () => pool(opt.workers, blocks, async (b) => {
		const name = blockName(b.id);
		await cc.getBlockBlobClient(name).uploadFile(b.path);
		await cc.getBlockBlobClient(`${name}.json`).uploadData(metas.get(b.id));
	}));
}

function obstuiPull(az, container, dir) {
	const a0 = azuriteCpu(az);
	const r = run(opt.obstui, ['pull', az.containerUrl(container, 'bench'), '--store', dir], key(az));
	const l = syncLine(r.stdout, 'pulled');
	if (l.n !== blocks.length || l.failed) throw new Error(`obstui pull moved ${l.n} of ${blocks.length}: ${r.stdout}`);
	return { wall: r.wall, cpu: r.cpu, azCpu: azuriteCpu(az) - a0, inner: l.seconds };
}

function obstuiFetch(az, container, dir) {
	mkdirSync(dir, { recursive: true });
	const a0 = azuriteCpu(az);
	const r = run(opt.tool, ['fetch', az.containerUrl(container, 'bench'), '--out', dir], key(az));
	const kv = Object.fromEntries(r.stdout.split('\n').map((l) => l.split('=')));
	if (Number(kv.fetch_blocks) !== blocks.length || Number(kv.fetch_failed) || Number(kv.fetch_bytes) !== totalBytes)
		throw new Error(`bench_sync fetch: ${r.stdout}`);
	return { wall: r.wall, cpu: r.cpu, azCpu: azuriteCpu(az) - a0, inner: Number(kv.fetch_seconds) };
}

async function sdkPull(az, svc, container, dir) {
	mkdirSync(dir, { recursive: true });
	const cc = svc.getContainerClient(container);
	let bytes = 0;
	const r = await timed(az, async () => {
		const all = [];
		for await (const b of cc.listBlobsFlat({ prefix: `${PREFIX}obstui/v1/blocks/` }))
			all.push({ name: b.name, size: b.properties.contentLength });
		const metas = all.filter((b) => b.name.endsWith('.json'));
		await pool(opt.workers, metas, async (m) => {
			const meta = JSON.parse(await cc.getBlobClient(m.name).downloadToBuffer(0, m.size));
			const name = m.name.slice(0, -5);
			await cc.getBlobClient(name).downloadToFile(join(dir, meta.id));
			bytes += meta.bytes;
		});
		return { n: metas.length };
	});
	if (r.n !== blocks.length || bytes !== totalBytes) throw new Error(`SDK pull got ${r.n} blocks, ${bytes} bytes`);
	return r;
}

// --- throughput ---------------------------------------------------------------------

async function throughput() {
	const memoryLimitMiB = Math.ceil((2 * (opt.reps + 1) * totalBytes) / 2 ** 20 * 1.2) + 512;
	const az = await startAzurite({ memoryLimitMiB });
	log(`Azurite pid ${az.pid} on :${az.port}; ${blocks.length} blocks, ${(totalBytes / MB).toFixed(1)} MB`);
	// the SDK as shipped: its default retry policy (the harness's one try is for tests)
	const svc = az.blobServiceClient(undefined, { retryOptions: {} });
	const runs = { push_obstui: [], push_sdk: [], pull_obstui: [], fetch_obstui: [], pull_sdk: [] };
	let metas = null;
	try {
		for (let rep = 0; rep <= opt.reps; rep++) {
			const tag = rep === 0 ? 'warmup' : `rep${rep}`;
			const co = `tp${rep}-obstui`;
			const cs = `tp${rep}-sdk`;
			const dir = join(opt.work, tag);
			const got = {};
			// push: obstui first on even rounds (the warm-up too: it writes
			// the metas the SDK then uploads), the SDK first on odd ones
			const pushes = [['push_obstui', () => obstuiPush(az, co)], ['push_sdk', () => sdkPush(az, svc, cs, metas)]];
			if (rep % 2 === 1) pushes.reverse();
			for (const [k, fn] of pushes) {
				got[k] = await fn();
				if (k === 'push_obstui' && !metas) {
					metas = new Map();
					const cc = svc.getContainerClient(co);
					for (const b of blocks) metas.set(b.id, await cc.getBlobClient(`${blockName(b.id)}.json`).downloadToBuffer());
				}
			}
			const pulls = [
				['pull_obstui', () => obstuiPull(az, co, join(dir, 'pull-store'))],
				['fetch_obstui', () => obstuiFetch(az, co, join(dir, 'fetch'))],
				['pull_sdk', () => sdkPull(az, svc, co, join(dir, 'sdk'))],
			];
			for (let i = 0; i < rep % 3; i++) pulls.push(pulls.shift());
			for (const [k, fn] of pulls) {
				got[k] = await fn();
				rmSync(dir, { recursive: true, force: true }); // page cache and disk as before
			}
			for (const [k, v] of Object.entries(got)) {
				const mbps = totalBytes / MB / v.wall;
				put(`sync_${tag}_${k}`, `mbps=${f2(mbps)} seconds=${v.wall.toFixed(3)} cpu=${f2(v.cpu)} azurite_cpu=${f2(v.azCpu)}${v.inner !== undefined ? ` inner_seconds=${v.inner}` : ''}`);
				if (rep > 0) runs[k].push({ mbps, ...v });
			}
			log(`${tag}: ${Object.entries(got).map(([k, v]) => `${k} ${(totalBytes / MB / v.wall).toFixed(1)} MB/s`).join(', ')}`);
		}
	} finally {
		await az.stop();
	}
	put('sync_reps', opt.reps);
	for (const [k, v] of Object.entries(runs)) {
		put(`sync_${k}_mbps`, f2(median(v.map((x) => x.mbps))));
		put(`sync_${k}_seconds`, f2(median(v.map((x) => x.wall))));
		put(`sync_${k}_cpu_seconds`, f2(median(v.map((x) => x.cpu))));
		put(`sync_${k}_azurite_cpu_seconds`, f2(median(v.map((x) => x.azCpu))));
		put(`sync_${k}_mbps_all`, v.map((x) => f2(x.mbps)).join(' '));
	}
	const ratio = (a, b) => f2(median(runs[a].map((x, i) => x.mbps / runs[b][i].mbps)));
	put('sync_push_ratio', ratio('push_obstui', 'push_sdk'));
	put('sync_pull_ratio', ratio('pull_obstui', 'pull_sdk'));
	put('sync_fetch_ratio', ratio('fetch_obstui', 'pull_sdk'));
}

// --- follow -------------------------------------------------------------------------

async function follow() {
	const az = await startAzurite();
	try {
		const dir = join(opt.work, 'follow');
		mkdirSync(dir, { recursive: true });
		const r = spawnSync(opt.tool, ['follow', az.url, '--template', opt.template, '--work', dir,
			'--blocks', String(opt.followBlocks), '--cycles', String(opt.followCycles),
			'--new', String(opt.followNew)], {
			encoding: 'utf8', env: { ...process.env, ...key(az) }, stdio: ['ignore', 'pipe', 'inherit'],
			timeout: opt.timeout * 1000,
		});
		if (r.error || r.status !== 0) throw new Error(`bench_sync follow: exit ${r.status} ${r.error?.message ?? ''}`);
		for (const l of r.stdout.trim().split('\n')) if (l.includes('=')) put(...l.split(/=(.*)/s, 2));
		rmSync(dir, { recursive: true, force: true });
	} finally {
		await az.stop();
	}
}

mkdirSync(opt.work, { recursive: true });
writeFileSync(opt.out, '');
await throughput();
if (opt.followBlocks > 0) await follow();
clearTimeout(watchdog);
