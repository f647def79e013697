// The container image (packaging/image): make image builds it with
// mmdebstrap + podman (no Docker daemon, no registry); in it `obstui
// version` runs; `serve` on free loopback ports (host network, 127.0.0.1
// only) answers /ready, passes its HEALTHCHECK, and stores an OTLP request
// sent from outside the container into the store on its volume; SIGTERM
// (podman stop) exits 0 with the head sealed into a block.
//
// Rootful podman with packaging/image/containers.conf (runc, lowered
// ulimits, netns=host): no network bridge, firewall rule or sysctl is made.
// The chart's StatefulSet, rendered by helm with the image and free
// loopback ports, runs under podman kube play (as a Pod: podman has no
// StatefulSet; host network) with its security context, read-only root and
// volumes, and answers /ready.  Every container, pod and volume the test
// makes is removed; the image stays for the next run (OBSTUI_IMAGE_CLEAN=1
// removes it too).

import { test, before, after } from 'node:test';
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, chownSync, readFileSync, writeFileSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { tmpdir } from 'node:os';
import { createServer } from 'node:net';
import { fileURLToPath } from 'node:url';
import { randomBytes } from 'node:crypto';

const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const CONF = join(ROOT, 'packaging', 'image', 'containers.conf');
const env = { ...process.env, CONTAINERS_CONF: CONF };
const version = /#define OBSTUI_VERSION "([^"]+)"/.exec(readFileSync(join(ROOT, 'src/core/util.h'), 'utf8'))[1];
const IMAGE = `localhost/obstui:${version}`;
const BIN = process.env.OBSTUI_BIN || join(ROOT, 'obstui');
const name = `obstui-it-${randomBytes(4).toString('hex')}`;
let store;
let kubeFile;

const podman = (args, opts = {}) => spawnSync('podman', args, { encoding: 'utf8', env, timeout: 120000, ...opts });

function freePort() {
	return new Promise((res, rej) => {
		const s = createServer();
		s.listen(0, '127.0.0.1', () => { const p = s.address().port; s.close(() => res(p)); });
		s.on('error', rej);
	});
}
const sleep = (ms) => new Promise((r) => setTimeout(r, ms));

before(() => {
	const r = spawnSync(join(ROOT, 'packaging', 'image', 'build-image.sh'), [], { encoding: 'utf8', env, timeout: 1200000, maxBuffer: 64 << 20 });
	assert.equal(r.status, 0, `make image:\n${r.stderr.slice(-4000)}`);
	assert.equal(r.stdout.trim(), IMAGE);
});

after(() => {
	podman(['rm', '-f', '-t', '0', name]);
	if (kubeFile) { podman(['kube', 'down', kubeFile]); rmSync(dirname(kubeFile), { recursive: true, force: true }); }
	if (store) rmSync(store, { recursive: true, force: true });
	if (process.env.OBSTUI_IMAGE_CLEAN === '1') podman(['rmi', '-f', IMAGE, IMAGE.replace(/:[^:]+$/, ':latest')]);
});

test('the image runs obstui version as a non-root user, with the store a volume', () => {
	const r = podman(['run', '--rm', '--network', 'host', IMAGE, 'version']);
	assert.equal(r.status, 0, r.stderr);
	assert.equal(r.stdout.trim(), `obstui ${version}`);
	const img = JSON.parse(podman(['image', 'inspect', IMAGE]).stdout)[0];
	const cfg = img.Config;
	assert.equal(cfg.User, '10001:10001');
	assert.ok(cfg.Volumes && '/var/lib/obstui' in cfg.Volumes, JSON.stringify(cfg.Volumes));
	for (const p of ['4317/tcp', '4318/tcp', '9411/tcp', '3200/tcp']) assert.ok(p in cfg.ExposedPorts, p);
	assert.deepEqual(cfg.Entrypoint, ['/usr/bin/obstui']);
	assert.equal(cfg.Cmd[0], 'serve');
	assert.equal(cfg.Cmd[cfg.Cmd.indexOf('--api') + 1], '0.0.0.0:3200');
	assert.equal(cfg.StopSignal, 'SIGTERM');
	assert.ok(img.Healthcheck?.Test?.join(' ').includes('GET /ready'), JSON.stringify(img.Healthcheck));
	const id = podman(['run', '--rm', '--network', 'host', '--entrypoint', '/usr/bin/id', IMAGE, '-u']);
	assert.equal(id.stdout.trim(), '10001');
});

test('serve in the container: /ready, the healthcheck, an OTLP request from outside, SIGTERM seals the head', { timeout: 180000 }, async () => {
	store = mkdtempSync(join(tmpdir(), 'obstui-img-'));
	chownSync(store, 10001, 10001);
	const [otlp, api] = [await freePort(), await freePort()];
	const r = podman(['run', '-d', '--name', name, '--network', 'host', '-v', `${store}:/var/lib/obstui`,
		'-e', `OBSTUI_API_PORT=${api}`, IMAGE, 'serve', '--otlp-grpc', 'off', '--zipkin', 'off',
		'--otlp-http', `127.0.0.1:${otlp}`, '--api', `127.0.0.1:${api}`, '--seal-idle', '10m']);
	assert.equal(r.status, 0, r.stderr);
	let ready = false;
	for (let i = 0; i < 100 && !ready; i++) {
		try { ready = (await fetch(`http://127.0.0.1:${api}/ready`)).status === 200; } catch { /* not yet */ }
		if (!ready) await sleep(100);
	}
	assert.ok(ready, `no /ready: ${podman(['logs', name]).stderr}`);
	const hc = podman(['healthcheck', 'run', name]);
	assert.equal(hc.status, 0, `healthcheck: ${hc.stdout}${hc.stderr}`);

	const tid = randomBytes(16).toString('hex');
	const now = BigInt(Date.now()) * 1000000n;
	const body = { resourceSpans: [{ resource: { attributes: [{ key: 'service.name', value: { stringValue: 'img' } }] },
		scopeSpans: [{ spans: [{ traceId: tid, spanId: randomBytes(8).toString('hex'), name: 'GET /img', kind: 2,
			startTimeUnixNano: String(now - 5000000n), endTimeUnixNano: String(now) }] }] }] };
	const post = await fetch(`http://127.0.0.1:${otlp}/v1/traces`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(body) });
	assert.equal(post.status, 200, await post.text());
	let found = false;
	for (let i = 0; i < 50 && !found; i++) {
		const g = await fetch(`http://127.0.0.1:${api}/api/v2/traces/${tid}`);
		found = g.status === 200;
		if (!found) await sleep(100);
	}
	assert.ok(found, 'the trace is not queryable through the API');

	const stop = podman(['stop', '-t', '30', name]);
	assert.equal(stop.status, 0, stop.stderr);
	const st = JSON.parse(podman(['inspect', name]).stdout)[0].State;
	assert.equal(st.ExitCode, 0, `exit ${st.ExitCode}: ${podman(['logs', name]).stderr.slice(-2000)}`);
	// the store on the volume: the span sealed into a block, nothing in the head
	const s = spawnSync(BIN, ['stats', '--json', '--store', store], { encoding: 'utf8' });
	assert.equal(s.status, 0, s.stderr);
	const stats = JSON.parse(s.stdout);
	assert.equal(stats.traces, 1);
	assert.equal(stats.headSpans, 0);
	assert.equal(stats.blockSpans, 1);
	const t = spawnSync(BIN, ['trace', tid, '--json', '--store', store], { encoding: 'utf8' });
	assert.equal(t.status, 0, t.stderr);
	assert.match(t.stdout, /GET \/img/);
});

test('the chart\'s StatefulSet runs under podman kube play and answers /ready', { timeout: 180000 }, async () => {
	const { fetchTools, helm, parseDocs } = await import('./lib/k8s.mjs');
	fetchTools();
	const [g, h, z, a] = [await freePort(), await freePort(), await freePort(), await freePort()];
	const r = helm(['template', 'kp', 'packaging/helm/obstui', '--set', 'listenAddress=127.0.0.1',
		'--set', `ports.otlpGrpc=${g}`, '--set', `ports.otlpHttp=${h}`, '--set', `ports.zipkin=${z}`, '--set', `ports.api=${a}`,
		'--set', 'persistence.enabled=false', '--set', `image.tag=${version}`, '--set', 'image.pullPolicy=Never']);
	assert.equal(r.status, 0, r.stderr);
	const sts = (await parseDocs(r.stdout)).find((o) => o.kind === 'StatefulSet');
	const c = sts.spec.template.spec.containers[0];
	assert.equal(c.image, IMAGE);
	assert.equal(c.args[c.args.indexOf('--api') + 1], `127.0.0.1:${a}`);
	// host network: podman refuses port mappings there, so the ports go and
	// the probes name the API port by number
	const ports = Object.fromEntries(c.ports.map((p) => [p.name, p.containerPort]));
	const ctrSpec = { ...c, ports: undefined };
	for (const k of ['livenessProbe', 'readinessProbe'])
		ctrSpec[k] = { ...c[k], httpGet: { ...c[k].httpGet, port: ports[c[k].httpGet.port] } };
	const pod = { apiVersion: 'v1', kind: 'Pod', metadata: { name: `${name}-kube`, labels: sts.spec.template.metadata.labels },
		spec: { ...sts.spec.template.spec, hostNetwork: true, containers: [ctrSpec] } };
	const dir = mkdtempSync(join(tmpdir(), 'obstui-kube-'));
	kubeFile = join(dir, 'pod.json');
	writeFileSync(kubeFile, JSON.stringify(pod));
	const play = podman(['kube', 'play', '--build=false', '--network', 'host', kubeFile], { cwd: dir });
	assert.equal(play.status, 0, `podman kube play:\n${play.stdout}${play.stderr}`);
	let ready = false;
	for (let i = 0; i < 150 && !ready; i++) {
		try { ready = (await fetch(`http://127.0.0.1:${a}/ready`)).status === 200; } catch { /* not yet */ }
		if (!ready) await sleep(100);
	}
	const ctr = `${name}-kube-obstui`;
	assert.ok(ready, `no /ready from the kube play pod: ${podman(['logs', ctr]).stderr.slice(-2000)}`);
	// the pod's container as the chart says: uid 10001, read-only root
	const info = JSON.parse(podman(['inspect', ctr]).stdout)[0];
	assert.equal(info.Config.User, '10001:10001');
	assert.equal(info.HostConfig.ReadonlyRootfs, true);
	const down = podman(['kube', 'down', kubeFile]);
	assert.equal(down.status, 0, down.stderr);
	kubeFile = undefined;
	rmSync(dir, { recursive: true, force: true });
});
