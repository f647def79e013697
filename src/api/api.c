/*
 * api.c - routes of the query API and the small endpoints (see api.h).
 *
 * Source locations: trace by id in api_traces.c, search and tags in
 * api_search.c, TraceQL metrics and Tempo's build info in
 * api_tqlmetrics.c, the Prometheus API in api_prom.c (parameters in
 * api_params.c, answers as JSON in api_prom_json.c), /metrics here.
 */
#include "api/api.h"

#include <stdlib.h>
#include <string.h>

#include "api/api_int.h"
#include "core/mem.h"
#include "net/guard.h"
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

	if (store_stats_get(a->store, &st, errbuf)) {
		http_reply(resp, 500, "text/plain", "%s\n", errbuf);
		return;
	}
	resp->status = 200;
	resp->content_type = "text/plain; version=0.0.4";
	if (a->metrics_text)
		a->metrics_text(a->metrics_text_arg, b);
	if (a->auth)
		metric(b, "obstui_auth_rejected_total", "counter",
		       "Requests refused for a missing or wrong bearer token, every listener.", NULL,
		       (double)net_auth_rejected_total(a->auth));
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
	metric(b, "obstui_store_compacted_blocks_total", "counter",
	       "Merged blocks written by compaction in this process.", NULL,
	       (double)st.compacted_blocks);
}

static const struct http_route routes[] = {
	{ "GET", "/ready", false, handle_ready, NULL },
	{ "GET", "/api/echo", false, handle_echo, NULL },
	{ "GET", "/metrics", false, handle_metrics, NULL },
	{ "GET", "/api/traces/", true, api_handle_trace, NULL },
	{ "GET", "/api/v2/traces/", true, api_handle_trace_v2, NULL },
	{ "GET", "/api/search", false, api_handle_search, NULL },
	{ "GET", "/api/search/tags", false, api_handle_tags, NULL },
	{ "GET", "/api/v2/search/tags", false, api_handle_tags_v2, NULL },
	{ "GET", "/api/search/tag/", true, api_handle_tag_values, NULL },
	{ "GET", "/api/v2/search/tag/", true, api_handle_tag_values_v2, NULL },
	{ "GET", "/api/service-graph", false, api_handle_service_graph, NULL },
	{ "GET", "/api/metrics/query_range", false, api_handle_tql_query_range, NULL },
	{ "GET", "/api/metrics/query", false, api_handle_tql_query, NULL },
	{ "GET", "/api/status/buildinfo", false, api_handle_tempo_buildinfo, NULL },
	/* Prometheus: GET, and POST with a form body, as Grafana sends long queries */
	{ "GET", "/api/v1/query", false, api_handle_prom_query, NULL },
	{ "POST", "/api/v1/query", false, api_handle_prom_query, NULL },
	{ "GET", "/api/v1/query_range", false, api_handle_prom_query_range, NULL },
	{ "POST", "/api/v1/query_range", false, api_handle_prom_query_range, NULL },
	{ "GET", "/api/v1/series", false, api_handle_prom_series, NULL },
	{ "POST", "/api/v1/series", false, api_handle_prom_series, NULL },
	{ "GET", "/api/v1/labels", false, api_handle_prom_labels, NULL },
	{ "POST", "/api/v1/labels", false, api_handle_prom_labels, NULL },
	{ "GET", "/api/v1/label/", true, api_handle_prom_label_values, NULL },
	{ "GET", "/api/v1/metadata", false, api_handle_prom_metadata, NULL },
	{ "GET", "/api/v1/status/buildinfo", false, api_handle_prom_buildinfo, NULL },
};

enum ob_err
api_start(const struct api_options *opt, const char *addr, struct api **out, char bound[64],
	  char *errbuf)
{
	struct api *a = ob_xcalloc(1, sizeof *a);
	size_t nfixed = sizeof routes / sizeof routes[0];
	size_t n = nfixed + opt->nextra_routes;
	enum ob_err err;

	a->store = opt->store;
	a->metrics = opt->metrics;
	a->metrics_text = opt->metrics_text;
	a->metrics_text_arg = opt->metrics_text_arg;
	a->auth = net_guard_auth(opt->guard);
	a->routes = ob_xmalloc(n * sizeof *a->routes);
	memcpy(a->routes, routes, sizeof routes);
	if (opt->nextra_routes)
		memcpy(a->routes + nfixed, opt->extra_routes,
		       opt->nextra_routes * sizeof *a->routes);
	err = http_server_start(addr, a->routes, n, a, opt->max_body ? opt->max_body : 1 << 20,
				opt->guard, "api", &a->srv, bound, errbuf);
	if (err) {
		free(a->routes);
		free(a);
		return err;
	}
	*out = a;
	return OB_OK;
}

void
api_quiesce(struct api *a)
{
	if (a)
		http_server_quiesce(a->srv);
}

void
api_stop(struct api *a)
{
	if (a == NULL)
		return;
	http_server_stop(a->srv);
	free(a->routes);
	free(a);
}
