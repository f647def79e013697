// --attach: a `serve --push` on one store feeds a blob container (a real
// Azurite), and a UI attached to that container on another store shows the
// new traces within a few seconds, as a developer's laptop following a
// cluster would.  The Remotes view says how the sync is going; with the
// storage gone, the UI keeps what it pulled and says it is offline.

import { test } from 'node:test';
import assert from 'node:assert/strict';
import { startServe, post, tempDir } from '../integration/lib/obstui.mjs';
import { stringifyJson } from '../integration/lib/otlp.mjs';
import { startAzurite } from '../integration/lib/azurite.mjs';
import { hasTmux, startUi } from './lib/tmux.mjs';
import { traceSet } from './lib/traces.mjs';

const skip = hasTmux() ? false : 'tmux is not installed';

test('an attached UI shows what a serve --push sends, and says when it is offline', { skip, timeout: 90000 }, async (t) => {
	const az = await startAzurite();
	t.after(() => az.stop());
	const url = az.containerUrl('cluster', 'prod');
	const env = { AZURE_STORAGE_KEY: az.key };
	const srv = await startServe({
		store: tempDir(), env,
		args: ['--seal-idle', '1s', '--push', url, '--push-interval', '1s'],
	});
	t.after(() => srv.stop());

	const ui = await startUi({ t, env, args: ['--attach', url] });
	await ui.waitText(/No traces yet/, { timeout: 15000 });
	// the status line names the remote followed
	await ui.waitText(/pull http:\/\/127\.0\.0\.1:\d+\/devstoreaccount1\/cluster\/prod: /, { timeout: 15000 });

	const r = await post(`${srv.otlp}/v1/traces`, Buffer.from(stringifyJson(traceSet())),
		{ 'content-type': 'application/json' }, { timeout: 10000 });
	assert.equal(r.status, 200);
	const sent = Date.now();
	// sealed after 1 s, pushed at once, pulled by the next 5 s cycle
	await ui.waitText(/ 5 traces {2}sorted by time/, { timeout: 20000 });
	const took = Date.now() - sent;
	assert.ok(took < 15000, `the traces took ${took} ms to reach the attached UI`);
	assert.match(ui.capture(), /GET \/checkout/);

	await ui.keys(':');
	await ui.type('remotes');
	await ui.keys('Enter');
	await ui.waitText(/ obstui Remotes {2}1 remote/);
	const screen = await ui.waitText(/pulled {7}\d+ blocks?, /);
	assert.match(screen, /pull {2}(up to date|pulling \d+\/\d+ blocks)/);
	assert.match(screen, /credentials {2}shared key \(AZURE_STORAGE_KEY, account devstoreaccount1\)/);
	assert.match(screen, /failed 0/);
	assert.doesNotMatch(screen, new RegExp(az.key.slice(0, 12).replace(/[+/]/g, '.')), 'no key on screen');

	// the storage goes away: what was pulled stays, and the UI says so
	await az.stop();
	await ui.waitText(/pull {2}offline: showing what was pulled before/, { timeout: 20000 });
	await ui.keys('Escape');
	const list = await ui.waitText(/ 5 traces {2}sorted by time/);
	assert.match(list, /pull http:\S+: offline/);
	await ui.keys('q');
	assert.equal(await ui.waitExit(), 0);
});
