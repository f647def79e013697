// SIGTERM and SIGHUP while the UI is open (a service manager stopping it,
// the terminal window closed): the UI closes as on 'q', giving the terminal
// back, exit status 0, and the receivers and the store stop as they do
// then, so every trace acknowledged before the signal is in the store
// afterwards, for `obstui trace` and `obstui search` on the same store.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { cli, describeCli } from '../integration/lib/obstui.mjs';
import { hasTmux, startUi } from './lib/tmux.mjs';
import { send, openTrace, assertRestored } from './lib/ui.mjs';
import { traceSet, TID } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';

// The store after obstui ended: the traces the receiver acknowledged.
function assertStored(ui, how) {
	const trace = ['trace', TID.CHECKOUT, '--store', ui.store];
	let r = cli(trace);
	assert.equal(r.code, 0, `${how}: ${describeCli(trace, r)}`);
	assert.match(r.stdout, /GET \/checkout/, describeCli(trace, r));
	assert.match(r.stdout, /bank\.authorize/, describeCli(trace, r));
	const search = ['search', '{ }', '--json', '--store', ui.store];
	r = cli(search);
	assert.equal(r.code, 0, `${how}: ${describeCli(search, r)}`);
	const ids = JSON.parse(r.stdout).traces.map((x) => x.traceID).sort();
	assert.deepEqual(ids, Object.entries(TID).filter(([k]) => k !== 'LATE').map(([, v]) => v).sort(),
		`${how}: every trace sent is in the store`);
}

for (const sig of ['SIGTERM', 'SIGHUP']) {
	test(`${sig} while a trace is open: the terminal restored, exit status 0, the traces kept`, { skip }, async (t) => {
		// not sealed yet (--seal-idle is 10 s): the traces are in the head
		const ui = await startUi({ t });
		await ui.waitText(/No traces yet/, { timeout: 10000 });
		await send(ui, traceSet());
		await ui.waitText(/ 5 traces {2}sorted by time/);
		await openTrace(ui, 'GET /checkout');
		await ui.keys('?');                          // the help open too
		await ui.waitText(/Keys {2}\(Esc/);
		ui.signal(sig);
		await assertRestored(ui, sig);
		assert.match(ui.log(), new RegExp(`${sig}: the UI closed; stopping`));
		assertStored(ui, sig);
	});
}

test('SIGTERM with the command line open: the same clean exit', { skip }, async (t) => {
	const ui = await startUi({ t });
	await ui.waitText(/No traces yet/, { timeout: 10000 });
	await send(ui, traceSet());
	await ui.waitText(/ 5 traces {2}sorted by time/);
	await ui.keys(':');
	await ui.type('range 10:');
	await ui.waitText(/^:range 10:$/m);
	ui.signal('SIGTERM');
	await assertRestored(ui, 'SIGTERM in command mode');
	assertStored(ui, 'SIGTERM in command mode');
});
