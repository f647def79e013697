/*
 * zipkin_http.c - the Zipkin receiver: POST /api/v2/spans (see zipkin.h).
 *
 * Each request runs on its connection's thread: check the media type,
 * undo gzip (capped like OTLP), map the spans to an OTLP request
 * (zipkin_to_otlp), then the shared ingest path, which returns once the
 * store committed.  Answers are what a Zipkin server gives: 202 and an
 * empty body on success, a plain-text message otherwise.
 */
#include "codec/zipkin.h"
#include "ingest/zipkin_http.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "core/log.h"
#include "core/mem.h"
#include "codec/decompress.h"
#include "net/http_server.h"
#include "ingest/receiver.h"

static void
reject(struct receiver *z, struct http_response *resp, enum ob_err err, size_t len,
       int status, const char *msg)
{
	ingest_count(z->stats, err, 0, len);
	http_reply(resp, status, "text/plain; charset=utf-8", "%s\n", msg);
}

static void
handle_spans(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct receiver *z = ctx;
	const char *ct = http_header(req, "Content-Type");
	const char *ce = http_header(req, "Content-Encoding");
	const unsigned char *body;
	size_t len, nspans = 0;
	struct ob_buf plain, wire;
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	body = http_body(req, &len);
	/* as a Zipkin server does: Thrift and protobuf by their type, anything else is JSON */
	if (http_media_is(ct, "application/x-thrift") || http_media_is(ct, "application/x-protobuf") ||
	    http_media_is(ct, "application/protobuf")) {
		reject(z, resp, OB_EUNSUPPORTED, len, 415,
		       "unsupported Content-Type; obstui reads Zipkin v2 JSON (application/json),"
		       " not Thrift or protobuf");
		return;
	}
	if (ce && *ce && strcasecmp(ce, "gzip") != 0 && strcasecmp(ce, "identity") != 0) {
		reject(z, resp, OB_EUNSUPPORTED, len, 415,
		       "unsupported Content-Encoding; send gzip or none");
		return;
	}
	ob_buf_init(&plain, 0);
	ob_buf_init(&wire, z->lim.max_decoded);
	if (ce && strcasecmp(ce, "gzip") == 0) {
		if ((err = ob_gunzip(body, len, z->lim.max_decoded, &plain, errbuf)))
			goto out;
		body = plain.data ? plain.data : (const unsigned char *)"";
		len = plain.len;
	}
	if ((err = zipkin_to_otlp((const char *)body, len, &wire, errbuf)))
		goto out;
	err = ingest_traces(z->store, wire.data ? wire.data : (const uint8_t *)"", wire.len,
			    INGEST_PROTOBUF, z->lim.max_decoded, &nspans, errbuf);
out:
	ingest_count(z->stats, err, nspans, len);
	ob_buf_release(&plain);
	ob_buf_release(&wire);
	switch (err) {
	case OB_OK:
		resp->status = 202;
		resp->content_type = "text/plain; charset=utf-8";
		break;
	case OB_EINVAL:
		http_reply(resp, 400, "text/plain; charset=utf-8", "%s\n", errbuf);
		break;
	case OB_ETOOBIG:
		http_reply(resp, 413, "text/plain; charset=utf-8", "%s\n", errbuf);
		break;
	case OB_EBUSY:
	case OB_ESHUTDOWN:
	case OB_ENOSPC:
		http_reply(resp, 503, "text/plain; charset=utf-8", "%s\n", errbuf);
		http_response_header(resp, "Retry-After", ingest_retry_after(err));
		break;
	default:
		ob_error("zipkin: %s", errbuf);
		http_reply(resp, 500, "text/plain; charset=utf-8", "%s\n", errbuf);
	}
}

static void
handle_v1(void *ctx, struct http_request *req, struct http_response *resp)
{
	size_t len;

	http_body(req, &len);
	reject(ctx, resp, OB_EUNSUPPORTED, len, 415,
	       "obstui accepts only Zipkin v2 JSON: POST it to /api/v2/spans (Zipkin v1 is not"
	       " supported)");
}

static const struct http_route routes[] = {
	{ "POST", "/api/v2/spans", false, handle_spans, NULL },
	{ "POST", "/api/v1/spans", false, handle_v1, NULL },
};

enum ob_err
zipkin_http_start(struct store *s, const char *addr, const struct ingest_limits *lim,
		  struct net_guard *guard, struct ingest_stats *stats, struct receiver **out,
		  char bound[64], char *errbuf)
{
	return receiver_start(routes, sizeof routes / sizeof routes[0], s, NULL, addr, lim, guard,
			      "zipkin", stats, out, bound, errbuf);
}
