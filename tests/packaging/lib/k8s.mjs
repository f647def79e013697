// Kubernetes manifests checked offline against the API's schema, two ways:
//  - kubernetes-models: each object's JSON schema (types, formats, enums,
//    required fields), as the API server's OpenAPI document states them;
//  - a walk over @kubernetes/client-node's generated type map (every API
//    type's field names and types): a field the API does not have -- a
//    misspelling -- is an error, which the JSON schemas above allow.
// Plus yamllint on the YAML text.  The tools come from
// packaging/tools/fetch-tools.sh (build/packaging/tools).

import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join, dirname } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

export const ROOT = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..');
export const TOOLS = join(ROOT, 'build', 'packaging', 'tools');
export const HELM = join(TOOLS, 'bin', 'helm');
export const KUBECTL = join(TOOLS, 'bin', 'kubectl');
const NPM = join(TOOLS, 'npm', 'node_modules');
const MODELS = join(TOOLS, 'k8s-models');

export function fetchTools() {
	const r = spawnSync(join(ROOT, 'packaging', 'tools', 'fetch-tools.sh'), [], { encoding: 'utf8', timeout: 600000 });
	if (r.status !== 0) throw new Error(`fetch-tools.sh failed:\n${r.stderr}`);
}

let YAML;
export async function parseDocs(text) {
	YAML ??= await import(pathToFileURL(join(NPM, 'yaml', 'dist', 'index.js')).href);
	const docs = YAML.parseAllDocuments(text);
	for (const d of docs) if (d.errors.length) throw new Error(`YAML: ${d.errors[0].message}`);
	return docs.map((d) => d.toJS()).filter((o) => o != null);
}

// kubernetes-models: the class for apiVersion + kind
async function modelClass(apiVersion, kind) {
	const [group, version] = apiVersion.includes('/') ? apiVersion.split('/') : ['', apiVersion];
	const file = join(NPM, 'kubernetes-models', ...(group ? [group] : []), version, `${kind}.js`);
	if (!existsSync(file)) return null;
	return (await import(pathToFileURL(file).href))[kind];
}

// client-node's type map: V1StatefulSet.attributeTypeMap = [{baseName, type}]
const typeCache = new Map();
async function typeMap(name) {
	if (typeCache.has(name)) return typeCache.get(name);
	const file = join(MODELS, `${name}.js`);
	let map = null;
	if (existsSync(file)) {
		const mod = await import(pathToFileURL(file).href);
		const cls = mod[name];
		if (cls?.attributeTypeMap) map = new Map(cls.attributeTypeMap.map((a) => [a.baseName, a.type]));
		else if (cls && typeof cls === 'object') map = 'enum';
	}
	typeCache.set(name, map);
	return map;
}

async function walk(v, type, path, errs) {
	if (v === null || v === undefined) return;
	let m;
	if ((m = /^Array<(.+)>$/.exec(type))) {
		if (!Array.isArray(v)) return errs.push(`${path}: want a list, have ${JSON.stringify(v)}`);
		for (let i = 0; i < v.length; i++) await walk(v[i], m[1], `${path}[${i}]`, errs);
		return;
	}
	if ((m = /^\{ \[key: string\]: (.+); \}$/.exec(type))) {
		if (typeof v !== 'object' || Array.isArray(v)) return errs.push(`${path}: want a map, have ${JSON.stringify(v)}`);
		for (const [k, x] of Object.entries(v)) await walk(x, m[1], `${path}.${k}`, errs);
		return;
	}
	switch (type) {
	case 'string': case 'Date':
		if (typeof v !== 'string') errs.push(`${path}: want a string, have ${JSON.stringify(v)}`);
		return;
	case 'number':
		if (typeof v !== 'number') errs.push(`${path}: want a number, have ${JSON.stringify(v)}`);
		return;
	case 'boolean':
		if (typeof v !== 'boolean') errs.push(`${path}: want a boolean, have ${JSON.stringify(v)}`);
		return;
	case 'IntOrString':
		if (typeof v !== 'string' && typeof v !== 'number') errs.push(`${path}: want an int or string, have ${JSON.stringify(v)}`);
		return;
	case 'any': case 'object': case 'RequestContext':
		return;
	}
	const map = await typeMap(type);
	if (map === null) return errs.push(`${path}: type ${type} unknown to the type map`);
	if (map === 'enum') return;
	if (typeof v !== 'object' || Array.isArray(v)) return errs.push(`${path}: want an object (${type}), have ${JSON.stringify(v)}`);
	for (const [k, x] of Object.entries(v)) {
		if (!map.has(k)) { errs.push(`${path}.${k}: no such field in ${type}`); continue; }
		await walk(x, map.get(k), `${path}.${k}`, errs);
	}
}

// validate(obj) -> list of problems ([] when the object is valid)
export async function validate(obj) {
	const errs = [];
	const id = `${obj?.kind ?? '?'}/${obj?.metadata?.name ?? '?'}`;
	if (!obj?.apiVersion || !obj?.kind) return [`${id}: no apiVersion or kind`];
	const Cls = await modelClass(obj.apiVersion, obj.kind);
	if (!Cls) return [`${id}: ${obj.apiVersion} ${obj.kind} is not a Kubernetes API type`];
	try {
		new Cls(obj).validate();
	} catch (e) {
		errs.push(`${id}: ${e.message.split('\n').slice(0, 6).join('; ')}`);
	}
	const group = obj.apiVersion.includes('/') ? obj.apiVersion.split('/')[0].split('.')[0] : '';
	const version = obj.apiVersion.split('/').pop();
	const cap = (s) => s.charAt(0).toUpperCase() + s.slice(1);
	const tname = group && group !== 'apps' ? `${cap(version)}${cap(group)}${obj.kind}` : `${cap(version)}${obj.kind}`;
	await walk(obj, tname, id, errs);
	return errs;
}

export async function validateAll(objs) {
	const errs = [];
	for (const o of objs) errs.push(...(await validate(o)));
	return errs;
}

export const YAMLLINT_CONFIG = join(ROOT, 'packaging', '.yamllint');

// yamllint(text) -> {status, out}
export function yamllint(text, name = 'stdin') {
	const r = spawnSync('yamllint', ['-f', 'parsable', '-c', YAMLLINT_CONFIG, '-'], { input: text, encoding: 'utf8' });
	return { status: r.status, out: `${name}: ${r.stdout}${r.stderr}` };
}
export function yamllintFiles(files) {
	const r = spawnSync('yamllint', ['-f', 'parsable', '-c', YAMLLINT_CONFIG, ...files], { encoding: 'utf8' });
	return { status: r.status, out: `${r.stdout}${r.stderr}` };
}

export function helm(args) {
	return spawnSync(HELM, args, { encoding: 'utf8', cwd: ROOT, maxBuffer: 16 << 20, env: { ...process.env, HELM_CACHE_HOME: join(TOOLS, 'helm-cache'), HELM_CONFIG_HOME: join(TOOLS, 'helm-config'), HELM_DATA_HOME: join(TOOLS, 'helm-data') } });
}
export function kustomize(dir) {
	return spawnSync(KUBECTL, ['kustomize', dir], { encoding: 'utf8', cwd: ROOT, maxBuffer: 16 << 20 });
}
