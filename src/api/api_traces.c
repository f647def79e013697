/*
 * api_traces.c - GET /api/traces/<id> and /api/v2/traces/<id>.
 *
 * The store gives the trace as TracesData bytes: sent as they are for
 * Accept: application/protobuf, else decoded and written as OTLP/JSON,
 * {"batches":[...]} (Tempo v1) or {"trace":{"resourceSpans":[...]}} (v2).
 */
#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/mem.h"
#include "core/util.h"
#include "codec/otlp_json.h"
#include "model/otlp.h"

#define TRACE_MAX_BYTES (1024u << 20)

void
api_reply_json(struct http_response *resp, int status, json_t *doc)
{
	char *s = json_dumps(doc, JSON_COMPACT | JSON_ENCODE_ANY);

	json_decref(doc);
	resp->status = s ? status : 500;
	resp->content_type = "application/json";
	ob_buf_reset(&resp->body);
	ob_buf_addstr(&resp->body, s ? s : "{\"error\":\"out of memory\"}");
	free(s);
}

void
api_reply_error(struct http_response *resp, int status, const char *msg)
{
	http_reply(resp, status, "text/plain", "%s\n", msg);
}

static bool
wants_protobuf(struct http_request *req)
{
	const char *accept = http_header(req, "Accept");

	return accept && (strstr(accept, "application/protobuf") ||
			  strstr(accept, "application/x-protobuf"));
}

static void
handle(struct api *a, struct http_request *req, struct http_response *resp, const char *prefix,
       bool v2)
{
	const char *idtext = http_path(req) + strlen(prefix);
	uint8_t id[16];
	struct ob_buf bytes;
	char errbuf[OB_ERRLEN];
	enum ob_err err;
	size_t mark;

	if (!ob_trace_id_parse(idtext, id)) {
		api_reply_error(resp, 400, "trace id must be 1 to 32 hex digits");
		return;
	}
	ob_buf_init(&bytes, TRACE_MAX_BYTES);
	err = store_trace_get(a->store, id, &bytes, errbuf);
	if (err == OB_ENOTFOUND) {
		ob_buf_release(&bytes);
		api_reply_error(resp, 404, "trace not found");
		return;
	}
	if (err) {
		ob_buf_release(&bytes);
		api_reply_error(resp, 500, errbuf);
		return;
	}
	if (wants_protobuf(req)) {
		resp->status = 200;
		resp->content_type = "application/protobuf";
		ob_buf_release(&resp->body);
		resp->body = bytes;
		return;
	}
	ob_buf_reset(&resp->body);
	ob_buf_addstr(&resp->body, v2 ? "{\"trace\":" : "{\"batches\":");
	mark = resp->body.len;
	err = otlp_wire_to_json(&otlp_traces_data_descriptor, bytes.data, bytes.len, &resp->body,
				errbuf);
	ob_buf_release(&bytes);
	if (err) {
		api_reply_error(resp, 500, errbuf);
		return;
	}
	if (!v2) {
		/* Tempo's v1 answer is the resourceSpans array itself */
		static const char prefix[] = "{\"resourceSpans\":";
		size_t plen = sizeof prefix - 1, n = resp->body.len - mark;

		if (n > plen && memcmp(resp->body.data + mark, prefix, plen) == 0) {
			memmove(resp->body.data + mark, resp->body.data + mark + plen, n - plen - 1);
			resp->body.len = mark + n - plen - 1;
		} else {
			resp->body.len = mark;
			ob_buf_addstr(&resp->body, "[]");
		}
	}
	ob_buf_addstr(&resp->body, "}");
	resp->status = 200;
	resp->content_type = "application/json";
}

void
api_handle_trace(void *ctx, struct http_request *req, struct http_response *resp)
{
	handle(ctx, req, resp, "/api/traces/", false);
}

void
api_handle_trace_v2(void *ctx, struct http_request *req, struct http_response *resp)
{
	handle(ctx, req, resp, "/api/v2/traces/", true);
}
