// otlp.mjs - OTLP encoding, decoding and comparison for the integration tests.
//
// The protobuf schema is written out here from the upstream opentelemetry-proto
// files (v1.x) rather than loaded from the repository's proto/ directory, so a
// mistake in the copy obstui is built from cannot make both sides agree.
//
// Everything is compared in one canonical form, reached from either encoding:
//
//   protobuf bytes --decodeTraces()--> OTLP/JSON object --canonTraces()--> canonical
//   JSON text ----parseJsonLossless()--^
//
// OTLP/JSON as the spec fixes it: lowerCamelCase names, trace and span ids as
// hex, enums as integers, 64-bit integers as decimal strings, other bytes as
// base64, fields with default values may be left out.  checkOtlpJson() checks
// an answer of obstui against exactly that; canonTraces() then fills in the
// defaults so two messages that mean the same compare deep-equal.

import protobuf from 'protobufjs';

const PROTO = `
syntax = "proto3";
package opentelemetry.proto.common.v1;
message AnyValue {
  oneof value {
    string string_value = 1;
    bool bool_value = 2;
    int64 int_value = 3;
    double double_value = 4;
    ArrayValue array_value = 5;
    KeyValueList kvlist_value = 6;
    bytes bytes_value = 7;
  }
}
message ArrayValue { repeated AnyValue values = 1; }
message KeyValueList { repeated KeyValue values = 1; }
message KeyValue { string key = 1; AnyValue value = 2; }
message InstrumentationScope {
  string name = 1;
  string version = 2;
  repeated KeyValue attributes = 3;
  uint32 dropped_attributes_count = 4;
}
message EntityRef {
  string schema_url = 1;
  string type = 2;
  repeated string id_keys = 3;
  repeated string description_keys = 4;
}
`;
const PROTO_RESOURCE = `
syntax = "proto3";
package opentelemetry.proto.resource.v1;
message Resource {
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 1;
  uint32 dropped_attributes_count = 2;
  repeated opentelemetry.proto.common.v1.EntityRef entity_refs = 3;
}
`;
const PROTO_TRACE = `
syntax = "proto3";
package opentelemetry.proto.trace.v1;
message TracesData { repeated ResourceSpans resource_spans = 1; }
message ResourceSpans {
  opentelemetry.proto.resource.v1.Resource resource = 1;
  repeated ScopeSpans scope_spans = 2;
  string schema_url = 3;
}
message ScopeSpans {
  opentelemetry.proto.common.v1.InstrumentationScope scope = 1;
  repeated Span spans = 2;
  string schema_url = 3;
}
message Span {
  bytes trace_id = 1;
  bytes span_id = 2;
  string trace_state = 3;
  bytes parent_span_id = 4;
  fixed32 flags = 16;
  string name = 5;
  int32 kind = 6;
  fixed64 start_time_unix_nano = 7;
  fixed64 end_time_unix_nano = 8;
  repeated opentelemetry.proto.common.v1.KeyValue attributes = 9;
  uint32 dropped_attributes_count = 10;
  message Event {
    fixed64 time_unix_nano = 1;
    string name = 2;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 3;
    uint32 dropped_attributes_count = 4;
  }
  repeated Event events = 11;
  uint32 dropped_events_count = 12;
  message Link {
    bytes trace_id = 1;
    bytes span_id = 2;
    string trace_state = 3;
    repeated opentelemetry.proto.common.v1.KeyValue attributes = 4;
    uint32 dropped_attributes_count = 5;
    fixed32 flags = 6;
  }
  repeated Link links = 13;
  uint32 dropped_links_count = 14;
  Status status = 15;
}
message Status {
  string message = 2;
  int32 code = 3;
}
`;
const PROTO_SERVICE = `
syntax = "proto3";
package opentelemetry.proto.collector.trace.v1;
message ExportTraceServiceRequest {
  repeated opentelemetry.proto.trace.v1.ResourceSpans resource_spans = 1;
}
message ExportTraceServiceResponse { ExportTracePartialSuccess partial_success = 1; }
message ExportTracePartialSuccess { int64 rejected_spans = 1; string error_message = 2; }
`;
const PROTO_STATUS = `
syntax = "proto3";
package google.rpc;
message Any { string type_url = 1; bytes value = 2; }
message Status { int32 code = 1; string message = 2; repeated Any details = 3; }
`;

export const root = new protobuf.Root();
for (const src of [PROTO, PROTO_RESOURCE, PROTO_TRACE, PROTO_SERVICE, PROTO_STATUS])
	protobuf.parse(src, root, { keepCase: false });
root.resolveAll();

export const TracesData = root.lookupType('opentelemetry.proto.trace.v1.TracesData');
export const ExportTraceServiceRequest = root.lookupType(
	'opentelemetry.proto.collector.trace.v1.ExportTraceServiceRequest');
export const ExportTraceServiceResponse = root.lookupType(
	'opentelemetry.proto.collector.trace.v1.ExportTraceServiceResponse');
export const RpcStatus = root.lookupType('google.rpc.Status');

// The tests build and read attributes nested deeper than protobufjs's
// default limit of 100 messages allows (obstui must refuse them, not us).
protobuf.util.recursionLimit = 5000;
protobuf.Reader.recursionLimit = 5000;

if (!protobuf.util.Long)
	throw new Error('protobufjs has no Long support: int64 values would lose precision');

// --- lossless JSON ------------------------------------------------------------

// JSON.parse, except that integer literals outside the safe range become
// BigInt, so 64-bit values sent as numbers are not rounded before we see them.
export function parseJsonLossless(text) {
	if (Buffer.isBuffer(text) || text instanceof Uint8Array)
		text = Buffer.from(text).toString('utf8');
	let i = 0;
	const n = text.length;
	const ws = () => { while (i < n && ' \t\r\n'.includes(text[i])) i++; };
	const fail = (what) => { throw new SyntaxError(`JSON: ${what} at offset ${i}`); };
	const value = () => {
		ws();
		const c = text[i];
		if (c === '{') {
			i++;
			const o = {};
			ws();
			if (text[i] === '}') { i++; return o; }
			for (;;) {
				ws();
				if (text[i] !== '"') fail('expected key');
				const k = str();
				ws();
				if (text[i++] !== ':') fail('expected :');
				const v = value();
				Object.defineProperty(o, k, { value: v, enumerable: true, writable: true, configurable: true });
				ws();
				if (text[i] === ',') { i++; continue; }
				if (text[i] === '}') { i++; return o; }
				fail('expected , or }');
			}
		}
		if (c === '[') {
			i++;
			const a = [];
			ws();
			if (text[i] === ']') { i++; return a; }
			for (;;) {
				a.push(value());
				ws();
				if (text[i] === ',') { i++; continue; }
				if (text[i] === ']') { i++; return a; }
				fail('expected , or ]');
			}
		}
		if (c === '"') return str();
		if (text.startsWith('true', i)) { i += 4; return true; }
		if (text.startsWith('false', i)) { i += 5; return false; }
		if (text.startsWith('null', i)) { i += 4; return null; }
		const m = /^-?(0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/.exec(text.slice(i, i + 400));
		if (!m) fail('unexpected character');
		i += m[0].length;
		if (!m[2] && !m[3]) {
			const b = BigInt(m[0]);
			if (b > BigInt(Number.MAX_SAFE_INTEGER) || b < -BigInt(Number.MAX_SAFE_INTEGER)) return b;
		}
		return Number(m[0]);
	};
	const str = () => {
		// find the closing quote, then let JSON.parse do the unescaping
		let j = i + 1;
		while (j < n) {
			const ch = text.charCodeAt(j);
			if (ch === 0x5c) j += 2;
			else if (ch === 0x22) break;
			else j++;
		}
		if (j >= n) fail('unterminated string');
		const s = JSON.parse(text.slice(i, j + 1));
		i = j + 1;
		return s;
	};
	const v = value();
	ws();
	if (i !== n) fail('trailing data');
	return v;
}

// JSON.stringify that writes BigInt as a number literal.
export function stringifyJson(v) {
	return JSON.stringify(v, (k, x) => (typeof x === 'bigint' ? `@@big:${x}@@` : x))
		.replace(/"@@big:(-?\d+)@@"/g, '$1');
}

// --- the schema -----------------------------------------------------------------

// field -> [kind, message type]; kinds: str u32 u64 enum id16 id8 id8opt attrs rep msg strs
const SCHEMA = {
	TracesData: { resourceSpans: ['rep', 'ResourceSpans'] },
	ResourceSpans: { resource: ['msg', 'Resource'], scopeSpans: ['rep', 'ScopeSpans'], schemaUrl: ['str'] },
	Resource: { attributes: ['attrs'], droppedAttributesCount: ['u32'], entityRefs: ['rep', 'EntityRef'] },
	EntityRef: { schemaUrl: ['str'], type: ['str'], idKeys: ['strs'], descriptionKeys: ['strs'] },
	ScopeSpans: { scope: ['msg', 'Scope'], spans: ['rep', 'Span'], schemaUrl: ['str'] },
	Scope: { name: ['str'], version: ['str'], attributes: ['attrs'], droppedAttributesCount: ['u32'] },
	Span: {
		traceId: ['id16'], spanId: ['id8'], traceState: ['str'], parentSpanId: ['id8opt'], flags: ['u32'],
		name: ['str'], kind: ['enum'], startTimeUnixNano: ['u64'], endTimeUnixNano: ['u64'],
		attributes: ['attrs'], droppedAttributesCount: ['u32'], events: ['rep', 'Event'],
		droppedEventsCount: ['u32'], links: ['rep', 'Link'], droppedLinksCount: ['u32'], status: ['msg', 'Status'],
	},
	Event: { timeUnixNano: ['u64'], name: ['str'], attributes: ['attrs'], droppedAttributesCount: ['u32'] },
	Link: {
		traceId: ['id16'], spanId: ['id8'], traceState: ['str'], attributes: ['attrs'],
		droppedAttributesCount: ['u32'], flags: ['u32'],
	},
	Status: { message: ['str'], code: ['enum'] },
};
const ANY_KEYS = ['stringValue', 'boolValue', 'intValue', 'doubleValue', 'arrayValue', 'kvlistValue', 'bytesValue'];
const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

// checkOtlpJson(obj, type) returns a list of problems (empty when obj is
// OTLP/JSON as obstui must write it: known lowerCamelCase fields only, hex ids,
// 64-bit integers as strings, enums as integers).
export function checkOtlpJson(obj, type = 'TracesData', path = type) {
	const errs = [];
	walk(obj, type, path);
	return errs;

	function walk(o, t, p) {
		if (o === null || typeof o !== 'object' || Array.isArray(o)) { errs.push(`${p}: not an object`); return; }
		const sch = SCHEMA[t];
		for (const [k, v] of Object.entries(o)) {
			const f = sch[k];
			const fp = `${p}.${k}`;
			if (!f) { errs.push(`${fp}: unknown field (want lowerCamelCase OTLP/JSON names)`); continue; }
			if (v === null) { errs.push(`${fp}: null`); continue; }
			field(v, f, fp);
		}
	}
	function field(v, [kind, sub], p) {
		switch (kind) {
		case 'str': if (typeof v !== 'string') errs.push(`${p}: want string, got ${typeof v}`); break;
		case 'strs': if (!Array.isArray(v) || v.some((s) => typeof s !== 'string')) errs.push(`${p}: want [string]`); break;
		case 'u32': case 'enum':
			if (typeof v !== 'number' || !Number.isInteger(v) || v < 0 || v > 0xffffffff)
				errs.push(`${p}: want integer number, got ${typeof v} ${v}`);
			break;
		case 'u64':
			if (typeof v !== 'string' || !/^\d+$/.test(v)) errs.push(`${p}: want decimal string, got ${typeof v} ${v}`);
			break;
		case 'id16': if (typeof v !== 'string' || !/^[0-9a-f]{32}$/i.test(v)) errs.push(`${p}: want 32 hex digits, got ${JSON.stringify(v)}`); break;
		case 'id8': if (typeof v !== 'string' || !/^[0-9a-f]{16}$/i.test(v)) errs.push(`${p}: want 16 hex digits, got ${JSON.stringify(v)}`); break;
		case 'id8opt': if (typeof v !== 'string' || !/^([0-9a-f]{16})?$/i.test(v)) errs.push(`${p}: want 16 hex digits or "", got ${JSON.stringify(v)}`); break;
		case 'attrs': attrs(v, p); break;
		case 'rep':
			if (!Array.isArray(v)) { errs.push(`${p}: want array`); break; }
			v.forEach((x, i) => walk(x, sub, `${p}[${i}]`));
			break;
		case 'msg': walk(v, sub, p); break;
		default: throw new Error(kind);
		}
	}
	function attrs(v, p) {
		if (!Array.isArray(v)) { errs.push(`${p}: want array`); return; }
		v.forEach((kv, i) => {
			const q = `${p}[${i}]`;
			if (kv === null || typeof kv !== 'object') { errs.push(`${q}: not an object`); return; }
			for (const k of Object.keys(kv))
				if (k !== 'key' && k !== 'value') errs.push(`${q}.${k}: unknown field`);
			if (typeof kv.key !== 'string' && kv.key !== undefined) errs.push(`${q}.key: want string`);
			if (kv.value !== undefined) any(kv.value, `${q}(${kv.key}).value`);
		});
	}
	function any(v, p) {
		if (v === null || typeof v !== 'object' || Array.isArray(v)) { errs.push(`${p}: not an object`); return; }
		const ks = Object.keys(v);
		if (ks.length > 1) errs.push(`${p}: more than one of the oneof: ${ks}`);
		for (const k of ks) {
			const x = v[k];
			switch (k) {
			case 'stringValue': if (typeof x !== 'string') errs.push(`${p}.${k}: want string`); break;
			case 'boolValue': if (typeof x !== 'boolean') errs.push(`${p}.${k}: want boolean`); break;
			case 'intValue': if (typeof x !== 'string' || !/^-?\d+$/.test(x)) errs.push(`${p}.${k}: want decimal string, got ${typeof x} ${x}`); break;
			case 'doubleValue':
				if (typeof x !== 'number' && !['NaN', 'Infinity', '-Infinity'].includes(x)) errs.push(`${p}.${k}: want number, got ${typeof x} ${x}`);
				break;
			case 'bytesValue': if (typeof x !== 'string' || !BASE64.test(x)) errs.push(`${p}.${k}: want base64, got ${JSON.stringify(x).slice(0, 40)}`); break;
			case 'arrayValue':
				if (x === null || typeof x !== 'object') { errs.push(`${p}.${k}: not an object`); break; }
				for (const kk of Object.keys(x)) if (kk !== 'values') errs.push(`${p}.${k}.${kk}: unknown field`);
				if (x.values !== undefined) {
					if (!Array.isArray(x.values)) errs.push(`${p}.${k}.values: want array`);
					else x.values.forEach((y, i) => any(y, `${p}.${k}.values[${i}]`));
				}
				break;
			case 'kvlistValue':
				if (x === null || typeof x !== 'object') { errs.push(`${p}.${k}: not an object`); break; }
				for (const kk of Object.keys(x)) if (kk !== 'values') errs.push(`${p}.${k}.${kk}: unknown field`);
				if (x.values !== undefined) attrs(x.values, `${p}.${k}.values`);
				break;
			default: errs.push(`${p}.${k}: unknown AnyValue field`);
			}
		}
	}
}

// --- canonical form ---------------------------------------------------------------

// canon(obj, type) fills in every default, lower-cases ids, turns 64-bit values
// into decimal strings and bytes into base64, and ignores unknown fields (as
// an OTLP/JSON receiver must).  Accepts numbers, BigInt or strings for 64-bit
// fields, so it reads both what exporters send and what obstui answers.
export function canon(o, t = 'TracesData') {
	o = o ?? {};
	const out = {};
	for (const [k, [kind, sub]] of Object.entries(SCHEMA[t])) {
		const v = o[k] ?? o[snake(k)];
		switch (kind) {
		case 'str': out[k] = v ?? ''; break;
		case 'strs': out[k] = v ?? []; break;
		case 'u32': case 'enum': out[k] = Number(v ?? 0); break;
		case 'u64': out[k] = BigInt.asUintN(64, BigInt(v ?? 0)).toString(); break;
		case 'id16': case 'id8': case 'id8opt': out[k] = (v ?? '').toLowerCase(); break;
		case 'attrs': out[k] = canonAttrs(v); break;
		case 'rep': out[k] = (v ?? []).map((x) => canon(x, sub)); break;
		case 'msg': out[k] = canon(v, sub); break;
		default: throw new Error(kind);
		}
	}
	return out;
}
function snake(k) { return k.replace(/[A-Z]/g, (c) => `_${c.toLowerCase()}`); }

export function canonAttrs(list) {
	return (list ?? []).map((kv) => ({ key: kv.key ?? '', value: canonAny(kv.value) }));
}

export function canonAny(v) {
	if (v == null) return {};
	const ks = Object.keys(v).map((k) => k.replace(/_([a-z])/g, (_, c) => c.toUpperCase()));
	const k = ks.find((x) => ANY_KEYS.includes(x));
	if (!k) return {};
	const x = v[k] ?? v[snake(k)];
	switch (k) {
	case 'stringValue': return { stringValue: x };
	case 'boolValue': return { boolValue: x };
	case 'intValue': return { intValue: BigInt.asIntN(64, BigInt(x)).toString() };
	case 'doubleValue': return { doubleValue: typeof x === 'string' ? Number(x) : Number(x) };
	case 'bytesValue': return { bytesValue: Buffer.from(x, 'base64').toString('base64') };
	case 'arrayValue': return { arrayValue: { values: (x?.values ?? []).map(canonAny) } };
	case 'kvlistValue': return { kvlistValue: { values: canonAttrs(x?.values) } };
	}
	return {};
}

// Flatten canonical TracesData into Map("traceId/spanId" -> {resource, scope, span}),
// the form in which two answers compare regardless of how spans are grouped.
export function spanMap(tracesData, { allowDuplicates = false } = {}) {
	const td = canon(tracesData, 'TracesData');
	const m = new Map();
	for (const rs of td.resourceSpans) {
		const resource = { ...rs.resource, schemaUrl: rs.schemaUrl };
		for (const ss of rs.scopeSpans) {
			const scope = { ...ss.scope, schemaUrl: ss.schemaUrl };
			for (const span of ss.spans) {
				const key = `${span.traceId}/${span.spanId}`;
				if (m.has(key) && !allowDuplicates) throw new Error(`span ${key} appears twice`);
				m.set(key, { resource, scope, span });
			}
		}
	}
	return m;
}

export function sortedEntries(m) {
	return [...m.entries()].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
}

// Merge several span maps (e.g. the requests that made up one trace).
export function mergeMaps(...maps) {
	const m = new Map();
	for (const x of maps) for (const [k, v] of x) m.set(k, v);
	return m;
}

// Keep only the spans of one trace.
export function onlyTrace(m, traceId) {
	const t = traceId.toLowerCase();
	return new Map([...m].filter(([k]) => k.startsWith(`${t}/`)));
}

// --- protobuf <-> OTLP/JSON ----------------------------------------------------------

const ID_FIELDS = new Set(['traceId', 'spanId', 'parentSpanId']);

// Decode TracesData / ExportTraceServiceRequest bytes into an OTLP/JSON object.
export function decodeTraces(buf) {
	const msg = TracesData.decode(buf);
	const o = TracesData.toObject(msg, { longs: String, enums: Number, bytes: String, defaults: false, oneofs: false });
	return idsToHex(o);
}
function idsToHex(o) {
	if (Array.isArray(o)) return o.map(idsToHex);
	if (o === null || typeof o !== 'object') return o;
	const r = {};
	for (const [k, v] of Object.entries(o)) {
		if (ID_FIELDS.has(k) && typeof v === 'string') r[k] = Buffer.from(v, 'base64').toString('hex');
		else r[k] = idsToHex(v);
	}
	return r;
}

// Encode an OTLP/JSON object as ExportTraceServiceRequest protobuf bytes.
export function encodeTraces(json) {
	return Buffer.from(TracesData.encode(TracesData.fromObject(hexToB64Ids(json))).finish());
}
// Encode one OTLP message (e.g. 'opentelemetry.proto.trace.v1.Span') given as OTLP/JSON.
export function encodeMessage(typeName, json) {
	const T = root.lookupType(typeName);
	return Buffer.from(T.encode(T.fromObject(hexToB64Ids(json))).finish());
}

// Protobuf wire helpers for building messages by hand.
export function varint(n) {
	let v = BigInt(n);
	const b = [];
	while (v > 127n) { b.push(Number(v & 127n) | 128); v >>= 7n; }
	b.push(Number(v));
	return Buffer.from(b);
}
export function lenField(field, payload) {
	return Buffer.concat([varint((field << 3) | 2), varint(payload.length), payload]);
}

function hexToB64Ids(o) {
	if (Array.isArray(o)) return o.map(hexToB64Ids);
	if (o === null || typeof o !== 'object') return o;
	const r = {};
	for (const [k, v] of Object.entries(o)) {
		if (ID_FIELDS.has(k) && typeof v === 'string') r[k] = Buffer.from(v, 'hex').toString('base64');
		else if (typeof v === 'bigint') r[k] = v.toString();
		else r[k] = hexToB64Ids(v);
	}
	return r;
}

export function decodeStatus(buf) {
	return RpcStatus.toObject(RpcStatus.decode(buf), { defaults: true });
}

// --- diffs ---------------------------------------------------------------------------------

// A short readable description of where two values first differ.
export function firstDiff(a, b, path = '') {
	if (a === b) return null;
	if (typeof a !== typeof b || a === null || b === null || typeof a !== 'object')
		return `${path || '.'}: ${brief(a)} != ${brief(b)}`;
	if (Array.isArray(a) !== Array.isArray(b)) return `${path}: array vs object`;
	if (Array.isArray(a)) {
		if (a.length !== b.length) return `${path}: length ${a.length} != ${b.length} (${brief(a)} vs ${brief(b)})`;
		for (let i = 0; i < a.length; i++) {
			const d = firstDiff(a[i], b[i], `${path}[${i}]`);
			if (d) return d;
		}
		return null;
	}
	const ks = new Set([...Object.keys(a), ...Object.keys(b)]);
	for (const k of ks) {
		const d = firstDiff(a[k], b[k], `${path}.${k}`);
		if (d) return d;
	}
	if (!Object.is(a, b) && typeof a !== 'object') return `${path}: ${brief(a)} != ${brief(b)}`;
	return null;
}
function brief(x) {
	let s;
	try { s = stringifyJson(x); } catch { s = String(x); }
	if (s === undefined) s = String(x);
	return s.length > 160 ? `${s.slice(0, 150)}...(${s.length} chars)` : s;
}

// Compare what was sent (span map) with what came back; returns a list of
// human-readable differences (empty if equal).
export function diffSpanMaps(sent, got) {
	const out = [];
	for (const [k, v] of sent) {
		if (!got.has(k)) { out.push(`span ${k} (${v.span.name}) missing`); continue; }
		const d = firstDiff(v, got.get(k), `span ${k} (${v.span.name})`);
		if (d) out.push(d);
	}
	for (const k of got.keys()) if (!sent.has(k)) out.push(`span ${k} came back but was not sent`);
	return out;
}
