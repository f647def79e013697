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
#include "ingest/otlp_json.h"
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
	otlp_traces_data *td;
	enum ob_err err;
	json_t *list, *doc;
	size_t i;

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
	td = opentelemetry__proto__trace__v1__traces_data__unpack(NULL, bytes.len, bytes.data);
	ob_buf_release(&bytes);
	if (td == NULL) {
		api_reply_error(resp, 500, "stored trace does not decode");
		return;
	}
	list = json_array();
	for (i = 0; i < td->n_resource_spans; i++)
		json_array_append_new(list, otlp_json_from_message(&td->resource_spans[i]->base));
	opentelemetry__proto__trace__v1__traces_data__free_unpacked(td, NULL);
	if (v2)
		doc = json_pack("{s:{s:o}}", "trace", "resourceSpans", list);
	else
		doc = json_pack("{s:o}", "batches", list);
	api_reply_json(resp, 200, doc);
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
