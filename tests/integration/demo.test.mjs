// obstui demo: the built-in shop sends over real OTLP/HTTP to obstui's own
// receiver, and what arrives is a living system: every service, errors with
// their exceptions, client/server pairs across services, a Kafka message
// consumed in the same trace and in a linked one.  Then a clean SIGTERM;
// the usage errors; and the move to a free port when 4318 is taken.
//
// --seed 21 makes the traffic known: its first two user requests are a
// checkout (all seven services) and a failure (tests/unit/test_demo.c,
// integration_seed, checks that this stays true).

import { test } from 'node:test';
import assert from 'node:assert/strict';
import net from 'node:net';
import { startServe, getJson, waitFor, cli, describeCli, tempDir } from './lib/obstui.mjs';
import { fetchV2 } from './lib/traces.mjs';

const SERVICES = ['frontend', 'catalog', 'cart', 'checkout', 'payment', 'shipping', 'email'];
const KIND = { INTERNAL: 1, SERVER: 2, CLIENT: 3, PRODUCER: 4, CONSUMER: 5 };
const ERROR = 2;

const str = (attrs, key) => attrs.find((a) => a.key === key)?.value.stringValue;

async function search(srv, q) {
	const j = await getJson(`${srv.api}/api/search?q=${encodeURIComponent(q)}&limit=20`);
	return j.traces ?? [];
}

// A trace from the API as a list of {id, parent, service, span}.
async function trace(srv, id) {
	const m = await fetchV2(srv, id);
	return [...m.values()].map(({ resource, span }) => ({
		id: span.spanId, parent: span.parentSpanId, service: str(resource.attributes, 'service.name'), span,
	}));
}

// Every parent present, one root, and each gRPC CLIENT span answered by
// exactly one SERVER span of the service it names.
function assertTree(spans, what) {
	const byId = new Map(spans.map((s) => [s.id, s]));
	assert.equal(spans.filter((s) => s.parent === '').length, 1, `${what}: one root`);
	for (const s of spans)
		if (s.parent !== '') assert.ok(byId.has(s.parent), `${what}: ${s.span.name} has no parent in the trace`);
	let pairs = 0;
	for (const c of spans) {
		if (c.span.kind !== KIND.CLIENT || str(c.span.attributes, 'rpc.system') !== 'grpc') continue;
		const kids = spans.filter((s) => s.parent === c.id);
		assert.equal(kids.length, 1, `${what}: ${c.service} ${c.span.name} has ${kids.length} children`);
		assert.equal(kids[0].span.kind, KIND.SERVER, `${what}: the child of ${c.span.name} is not a SERVER span`);
		assert.equal(kids[0].service, str(c.span.attributes, 'server.address'));
		assert.notEqual(kids[0].service, c.service);
		pairs++;
	}
	return pairs;
}

test('obstui demo: a living shop arrives through the real OTLP/HTTP receiver', async () => {
	const srv = await startServe({ command: 'demo', args: ['--headless', '--rate', '20', '--seed', '21'] });
	const addr = srv.listeners['otlp-http'];
	await waitFor('the demo line on stderr', () => srv.stderr().includes(
		`demo: sending about 20 traces/s from 7 services to ${addr}\n`), { timeout: 5000 });
	assert.doesNotMatch(srv.stderr(), /terminal UI is not built/, '--headless says nothing about the UI');

	// every service and an error, through TraceQL
	const found = {};
	await waitFor('traces of every shop service and an error', async () => {
		for (const s of SERVICES)
			found[s] ??= (await search(srv, `{ resource.service.name = "${s}" }`))[0];
		found.error ??= (await search(srv, '{ status = error }'))[0];
		return SERVICES.every((s) => found[s]) && found.error;
	}, { timeout: 15000, interval: 250 });

	// a paid order: client/server pairs across five services, and its message
	// read by shipping in the same trace
	const checkout = await trace(srv, found.shipping.traceID);
	const pairs = assertTree(checkout, 'checkout trace');
	assert.ok(pairs >= 5, `checkout trace: ${pairs} client/server pairs`);
	const root = checkout.find((s) => s.parent === '');
	assert.equal(root.service, 'frontend');
	assert.equal(root.span.name, 'POST /checkout');
	assert.equal(root.span.kind, KIND.SERVER);
	for (const s of ['frontend', 'checkout', 'cart', 'catalog', 'payment'])
		assert.ok(checkout.some((x) => x.service === s), `checkout trace: no ${s} span`);
	const producer = checkout.find((s) => s.span.kind === KIND.PRODUCER);
	assert.equal(producer.service, 'checkout');
	assert.equal(str(producer.span.attributes, 'messaging.destination.name'), 'orders');
	const shipping = checkout.find((s) => s.span.kind === KIND.CONSUMER);
	assert.equal(shipping.service, 'shipping');
	assert.equal(shipping.parent, producer.id);
	assert.deepEqual(shipping.span.links.map((l) => l.spanId), [producer.id]);

	// email reads orders in a trace of its own, linked to a producer span
	const email = await trace(srv, found.email.traceID);
	assertTree(email, 'email trace');
	const consumer = email.find((s) => s.parent === '');
	assert.equal(consumer.span.kind, KIND.CONSUMER);
	assert.equal(consumer.span.links.length, 1);
	const link = consumer.span.links[0];
	const linked = (await trace(srv, link.traceId)).find((s) => s.id === link.spanId);
	assert.ok(linked, 'the span the email consumer links to is stored');
	assert.equal(linked.span.kind, KIND.PRODUCER);

	// the failure: errors climb to the root; where it began, an exception
	const failed = await trace(srv, found.error.traceID);
	assertTree(failed, 'failed trace');
	const errors = failed.filter((s) => s.span.status.code === ERROR);
	assert.ok(errors.length >= 2, 'an error and its caller');
	const thrown = errors.filter((s) => s.span.events.some((e) => e.name === 'exception'));
	assert.equal(thrown.length, 1, 'one span holds the exception');
	const ev = thrown[0].span.events[0];
	for (const k of ['exception.type', 'exception.message', 'exception.stacktrace'])
		assert.ok(str(ev.attributes, k), `the exception event has ${k}`);

	// resources as an SDK reports them
	const res = (await fetchV2(srv, found.payment.traceID)).values().next().value.resource.attributes;
	assert.equal(str(res, 'service.namespace'), 'shop');
	assert.equal(str(res, 'deployment.environment'), 'demo');
	assert.equal(str(res, 'telemetry.sdk.name'), 'opentelemetry');

	const { code, signal } = await srv.stop('SIGTERM');
	assert.equal(code, 0, `exit ${code} (${signal}); stderr:\n${srv.stderr().slice(-2000)}`);
	const m = /demo: sent (\d+) traces \((\d+) spans\); (\d+) requests failed/.exec(srv.stderr());
	assert.ok(m, `no summary line:\n${srv.stderr().slice(-2000)}`);
	assert.ok(Number(m[1]) >= 2 && Number(m[2]) > Number(m[1]) * 5, m[0]);
	assert.equal(m[3], '0', m[0]);
});

test('obstui demo without --headless and without a terminal says so on stderr and exits 1', () => {
	const argv = ['demo', '--store', tempDir(), '--otlp-http', '127.0.0.1:0', '--api', 'off',
		'--otlp-grpc', 'off', '--zipkin', 'off'];
	const r = cli(argv, { timeout: 10000 });
	assert.equal(r.code, 1, describeCli(argv, r));
	assert.match(r.stderr, /^obstui: the UI needs a terminal .*--headless/m, describeCli(argv, r));
});

test('obstui demo: usage errors exit 2', () => {
	const store = tempDir();
	for (const [args, msg] of [
		[['--rate', '0'], /--rate: want a number of traces per second above 0/],
		[['--rate', 'fast'], /--rate/],
		[['--rate', '20000'], /at most 10000/],
		[['--seed', '-1'], /--seed: want a whole number/],
		[['--otlp-http', 'off'], /--otlp-http cannot be off/],
		[['extra'], /unexpected argument 'extra'/],
	]) {
		const argv = ['demo', '--headless', '--store', store, ...args];
		const r = cli(argv, { timeout: 10000 });
		assert.equal(r.code, 2, describeCli(argv, r));
		assert.match(r.stderr, msg, describeCli(argv, r));
	}
});

// Hold 127.0.0.1:4318 if we can; if another program holds it, so much the better.
function hold4318() {
	return new Promise((res) => {
		const s = net.createServer();
		s.once('error', () => res(null));
		s.listen(4318, '127.0.0.1', () => res(s));
	});
}

test('obstui demo: with 4318 taken it moves to a free port, unless --otlp-http asked for it', async () => {
	const holder = await hold4318();
	try {
		const quiet = ['--api', '127.0.0.1:0', '--otlp-grpc', 'off', '--zipkin', 'off'];
		const srv = await startServe({ command: 'demo', listeners: quiet, args: ['--headless', '--rate', '20'] });
		assert.notEqual(srv.listeners['otlp-http'], '127.0.0.1:4318');
		assert.doesNotMatch(srv.stderr(), /warn/, 'one line says it, not two');
		assert.match(srv.stderr(), /^obstui: demo: 127\.0\.0\.1:4318 is in use, so OTLP\/HTTP listens on 127\.0\.0\.1:\d+ instead$/m);
		await waitFor('a trace through the moved receiver', async () =>
			(await search(srv, '{ resource.service.name = "frontend" }')).length > 0);
		assert.equal((await srv.stop()).code, 0);

		const argv = ['demo', '--headless', '--store', tempDir(), '--otlp-http', '127.0.0.1:4318', ...quiet];
		const r = cli(argv, { timeout: 15000 });
		assert.equal(r.code, 1, describeCli(argv, r));
		assert.match(r.stderr, /^obstui: otlp-http: .*4318/m, describeCli(argv, r));
	} finally {
		holder?.close();
	}
});
