// metsync_bench.mjs - metric block pull, end to end, against the official
// Azure SDK downloading the same bytes from the same Azurite (issue 13's
// benchmark: the ratio SDK time / obstui time must be at least 1.0).
// A phase of `make bench` through bench/metview_bench.sh (BENCH_MV_PHASES);
// by hand after `make`:
//
//   node bench/metsync_bench.mjs [--obstui ./obstui] [--reps 3] [--pad-mib 24]
//
// The store: `obstui serve` takes 5 h of 50 series by remote write and
// seals them into TSDB blocks on stop; each block then gets two extra chunk
// segments of --pad-mib random bytes (a valid segment header, referenced by
// no series), so that the bytes moved are those of a busy cluster's blocks
// while the samples stay few.  obstui pushes the blocks to Azurite.  Then,
// --reps times, in alternating order:
//
//   sdk     listBlobsFlat, then downloadToBuffer of every blob (concurrency 4
//           within a blob, 4 blobs in flight: obstui's SYNC_WORKERS)
//   obstui  `obstui pull URL --store NEW`: list, GET meta.json and every file,
//           size and SHA-256 checks, write, open and adopt each block
//
// Prints key=value lines (medians in ms, MB/s, the ratio) and exits 1 when
// the ratio is below 1.0.

import { spawnSync } from 'node:child_process';
import { readdirSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { randomBytes } from 'node:crypto';
import { performance } from 'node:perf_hooks';
import { startAzurite } from '../tests/integration/lib/azurite.mjs';
import { startServe } from '../tests/integration/lib/obstui.mjs';
import { sendWrite } from '../tests/integration/lib/promrw.mjs';

const arg = (name, dflt) => {
	const i = process.argv.indexOf(`--${name}`);
	return i > 0 ? process.argv[i + 1] : dflt;
};
const BIN = resolve(arg('obstui', './obstui'));
const REPS = Number(arg('reps', '3'));
const PAD = Number(arg('pad-mib', '24')) << 20;
process.env.OBSTUI_BIN = BIN;

const work = mkdtempSync(join(tmpdir(), 'obstui-metsync-bench-'));
const az = await startAzurite();
const watchdog = setTimeout(() => { console.error('metsync_bench: out of time'); process.exit(2); }, 900000);
try {
	const say = (m) => console.error(`metsync_bench: ${m}`);
	await az.blobServiceClient().createContainer('bench');
	say('container made; filling a store by remote write');
	const store = join(work, 'src');
	const srv = await startServe({ store, args: ['--zipkin', 'off'] });
	const end = Date.now() - 600000;
	const start = end - 5 * 3600e3;
	const series = [];
	for (let i = 0; i < 50; i++) {
		const samples = [];
		for (let t = start; t <= end; t += 15000) samples.push([t, Math.sin(t / 1e6 + i)]);
		series.push({ labels: { __name__: 'bench_metric', i: String(i) }, samples });
	}
	for (let t = start; t <= end; t += 1200000) {
		const r = await sendWrite(`${srv.otlp}/api/v1/write`, { series: series.map((s) => ({ labels: s.labels, samples: s.samples.filter(([ts]) => ts >= t && ts < t + 1200000) })) });
		if (r.status !== 204) throw new Error(`remote write: ${r.status}`);
	}
	if ((await srv.stop()).code !== 0) throw new Error('serve did not stop cleanly');
	say('store sealed; padding the blocks and pushing them');
	const mdir = join(store, 'metrics');
	const blocks = readdirSync(mdir).filter((d) => /^[0-9A-HJKMNP-TV-Z]{26}$/.test(d));
	for (const b of blocks) {
		for (const seg of ['000002', '000003']) {
			const buf = randomBytes(PAD);
			buf.writeUInt32BE(0x85BD40DD, 0); // chunks segment magic, version 1
			buf[4] = 1;
			buf.fill(0, 5, 8);
			writeFileSync(join(mdir, b, 'chunks', seg), buf);
		}
	}
	const env = { ...process.env, AZURE_STORAGE_KEY: az.key };
	const url = az.containerUrl('bench', 'm');
	const push = spawnSync(BIN, ['push', url, '--store', store], { env, encoding: 'utf8', timeout: 600000 });
	if (push.status !== 0) throw new Error(`push: ${push.stderr}`);
	// the SDK as an application uses it: with retries (the test helper's default is one
	// try, and a keep-alive socket Azurite closed while push ran would fail the first GET)
	const cc = az.blobServiceClient(undefined, { retryOptions: { maxTries: 4, tryTimeoutInMs: 120000 } })
		.getContainerClient('bench');
	say('pushed; timing');

	const sdk = async () => {
		const names = [];
		for await (const b of cc.listBlobsFlat({ prefix: 'm/obstui/v1/metrics/' })) names.push(b.name);
		let bytes = 0;
		await Promise.all(Array.from({ length: 4 }, async (_, w) => {
			for (let i = w; i < names.length; i += 4) {
				const buf = await cc.getBlobClient(names[i]).downloadToBuffer(undefined, undefined, { concurrency: 4 });
				bytes += buf.length;
			}
		}));
		return bytes;
	};
	const obstui = (n) => {
		const r = spawnSync(BIN, ['pull', url, '--store', join(work, `pull${n}`)], { env, encoding: 'utf8', timeout: 600000 });
		if (r.status !== 0 || !/pulled \d+ metric blocks? \(/.test(r.stdout)) throw new Error(`pull: ${r.stdout}${r.stderr}`);
		rmSync(join(work, `pull${n}`), { recursive: true, force: true });
	};
	const times = { sdk: [], obstui: [] };
	let bytes = 0;
	await sdk(); // warm-up
	obstui('w');
	for (let k = 0; k < REPS; k++) {
		for (const which of k % 2 ? ['obstui', 'sdk'] : ['sdk', 'obstui']) {
			const t0 = performance.now();
			if (which === 'sdk') bytes = await sdk();
			else obstui(k);
			times[which].push(performance.now() - t0);
		}
	}
	const median = (a) => [...a].sort((x, y) => x - y)[Math.floor(a.length / 2)];
	const ms = { sdk: median(times.sdk), obstui: median(times.obstui) };
	const ratio = ms.sdk / ms.obstui;
	console.log(`blocks=${blocks.length}`);
	console.log(`bytes=${bytes}`);
	console.log(`sdk_ms=${ms.sdk.toFixed(0)} sdk_mbps=${(bytes / 1e6 / (ms.sdk / 1000)).toFixed(1)}`);
	console.log(`obstui_ms=${ms.obstui.toFixed(0)} obstui_mbps=${(bytes / 1e6 / (ms.obstui / 1000)).toFixed(1)}`);
	console.log(`ratio=${ratio.toFixed(2)}`);
	process.exitCode = ratio >= 1.0 ? 0 : 1;
} finally {
	clearTimeout(watchdog);
	await az.stop();
	rmSync(work, { recursive: true, force: true });
}
