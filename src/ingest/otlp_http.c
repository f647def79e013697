/*
 * otlp_http.c - OTLP/HTTP receiver (see otlp_http.h).
 *
 * Each request runs on its connection's thread: check the media type,
 * undo Content-Encoding (capped), decode, batch, submit and wait for the
 * commit, answer.  Error bodies are google.rpc.Status, protobuf or JSON to
 * match the request, with a message that names the problem.
 */
#include "ingest/otlp_http.h"

#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include <jansson.h>

#include "core/log.h"
#include "core/mem.h"
#include "codec/decompress.h"
#include "net/grpc.h"   /* the status codes google.rpc.Status carries */
#include "net/http_server.h"
#include "ingest/metrics_ingest.h"
#include "ingest/receiver.h"
#include "model/otlp_metrics.h"

static void
reply_status(struct http_response *resp, bool json, int http, int code, const char *msg)
{
	resp->status = http;
	ob_buf_reset(&resp->body);
	if (json) {
		json_t *o = json_pack("{s:i, s:s}", "code", code, "message", msg);
		char *s = json_dumps(o, JSON_COMPACT);

		resp->content_type = "application/json";
		ob_buf_addstr(&resp->body, s);
		free(s);
		json_decref(o);
	} else {
		rpc_status st = GOOGLE__RPC__STATUS__INIT;
		uint8_t *dst;
		size_t n;

		st.code = code;
		st.message = (char *)msg;
		n = google__rpc__status__get_packed_size(&st);
		resp->content_type = "application/x-protobuf";
		if (ob_buf_reserve(&resp->body, n, &dst) == OB_OK) {
			google__rpc__status__pack(&st, dst);
			resp->body.len = n;
		}
	}
}

/*
 * The media type and encoding of an OTLP request: *json, and the body with
 * any gzip undone (into plain).  false when answered (415, 400, 413).
 */
static bool
otlp_body(struct receiver *h, struct http_request *req, struct http_response *resp, bool *json,
	  const unsigned char **body, size_t *len, struct ob_buf *plain)
{
	const char *ct = http_header(req, "Content-Type");
	const char *ce = http_header(req, "Content-Encoding");
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	*body = http_body(req, len);
	*json = http_media_is(ct, "application/json");
	if (!*json && !http_media_is(ct, "application/x-protobuf") &&
	    !http_media_is(ct, "application/protobuf")) {
		ingest_count(h->stats, OB_EUNSUPPORTED, 0, *len);
		reply_status(resp, false, 415, GRPC_INVALID_ARGUMENT,
			     "unsupported Content-Type; send application/x-protobuf or"
			     " application/json");
		return false;
	}
	if (ce && strcasecmp(ce, "gzip") == 0) {
		if ((err = ob_gunzip(*body, *len, h->lim.max_decoded, plain, errbuf))) {
			ingest_count(h->stats, err, 0, *len);
			reply_status(resp, *json, err == OB_ETOOBIG ? 413 : 400,
				     err == OB_ETOOBIG ? GRPC_RESOURCE_EXHAUSTED : GRPC_INVALID_ARGUMENT,
				     errbuf);
			return false;
		}
		*body = plain->data ? plain->data : (const unsigned char *)"";
		*len = plain->len;
	} else if (ce && *ce && strcasecmp(ce, "identity") != 0) {
		ingest_count(h->stats, OB_EUNSUPPORTED, 0, *len);
		reply_status(resp, *json, 415, GRPC_INVALID_ARGUMENT,
			     "unsupported Content-Encoding; send gzip or none");
		return false;
	}
	return true;
}

static void
handle_traces(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct receiver *h = ctx;
	const unsigned char *body;
	size_t len, nspans = 0;
	bool json;
	struct ob_buf plain;
	char errbuf[OB_ERRLEN];
	enum ob_err err;

	ob_buf_init(&plain, 0);
	if (!otlp_body(h, req, resp, &json, &body, &len, &plain)) {
		ob_buf_release(&plain);
		return;
	}
	err = ingest_traces(h->store, body, len, json ? INGEST_JSON : INGEST_PROTOBUF,
			    h->lim.max_decoded, &nspans, errbuf);
	if (err)
		goto fail;
	ingest_count(h->stats, OB_OK, nspans, len);
	ob_buf_release(&plain);
	resp->status = 200;
	if (json) {
		resp->content_type = "application/json";
		ob_buf_addstr(&resp->body, "{}");
	} else {
		resp->content_type = "application/x-protobuf"; /* an empty response message */
	}
	return;
fail:
	ingest_count(h->stats, err, nspans, len);
	ob_buf_release(&plain);
	switch (err) {
	case OB_EINVAL:
		reply_status(resp, json, 400, GRPC_INVALID_ARGUMENT, errbuf);
		break;
	case OB_ETOOBIG:
		reply_status(resp, json, 413, GRPC_RESOURCE_EXHAUSTED, errbuf);
		break;
	case OB_EBUSY:
	case OB_ESHUTDOWN:
	case OB_ENOSPC:
		reply_status(resp, json, 503, GRPC_UNAVAILABLE, errbuf);
		http_response_header(resp, "Retry-After", ingest_retry_after(err));
		break;
	default:
		ob_error("otlp/http: %s", errbuf);
		reply_status(resp, json, 500, GRPC_INTERNAL, errbuf);
	}
}

static void
handle_metrics(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct receiver *h = ctx;
	struct ingest_metrics_answer ans;
	const unsigned char *body;
	size_t len;
	bool json;
	struct ob_buf plain;

	if (h->metrics == NULL) {
		reply_status(resp, http_media_is(http_header(req, "Content-Type"), "application/json"),
			     503, GRPC_UNAVAILABLE, "this obstui has no metrics store open");
		return;
	}
	ob_buf_init(&plain, 0);
	if (!otlp_body(h, req, resp, &json, &body, &len, &plain)) {
		ob_buf_release(&plain);
		return;
	}
	ingest_otlp_metrics(h->metrics, body, len, json ? INGEST_JSON : INGEST_PROTOBUF, &ans);
	ob_buf_release(&plain);
	if (ans.http != 200) {
		int code = ans.http == 413 ? GRPC_RESOURCE_EXHAUSTED :
			   ans.http == 503 ? GRPC_UNAVAILABLE :
			   ans.http == 500 ? GRPC_INTERNAL : GRPC_INVALID_ARGUMENT;

		reply_status(resp, json, ans.http, code, ans.message);
		if (ans.http == 503) {
			http_response_header(resp, "Retry-After",
					     ans.retry_after ? ans.retry_after : INGEST_RETRY_BUSY);
		}
		return;
	}
	resp->status = 200;
	if (json) {
		resp->content_type = "application/json";
		if (ans.partial) {
			json_t *o = json_pack("{s:{s:s, s:s}}", "partialSuccess", "rejectedDataPoints",
					      "", "errorMessage", ans.message);
			char n[32], *text;

			snprintf(n, sizeof n, "%lld", (long long)ans.rejected);
			json_object_set_new(json_object_get(o, "partialSuccess"),
					    "rejectedDataPoints", json_string(n));
			text = json_dumps(o, JSON_COMPACT);
			ob_buf_addstr(&resp->body, text);
			free(text);
			json_decref(o);
		} else {
			ob_buf_addstr(&resp->body, "{}");
		}
	} else {
		otlp_metrics_export_response r = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_SERVICE_RESPONSE__INIT;
		otlp_metrics_partial_success ps = OPENTELEMETRY__PROTO__COLLECTOR__METRICS__V1__EXPORT_METRICS_PARTIAL_SUCCESS__INIT;
		uint8_t *dst;
		size_t n;

		resp->content_type = "application/x-protobuf";
		if (ans.partial) {
			ps.rejected_data_points = ans.rejected;
			ps.error_message = ans.message;
			r.partial_success = &ps;
		}
		n = protobuf_c_message_get_packed_size(&r.base);
		if (n && ob_buf_reserve(&resp->body, n, &dst) == OB_OK) {
			protobuf_c_message_pack(&r.base, dst);
			resp->body.len = n;
		}
	}
}

static void
handle_remote_write(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct receiver *h = ctx;

	if (h->metrics == NULL) {
		http_reply(resp, 503, "text/plain", "this obstui has no metrics store open\n");
		return;
	}
	ingest_remote_write_handler(h->metrics, req, resp);
}

static void
handle_not_yet(void *ctx, struct http_request *req, struct http_response *resp)
{
	const char *ct = http_header(req, "Content-Type");

	(void)ctx;
	reply_status(resp, http_media_is(ct, "application/json"), 404, GRPC_UNIMPLEMENTED,
		     "obstui does not accept OTLP logs yet; only /v1/traces and /v1/metrics");
}

static const struct http_route routes[] = {
	{ "POST", "/v1/traces", false, handle_traces, NULL },
	{ "POST", "/v1/metrics", false, handle_metrics, NULL },
	{ "POST", "/v1/logs", false, handle_not_yet, NULL },
	{ "POST", "/api/v1/write", false, handle_remote_write, NULL },
};

enum ob_err
otlp_http_start(struct store *s, struct ingest_metrics *metrics, const char *addr,
		const struct ingest_limits *lim, struct net_guard *guard, struct ingest_stats *stats,
		struct receiver **out, char bound[64], char *errbuf)
{
	return receiver_start(routes, sizeof routes / sizeof routes[0], s, metrics, addr, lim,
			      guard, "otlp-http", stats, out, bound, errbuf);
}
