// The Helm chart (packaging/helm/obstui) and the Kustomize manifests
// (packaging/kustomize): a real helm runs lint --strict and template for the
// default, workload-identity and internal-LB + Private Link values (the
// chart's ci/*-values.yaml); kubectl kustomize renders the base and the aks
// overlay; every rendered object is validated against the Kubernetes API
// schema (tests/packaging/lib/k8s.mjs: kubernetes-models for types and
// required fields, the client-node type map for unknown fields) and yamllint;
// fixtures with a misspelled field, a wrong type or a missing required field
// fail those same checks.  The workload-identity values must render the
// service-account annotation, the pod label and the remote with
// auth = workload-identity that --push uses, exactly.

import { test, before } from 'node:test';
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { ROOT, fetchTools, parseDocs, validateAll, yamllint, yamllintFiles, helm, kustomize } from './lib/k8s.mjs';

const CHART = 'packaging/helm/obstui';
const CI = join(CHART, 'ci');
const FIX = join('tests', 'packaging', 'fixtures');
const WI = { clientId: '00000000-1111-2222-3333-444444444444', tenantId: '55555555-6666-7777-8888-999999999999' };

before(() => fetchTools());

async function render(values) {
	const args = ['template', 'obs', CHART, '--namespace', 'observability'];
	if (values) args.push('-f', values);
	const r = helm(args);
	assert.equal(r.status, 0, `helm ${args.join(' ')}:\n${r.stderr}`);
	return { text: r.stdout, objs: await parseDocs(r.stdout) };
}
const find = (objs, kind, pred = () => true) => objs.filter((o) => o.kind === kind && pred(o));
const one = (objs, kind, pred) => {
	const l = find(objs, kind, pred);
	assert.equal(l.length, 1, `${l.length} ${kind} objects`);
	return l[0];
};
const container = (sts) => sts.spec.template.spec.containers[0];
// args as pairs: the value after each --flag
const argAfter = (args, flag) => { const i = args.indexOf(flag); return i < 0 ? undefined : args[i + 1]; };

async function checkValid(name, text, objs) {
	assert.deepEqual(await validateAll(objs), [], `${name}: invalid objects`);
	const y = yamllint(text, name);
	assert.equal(y.status, 0, y.out);
}

test('helm lint --strict passes for each ci values file', () => {
	const files = readdirSync(join(ROOT, CI)).filter((f) => f.endsWith('-values.yaml')).sort();
	assert.deepEqual(files, ['default-values.yaml', 'internal-pls-values.yaml', 'workload-identity-values.yaml']);
	for (const f of files) {
		const r = helm(['lint', '--strict', CHART, '-f', join(CI, f)]);
		assert.equal(r.status, 0, `helm lint --strict -f ${f}:\n${r.stdout}${r.stderr}`);
		assert.match(r.stdout, /1 chart\(s\) linted, 0 chart\(s\) failed/);
	}
	const y = yamllintFiles([join(CHART, 'Chart.yaml'), join(CHART, 'values.yaml'),
		...files.map((f) => join(CI, f))].map((f) => join(ROOT, f)));
	assert.equal(y.status, 0, y.out);
});

test('default values: a StatefulSet with a volume, the Services, probes and a locked-down pod', async () => {
	const { text, objs } = await render();
	await checkValid('default', text, objs);
	assert.deepEqual(objs.map((o) => o.kind).sort(), ['Service', 'Service', 'ServiceAccount', 'StatefulSet']);
	const sts = one(objs, 'StatefulSet');
	assert.equal(sts.spec.replicas, 1);
	assert.equal(sts.spec.volumeClaimTemplates[0].metadata.name, 'data');
	assert.equal(sts.spec.volumeClaimTemplates[0].spec.resources.requests.storage, '10Gi');
	const c = container(sts);
	assert.equal(c.args[0], 'serve');
	assert.equal(argAfter(c.args, '--store'), '/var/lib/obstui');
	for (const [flag, port] of [['--otlp-grpc', 4317], ['--otlp-http', 4318], ['--zipkin', 9411], ['--api', 3200]])
		assert.equal(argAfter(c.args, flag), `0.0.0.0:${port}`);
	assert.equal(c.args.includes('--push'), false);
	assert.ok(c.volumeMounts.some((m) => m.name === 'data' && m.mountPath === '/var/lib/obstui'));
	for (const p of [c.livenessProbe, c.readinessProbe])
		assert.deepEqual(p.httpGet, { path: '/ready', port: 'http-api', scheme: 'HTTP' });
	assert.equal(c.securityContext.readOnlyRootFilesystem, true);
	assert.equal(c.securityContext.allowPrivilegeEscalation, false);
	assert.deepEqual(c.securityContext.capabilities.drop, ['ALL']);
	assert.equal(sts.spec.template.spec.securityContext.runAsNonRoot, true);
	assert.ok(c.resources.requests.memory && c.resources.limits.memory);
	const svc = one(objs, 'Service', (s) => s.spec.clusterIP !== 'None');
	assert.equal(svc.spec.type, 'ClusterIP');
	assert.deepEqual(svc.spec.ports.map((p) => p.port), [4317, 4318, 9411, 3200]);
	assert.equal(svc.metadata.annotations, undefined);
	const sa = one(objs, 'ServiceAccount');
	assert.equal(sa.metadata.annotations, undefined);
	assert.equal(sts.spec.template.metadata.labels['azure.workload.identity/use'], undefined);
});

test('workload-identity values: the annotation, the label and the remote with --push, exactly', async () => {
	const { text, objs } = await render(join(CI, 'workload-identity-values.yaml'));
	await checkValid('workload-identity', text, objs);
	const sa = one(objs, 'ServiceAccount');
	assert.deepEqual(sa.metadata.annotations, {
		'azure.workload.identity/client-id': WI.clientId,
		'azure.workload.identity/tenant-id': WI.tenantId,
	});
	const sts = one(objs, 'StatefulSet');
	assert.equal(sts.spec.template.spec.serviceAccountName, sa.metadata.name);
	assert.equal(sts.spec.template.metadata.labels['azure.workload.identity/use'], 'true');
	const c = container(sts);
	// serve takes the remote by name from the config file, where its auth is
	assert.equal(argAfter(c.args, '--push'), 'remote');
	assert.equal(argAfter(c.args, '--config'), '/etc/obstui/config');
	assert.equal(argAfter(c.args, '--retention'), '7d');
	const cm = one(objs, 'ConfigMap');
	assert.equal(cm.data.config, '[remote "remote"]\n' +
		'url = https://obstuistore.blob.core.windows.net/traces\n' +
		'auth = workload-identity\n' +
		`client-id = ${WI.clientId}\n`);
	const m = c.volumeMounts.find((v) => v.mountPath === '/etc/obstui/config');
	assert.ok(m && m.subPath === 'config' && m.readOnly === true);
	const vol = sts.spec.template.spec.volumes.find((v) => v.name === m.name);
	assert.equal(vol.configMap.name, cm.metadata.name);
	assert.match(sts.spec.template.metadata.annotations['checksum/config'], /^[0-9a-f]{64}$/);
});

test('internal-LB + PLS values: the Azure annotations, TLS and the token from Secrets', async () => {
	const { text, objs } = await render(join(CI, 'internal-pls-values.yaml'));
	await checkValid('internal-pls', text, objs);
	const svc = one(objs, 'Service', (s) => s.spec.clusterIP !== 'None');
	assert.equal(svc.spec.type, 'LoadBalancer');
	assert.deepEqual(svc.metadata.annotations, {
		'service.beta.kubernetes.io/azure-load-balancer-internal': 'true',
		'service.beta.kubernetes.io/azure-pls-create': 'true',
		'service.beta.kubernetes.io/azure-pls-name': 'pls-obstui',
		'service.beta.kubernetes.io/azure-pls-ip-configuration-subnet': 'pls-subnet',
		'service.beta.kubernetes.io/azure-pls-ip-configuration-ip-address-count': '2',
		'service.beta.kubernetes.io/azure-pls-visibility': '*',
		'service.beta.kubernetes.io/azure-pls-auto-approval': '00000000-aaaa-bbbb-cccc-dddddddddddd',
	});
	const sts = one(objs, 'StatefulSet');
	const c = container(sts);
	assert.equal(argAfter(c.args, '--tls-cert'), '/etc/obstui/tls/tls.crt');
	assert.equal(argAfter(c.args, '--tls-key'), '/etc/obstui/tls/tls.key');
	assert.equal(argAfter(c.args, '--auth-token-file'), '/etc/obstui/token/token');
	assert.equal(argAfter(c.args, '--open-paths'), '/ready,/metrics');
	const vols = Object.fromEntries(sts.spec.template.spec.volumes.map((v) => [v.name, v]));
	assert.equal(vols.tls.secret.secretName, 'obstui-tls');
	assert.equal(vols.token.secret.secretName, 'obstui-token');
	assert.equal(c.readinessProbe.httpGet.scheme, 'HTTPS');
});

test('values the schema or the chart refuse: a misspelled key, a wrong type, PLS without internal', () => {
	for (const [f, re] of [['values-misspelled.yaml', /persistance/], ['values-wrong-type.yaml', /otlpGrpc|integer/],
		['values-pls-without-internal.yaml', /internal/]]) {
		const t = helm(['template', 'obs', CHART, '-f', join(FIX, f)]);
		assert.notEqual(t.status, 0, `helm template accepted ${f}`);
		assert.match(t.stderr, re, `${f}: ${t.stderr}`);
		const l = helm(['lint', '--strict', CHART, '-f', join(FIX, f)]);
		assert.notEqual(l.status, 0, `helm lint accepted ${f}`);
	}
});

test('manifests with a misspelled field, a wrong type or a missing field fail validation', async () => {
	const errsOf = async (f) => validateAll(await parseDocs(readFileSync(join(ROOT, FIX, f), 'utf8')));
	const mis = await errsOf('manifest-misspelled.yaml');
	assert.deepEqual(mis, ['StatefulSet/obstui.spec.template.spec.containers[0].readinessProbe.periodSecond: no such field in V1Probe']);
	const wrong = await errsOf('manifest-wrong-type.yaml');
	assert.ok(wrong.some((e) => /ports\/0\/port must be integer/.test(e)), wrong.join('\n'));
	assert.ok(wrong.some((e) => /ports\[0\]\.port: want a number/.test(e)), wrong.join('\n'));
	const req = await errsOf('manifest-missing-required.yaml');
	assert.ok(req.some((e) => /must have required property '?name'?/.test(e)), req.join('\n'));
	// and the fixed versions pass
	const fixed = readFileSync(join(ROOT, FIX, 'manifest-misspelled.yaml'), 'utf8').replace('periodSecond:', 'periodSeconds:');
	assert.deepEqual(await validateAll(await parseDocs(fixed)), []);
});

test('kubectl kustomize: the base and the aks overlay render valid objects', async () => {
	const y = yamllintFiles(['base', 'overlays/aks'].flatMap((d) => readdirSync(join(ROOT, 'packaging/kustomize', d))
		.filter((f) => f.endsWith('.yaml')).map((f) => join(ROOT, 'packaging/kustomize', d, f))));
	assert.equal(y.status, 0, y.out);
	const r = {};
	for (const d of ['base', 'overlays/aks']) {
		const k = kustomize(join('packaging/kustomize', d));
		assert.equal(k.status, 0, `kubectl kustomize ${d}:\n${k.stderr}`);
		r[d] = { text: k.stdout, objs: await parseDocs(k.stdout) };
		await checkValid(d, r[d].text, r[d].objs);
	}
	// the base is the chart's defaults: same container args, ports, probes, security
	const chart = container(one((await render()).objs, 'StatefulSet'));
	const base = container(one(r.base.objs, 'StatefulSet'));
	for (const k of ['args', 'ports', 'livenessProbe', 'resources', 'securityContext'])
		assert.deepEqual(base[k], k === 'livenessProbe' ? { ...chart[k], httpGet: { path: '/ready', port: 'http-api' } } : chart[k], k);
	assert.equal(one(r.base.objs, 'ServiceAccount').metadata.annotations, undefined);
	// the overlay: workload identity, internal LB + PLS, the remote
	const o = r['overlays/aks'].objs;
	assert.equal(one(o, 'ServiceAccount').metadata.annotations['azure.workload.identity/client-id'], WI.clientId);
	const sts = one(o, 'StatefulSet');
	assert.equal(sts.spec.template.metadata.labels['azure.workload.identity/use'], 'true');
	const svc = one(o, 'Service', (s) => s.spec.clusterIP !== 'None');
	assert.equal(svc.spec.type, 'LoadBalancer');
	assert.equal(svc.metadata.annotations['service.beta.kubernetes.io/azure-load-balancer-internal'], 'true');
	assert.equal(svc.metadata.annotations['service.beta.kubernetes.io/azure-pls-create'], 'true');
	const c = container(sts);
	assert.equal(argAfter(c.args, '--push'), 'remote');
	assert.equal(argAfter(c.args, '--config'), '/etc/obstui/config');
	const cm = one(o, 'ConfigMap');
	assert.match(cm.data.config, /^auth = workload-identity$/m);
	assert.equal(sts.spec.template.spec.volumes.find((v) => v.name === 'config').configMap.name, cm.metadata.name);
	// the labels select the pods
	assert.deepEqual(sts.spec.selector.matchLabels, { 'app.kubernetes.io/name': 'obstui', 'app.kubernetes.io/instance': 'obstui' });
	assert.equal(sts.spec.template.metadata.labels['app.kubernetes.io/name'], 'obstui');
});
