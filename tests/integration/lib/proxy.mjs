// proxy.mjs - a recording HTTP proxy on 127.0.0.1 in front of obstui's OTLP port.
//
// An exporter pointed at the proxy sends exactly what it would send to obstui;
// the proxy keeps each request (method, path, headers, raw body, and the body
// after Content-Encoding is undone) and obstui's answer, then relays the answer.

import http from 'node:http';
import { gunzipSync } from 'node:zlib';

export async function startRecordingProxy(target) {
	const t = new URL(target);
	const records = [];
	const server = http.createServer((req, res) => {
		const chunks = [];
		req.on('data', (c) => chunks.push(c));
		req.on('end', () => {
			const body = Buffer.concat(chunks);
			const rec = { method: req.method, path: req.url, headers: req.headers, body };
			rec.plain = /gzip/i.test(req.headers['content-encoding'] ?? '') ? gunzipSync(body) : body;
			records.push(rec);
			const headers = { ...req.headers, host: t.host, 'content-length': body.length };
			delete headers['transfer-encoding'];
			delete headers.connection;
			const up = http.request({ host: t.hostname, port: t.port, path: req.url, method: req.method, headers, agent: false }, (r) => {
				const rc = [];
				r.on('data', (c) => rc.push(c));
				r.on('end', () => {
					rec.status = r.statusCode;
					rec.responseHeaders = r.headers;
					rec.response = Buffer.concat(rc);
					const h = { ...r.headers };
					delete h['transfer-encoding'];
					h['content-length'] = rec.response.length;
					res.writeHead(r.statusCode, h);
					res.end(rec.response);
				});
			});
			up.on('error', (e) => {
				rec.status = 502;
				rec.error = e.message;
				res.writeHead(502, { 'content-type': 'text/plain' });
				res.end(`proxy: ${e.message}`);
			});
			up.end(body);
		});
	});
	await new Promise((r) => server.listen(0, '127.0.0.1', r));
	const { port } = server.address();
	return {
		url: `http://127.0.0.1:${port}`,
		records,
		close: () => new Promise((r) => { server.closeAllConnections?.(); server.close(() => r()); }),
	};
}
