/*
 * api.c - routes of the query API and the small endpoints (see api.h).
 *
 * Source locations: trace by id in api_traces.c, search and tags in
 * api_search.c, /metrics here.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/mem.h"
#include "net/http_server.h"

static void
handle_ready(void *ctx, struct http_request *req, struct http_response *resp)
{
	http_reply(resp, 200, "text/plain", "ready\n");
}

static void
handle_echo(void *ctx, struct http_request *req, struct http_response *resp)
{
	http_reply(resp, 200, "text/plain", "echo");
}

static void
metric(struct ob_buf *b, const char *name, const char *type, const char *help,
       const char *labels, double v)
{
	ob_buf_addf(b, "# HELP %s %s\n# TYPE %s %s\n%s%s %.17g\n", name, help, name, type, name,
		    labels ? labels : "", v);
}

static void
handle_metrics(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	struct store_stats st;
	char errbuf[OB_ERRLEN];
	struct ob_buf *b = &resp->body;
	int i;

	if (store_stats_get(a->store, &st, errbuf)) {
		http_reply(resp, 500, "text/plain", "%s\n", errbuf);
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
	metric(b, "obstui_ingest_requests_total", "counter", "Export requests received.", NULL,
	       (double)a->stats->requests);
	metric(b, "obstui_ingest_requests_ok_total", "counter",
	       "Export requests stored and acknowledged.", NULL, (double)a->stats->requests_ok);
	metric(b, "obstui_ingest_spans_accepted_total", "counter",
	       "Spans stored and acknowledged.", NULL, (double)a->stats->spans_accepted);
	metric(b, "obstui_ingest_received_bytes_total", "counter",
	       "Request body bytes received (after decompression).", NULL,
	       (double)a->stats->bytes_received);
	ob_buf_addf(b, "# HELP obstui_ingest_rejected_requests_total Export requests rejected,"
		       " by reason.\n# TYPE obstui_ingest_rejected_requests_total counter\n");
	for (i = 0; i < REJECT__COUNT; i++)
		ob_buf_addf(b, "obstui_ingest_rejected_requests_total{reason=\"%s\"} %llu\n",
			    ingest_reject_names[i],
			    (unsigned long long)a->stats->rejected_requests[i]);
	ob_buf_addf(b, "# HELP obstui_ingest_rejected_spans_total Spans rejected, by reason.\n"
		       "# TYPE obstui_ingest_rejected_spans_total counter\n");
	for (i = 0; i < REJECT__COUNT; i++)
		ob_buf_addf(b, "obstui_ingest_rejected_spans_total{reason=\"%s\"} %llu\n",
			    ingest_reject_names[i], (unsigned long long)a->stats->rejected_spans[i]);
	metric(b, "obstui_store_queue_depth", "gauge", "Batches waiting for the store writer.",
	       NULL, (double)st.queue_count);
	metric(b, "obstui_store_queue_bytes", "gauge", "Bytes waiting for the store writer.", NULL,
	       (double)st.queue_bytes);
	metric(b, "obstui_store_commits_total", "counter", "Store transactions committed.", NULL,
	       (double)st.commits);
	metric(b, "obstui_store_commit_seconds_total", "counter",
	       "Time spent in store transactions.", NULL, st.commit_ns_total / 1e9);
	metric(b, "obstui_store_commit_seconds_max", "gauge",
	       "Longest store transaction since start.", NULL, st.commit_ns_max / 1e9);
	metric(b, "obstui_store_traces", "gauge", "Traces in the store.", NULL, (double)st.traces);
	metric(b, "obstui_store_spans", "gauge", "Spans in the store.", NULL, (double)st.spans);
	metric(b, "obstui_store_head_bytes", "gauge", "Uncompressed bytes in the head.", NULL,
	       (double)st.head_bytes);
	metric(b, "obstui_store_blocks", "gauge", "Sealed blocks.", NULL, (double)st.blocks);
	metric(b, "obstui_store_block_bytes", "gauge", "Bytes in sealed blocks.", NULL,
	       (double)st.block_bytes);
	metric(b, "obstui_store_database_bytes", "gauge", "Size of the SQLite database.", NULL,
	       (double)st.db_bytes);
	metric(b, "obstui_store_sealed_blocks_total", "counter", "Blocks sealed by this process.",
	       NULL, (double)st.sealed_blocks);
	metric(b, "obstui_store_expired_blocks_total", "counter",
	       "Blocks dropped by retention in this process.", NULL, (double)st.expired_blocks);
}

static const struct http_route routes[] = {
	{ "GET", "/ready", false, handle_ready },
	{ "GET", "/api/echo", false, handle_echo },
	{ "GET", "/metrics", false, handle_metrics },
	{ "GET", "/api/traces/", true, api_handle_trace },
	{ "GET", "/api/v2/traces/", true, api_handle_trace_v2 },
	{ "GET", "/api/search", false, api_handle_search },
	{ "GET", "/api/search/tags", false, api_handle_tags },
	{ "GET", "/api/v2/search/tags", false, api_handle_tags_v2 },
	{ "GET", "/api/search/tag/", true, api_handle_tag_values },
	{ "GET", "/api/v2/search/tag/", true, api_handle_tag_values_v2 },
};

enum ob_err
api_start(struct store *s, struct ingest_stats *stats, const char *addr, struct api **out,
	  char bound[64], char *errbuf)
{
	struct api *a = ob_xcalloc(1, sizeof *a);
	enum ob_err err;

	a->store = s;
	a->stats = stats;
	err = http_server_start(addr, routes, sizeof routes / sizeof routes[0], a, 1 << 20,
				&a->srv, bound, errbuf);
	if (err) {
		free(a);
		return err;
	}
	*out = a;
	return OB_OK;
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	http_server_stop(a->srv);
	free(a);
}
