/*
 * api_svcgraph.c - GET /api/service-graph?start=&end=: the service graph
 * of a window, read from the store's rollups (DESIGN.md §3.1).
 *
 * start and end are unix seconds (fractions allowed) or RFC 3339, as the
 * Prometheus API takes them; end defaults to now and start to an hour
 * before end.  Latencies are milliseconds, null when nothing was
 * measured.  Besides the documented fields a node says its kind
 * (service, database, peer, user) and the answer counts the edge sides
 * that found no partner ("unpaired").
 */
#include <math.h>
#include <string.h>

#include "api/api_int.h"
#include "core/clock.h"
#include "model/svcgraph.h"
#include "store/store.h"

static json_t *
ms_or_null(double v)
{
	return isnan(v) ? json_null() : json_real(v);
}

static const char *const node_kinds[] = {
	[SG_NODE_SERVICE] = "service", [SG_NODE_DATABASE] = "database",
	[SG_NODE_PEER] = "peer", [SG_NODE_USER] = "user",
};

json_t *
api_service_graph_json(const struct sg_graph *g)
{
	json_t *nodes = json_array(), *edges = json_array();
	size_t i;

	for (i = 0; i < g->nnodes; i++) {
		const struct sg_node *n = &g->nodes[i];

		json_array_append_new(nodes, json_pack("{s:s, s:s, s:I, s:I, s:o, s:o, s:I, s:I}",
			"id", n->id, "kind", node_kinds[n->kind], "requests", (json_int_t)n->requests,
			"failed", (json_int_t)n->failed, "p50Ms", ms_or_null(n->p50_ms),
			"p95Ms", ms_or_null(n->p95_ms), "outRequests", (json_int_t)n->out_requests,
			"outFailed", (json_int_t)n->out_failed));
	}
	for (i = 0; i < g->nedges; i++) {
		const struct sg_edge *e = &g->edges[i];

		json_array_append_new(edges, json_pack("{s:s, s:s, s:s, s:I, s:I, s:o, s:o, s:o}",
			"client", e->client, "server", e->server, "connectionType",
			e->connection_type, "requests", (json_int_t)e->requests,
			"failed", (json_int_t)e->failed, "p50Ms", ms_or_null(e->p50_ms),
			"p95Ms", ms_or_null(e->p95_ms), "clientP95Ms", ms_or_null(e->client_p95_ms)));
	}
	return json_pack("{s:o, s:o, s:I, s:I, s:I}", "nodes", nodes, "edges", edges,
			 "unpaired", (json_int_t)g->unpaired,
			 "start", (json_int_t)(g->start_ns / 1000000000),
			 "end", (json_int_t)(g->end_ns / 1000000000));
}

void
api_handle_service_graph(void *ctx, struct http_request *req, struct http_response *resp)
{
	struct api *a = ctx;
	const char *sv = http_arg(req, "start"), *ev = http_arg(req, "end");
	int64_t start_ms, end_ms = (int64_t)(ob_now_ns() / 1000000);
	char errbuf[OB_ERRLEN];
	struct sg_graph g;

	if (ev && *ev && api_parse_time(ev, &end_ms, errbuf)) {
		api_reply_error(resp, 400, "end: unix seconds or RFC 3339, e.g. end=1700000000");
		return;
	}
	start_ms = end_ms - 3600000;
	if (sv && *sv && api_parse_time(sv, &start_ms, errbuf)) {
		api_reply_error(resp, 400, "start: unix seconds or RFC 3339, e.g. start=1700000000");
		return;
	}
	if (start_ms < 0 || end_ms < start_ms) {
		api_reply_error(resp, 400, "start must not be negative or after end");
		return;
	}
	if (store_service_graph(a->store, (uint64_t)start_ms * 1000000, (uint64_t)end_ms * 1000000,
				&g, errbuf)) {
		api_reply_error(resp, 500, errbuf);
		return;
	}
	api_reply_json(resp, 200, api_service_graph_json(&g));
	sg_graph_release(&g);
}
