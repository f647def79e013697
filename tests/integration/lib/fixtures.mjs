// fixtures.mjs - hand-built OTLP requests with what the SDK cannot express.

import { traceId, spanId } from './traces.mjs';

export const INT64_MIN = '-9223372036854775808';
export const INT64_MAX = '9223372036854775807';

// 65536 characters mixing 1-, 2-, 3- and 4-byte UTF-8 sequences.
export function bigString() {
	const unit = 'abcdefgh-é-✓-😀-\t\n"\\/';
	let s = '';
	while (s.length < 65536) s += unit;
	s = s.slice(0, 65536);
	// do not end inside a surrogate pair
	if (/[\ud800-\udbff]$/.test(s)) s = `${s.slice(0, -1)}z`;
	return s;
}

const b64 = (bytes) => Buffer.from(bytes).toString('base64');

// Every kind of AnyValue, including the awkward ones.
export function edgeAttributes({ nul = false } = {}) {
	const kv = (key, value) => (value === undefined ? { key } : { key, value });
	return [
		kv('str', { stringValue: 'plain' }),
		kv('str.empty', { stringValue: '' }),
		...(nul ? [kv('str.nul', { stringValue: 'before\u0000after\u0000' })] : []),
		kv('str.64k', { stringValue: bigString() }),
		kv('str.controls', { stringValue: '\u0001\u001f\u007f\u2028\u2029\ufeff' }),
		kv('key with spaces/ünïcode ✓', { stringValue: 'k' }),
		kv('bool.true', { boolValue: true }),
		kv('bool.false', { boolValue: false }),
		kv('int.zero', { intValue: '0' }),
		kv('int.min', { intValue: INT64_MIN }),
		kv('int.max', { intValue: INT64_MAX }),
		kv('int.minus1', { intValue: '-1' }),
		kv('int.2p53plus1', { intValue: '9007199254740993' }),
		kv('double.zero', { doubleValue: 0 }),
		kv('double.1e300', { doubleValue: 1e300 }),
		kv('double.0.1', { doubleValue: 0.1 }),
		kv('double.neg', { doubleValue: -2.5e-300 }),
		kv('double.max', { doubleValue: 1.7976931348623157e308 }),
		kv('double.denorm', { doubleValue: 5e-324 }),
		kv('double.third', { doubleValue: 1 / 3 }),
		kv('double.integral', { doubleValue: 3 }),
		kv('bytes', { bytesValue: b64([0, 1, 2, 0x7f, 0x80, 0xfe, 0xff]) }),
		kv('bytes.empty', { bytesValue: '' }),
		kv('bytes.binary', { bytesValue: b64(Buffer.from('\u0000\u0000PK\u0003\u0004', 'latin1')) }),
		kv('empty.value', {}),
		kv('no.value', undefined),
		kv('array.empty', { arrayValue: {} }),
		kv('array.empty.values', { arrayValue: { values: [] } }),
		kv('kvlist.empty', { kvlistValue: {} }),
		kv('array.mixed', {
			arrayValue: {
				values: [
					{ stringValue: 'a' }, { intValue: '1' }, { doubleValue: 0.1 }, { boolValue: false },
					{ bytesValue: b64([9, 8, 7]) }, {}, { stringValue: '' },
					{ arrayValue: { values: [{ arrayValue: { values: [{ intValue: INT64_MIN }] } }, { arrayValue: {} }] } },
					{ kvlistValue: { values: [{ key: 'in', value: { stringValue: 'side' } }] } },
				],
			},
		}),
		kv('kvlist.nested', {
			kvlistValue: {
				values: [
					kv('a', { stringValue: 'x' }),
					kv('b', { kvlistValue: { values: [kv('c', { kvlistValue: { values: [kv('d', { intValue: INT64_MAX })] } })] } }),
					kv('list', { arrayValue: { values: [{ kvlistValue: {} }, { arrayValue: {} }] } }),
					kv('nothing', {}),
				],
			},
		}),
		kv('deep.10', nested(10)),
	];
}

// An AnyValue nested `depth` levels deep (alternating arrays and kvlists).
export function nested(depth) {
	let v = { stringValue: 'bottom' };
	for (let i = 0; i < depth; i++)
		v = i % 2 ? { kvlistValue: { values: [{ key: `l${i}`, value: v }] } } : { arrayValue: { values: [v] } };
	return v;
}

// An ExportTraceServiceRequest (as OTLP/JSON) with everything in it:
// two resources (one with dropped attributes and no entity refs, one with an
// empty attribute list), scopes with attributes and schema URLs, every span
// kind including UNSPECIFIED, every status, flags on spans and links, trace
// state, dropped counts, events with attributes, links with attributes.
//
// U+0000 is in it only with {nul: true}: obstui's handling of U+0000 has its
// own test, so that the other tests using this request test their own thing.
export function edgeRequest({ tid = traceId(), serviceA = 'edge-a', serviceB = 'edge-b', nul = false } = {}) {
	const z = nul ? '\u0000' : '';
	const base = BigInt(Date.now() - 60000) * 1000000n + 123456789n;
	const t = (ms, ns = 0n) => (base + BigInt(ms) * 1000000n + ns).toString();
	const ids = Array.from({ length: 8 }, () => spanId());
	const otherTrace = traceId();
	const span = (i, o) => ({
		traceId: tid, spanId: ids[i], ...o,
	});
	return {
		tid,
		ids,
		req: {
			resourceSpans: [
				{
					resource: {
						attributes: [
							{ key: 'service.name', value: { stringValue: serviceA } },
							{ key: 'service.instance.id', value: { stringValue: 'i-0' } },
							{ key: 'res.bytes', value: { bytesValue: b64([1, 2, 3]) } },
							{ key: 'res.kv', value: { kvlistValue: { values: [{ key: 'k', value: { intValue: '-5' } }] } } },
						],
						droppedAttributesCount: 7,
					},
					schemaUrl: 'https://opentelemetry.io/schemas/1.21.0',
					scopeSpans: [
						{
							scope: {
								name: 'edge.scope.one', version: '0.0.1-rc.1+build.5',
								attributes: [
									{ key: 'scope.attr', value: { stringValue: 'v' } },
									{ key: 'scope.int', value: { intValue: INT64_MIN } },
								],
								droppedAttributesCount: 2,
							},
							schemaUrl: 'https://opentelemetry.io/schemas/1.20.0',
							spans: [
								span(0, {
									traceState: 'rojo=00f067aa0ba902b7,congo=t61rcWkgMzE',
									parentSpanId: '', flags: 0x301, name: 'root edge', kind: 2,
									startTimeUnixNano: t(0), endTimeUnixNano: t(1000, 1n),
									attributes: edgeAttributes({ nul }), droppedAttributesCount: 3,
									events: [
										{ timeUnixNano: t(10, 5n), name: 'ev.one', attributes: [{ key: 'e', value: { intValue: INT64_MAX } }], droppedAttributesCount: 1 },
										{ timeUnixNano: t(11), name: '' },
										{ timeUnixNano: t(12), name: `ev.nul${z}`, attributes: [{ key: 'blob', value: { bytesValue: b64([0, 0, 0]) } }] },
									],
									droppedEventsCount: 4,
									links: [
										{
											traceId: otherTrace, spanId: spanId(), traceState: 'a=1', flags: 0x101,
											attributes: [{ key: 'link.attr', value: { arrayValue: { values: [{ doubleValue: 1e300 }] } } }],
											droppedAttributesCount: 9,
										},
										{ traceId: tid, spanId: ids[3], flags: 0x300 },
										{ traceId: otherTrace, spanId: spanId() },
									],
									droppedLinksCount: 5,
									status: { code: 1 },
								}),
								span(1, {
									parentSpanId: ids[0], flags: 1, name: 'client edge', kind: 3,
									startTimeUnixNano: t(5), endTimeUnixNano: t(400),
									status: { code: 2, message: `error: ${z} nul and ✓ unicode` },
								}),
								span(2, {
									parentSpanId: ids[0], name: 'unspecified kind, unset status with message', kind: 0,
									startTimeUnixNano: t(6), endTimeUnixNano: t(6),
									status: { code: 0, message: 'message without code' },
								}),
							],
						},
						{
							scope: { name: '', version: '' },
							spans: [
								span(3, {
									parentSpanId: ids[1], name: 'internal, no scope name', kind: 1, flags: 0,
									startTimeUnixNano: t(7), endTimeUnixNano: t(8),
									attributes: [{ key: 'deep', value: nested(24) }],
								}),
							],
						},
					],
				},
				{
					resource: {
						attributes: [{ key: 'service.name', value: { stringValue: serviceB } }],
					},
					scopeSpans: [
						{
							scope: { name: 'edge.scope.two', attributes: [{ key: 'x', value: { boolValue: false } }] },
							spans: [
								span(4, { parentSpanId: ids[1], name: 'server in b', kind: 2, startTimeUnixNano: t(20), endTimeUnixNano: t(300), status: { code: 2 } }),
								span(5, { parentSpanId: ids[4], name: 'producer in b', kind: 4, startTimeUnixNano: t(30), endTimeUnixNano: t(31) }),
								span(6, { parentSpanId: ids[5], name: 'consumer in b', kind: 5, startTimeUnixNano: t(40), endTimeUnixNano: t(900) }),
								span(7, { parentSpanId: ids[6], name: '', kind: 1, startTimeUnixNano: t(41), endTimeUnixNano: t(42) }),
							],
						},
					],
				},
			],
		},
	};
}
