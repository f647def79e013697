/* ui_source.c - the UI's reads, answered by the store (see ui_source.h). */
#include "cmd/ui_source.h"

#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "model/svcgraph.h"

static enum ob_err
list(void *ctx, const struct tui_list_query *q, struct tui_trace_row **rows, size_t *n,
     char *errbuf)
{
	struct ui_source_ctx *x = ctx;
	struct store_search_req req;
	struct store_search_result res;
	enum ob_err err;
	size_t i;

	memset(&req, 0, sizeof req);
	req.traceql = q->traceql;
	req.start_ns = q->since_ns;
	/* both bound the start: the earlier one holds */
	req.end_ns = q->until_ns;
	if (q->before_ns && (req.end_ns == 0 || q->before_ns < req.end_ns))
		req.end_ns = q->before_ns;
	req.limit = q->limit;
	req.budget_ns = 5000000000ull;
	*rows = NULL;
	*n = 0;
	if ((err = store_search(x->node->store, &req, &res, errbuf)))
		return err;
	*rows = ob_xcalloc(res.ntraces + 1, sizeof **rows);
	for (i = 0; i < res.ntraces; i++) {
		const struct store_trace_hit *h = &res.traces[i];
		struct tui_trace_row *r = &(*rows)[i];

		memcpy(r->trace_id, h->trace_id, 16);
		r->start_ns = h->start_ns;
		r->duration_ns = h->duration_ns;
		snprintf(r->root_service, sizeof r->root_service, "%s", h->root_service);
		snprintf(r->root_name, sizeof r->root_name, "%s", h->root_name);
		r->nspans = (uint32_t)h->nspans;
		r->nerrors = (uint32_t)h->nerrors;
		r->nservices = (uint32_t)h->nservices;
	}
	*n = res.ntraces;
	store_search_result_release(&res);
	return OB_OK;
}

static enum ob_err
trace(void *ctx, const uint8_t id[16], struct ob_buf *out, char *errbuf)
{
	struct ui_source_ctx *x = ctx;

	return store_trace_get_origins(x->node->store, id, out, errbuf);
}

static void
listeners(const struct node *node, char *out, size_t cap)
{
	static const char *const short_names[NODE__COUNT] = {
		[NODE_OTLP_GRPC] = "grpc", [NODE_OTLP_HTTP] = "http",
		[NODE_ZIPKIN] = "zipkin", [NODE_API] = "api",
	};
	size_t o = 0;
	int i;

	out[0] = 0;
	for (i = 0; i < NODE__COUNT && o + 1 < cap; i++) {
		const struct node_listener *l = &node->listeners[i];
		const char *port;

		if (l->addr == NULL)
			continue;
		port = strrchr(l->running ? l->bound : l->addr, ':');
		o += (size_t)snprintf(out + o, cap - o, "%s%s %s%s", o ? "  " : "", short_names[i],
				      l->running ? "" : "FAILED ", port ? port : "");
		if (o >= cap)
			o = cap - 1;
	}
}

static void
remote_row(struct sync_agent *a, struct blob_store *b, struct tui_status *out)
{
	struct tui_remote_row *row;
	struct sync_agent_status st;

	if (a == NULL || out->nremotes >= TUI_MAX_REMOTES)
		return;
	sync_agent_status(a, &st);
	row = &out->remotes[out->nremotes++];
	snprintf(row->name, sizeof row->name, "%.63s", st.remote);
	row->push = st.kind == SYNC_AGENT_PUSH;
	row->busy = st.running_cycle;
	row->offline = st.offline;
	row->last_ok_ns = st.last_ok_ns;
	row->cycle_ns = st.cycle_ns;
	row->cycles = st.cycles;
	row->in_flight = st.running_cycle ? st.progress.total : 0;
	row->in_flight_done = st.progress.done + st.progress.failed + st.progress.skipped;
	row->moved = st.moved_total;
	row->failed = st.failed_total;
	row->bytes = st.bytes_total;
	row->newest_ns = st.newest_remote_ns;
	snprintf(row->credentials, sizeof row->credentials, "%.95s", blob_auth_describe(b));
	snprintf(row->error, sizeof row->error, "%.255s", st.last_error);
}

static void
status(void *ctx, struct tui_status *out)
{
	struct ui_source_ctx *x = ctx;
	struct store_stats st;
	char errbuf[OB_ERRLEN];

	memset(out, 0, sizeof *out);
	listeners(x->node, out->listeners, sizeof out->listeners);
	out->spans_total = x->node->stats.spans_accepted;
	out->retention_ns = x->retention_ns;
	snprintf(out->origin, sizeof out->origin, "%s", store_origin(x->node->store));
	remote_row(x->node->puller, x->node->pull_blob, out);
	remote_row(atomic_load(&x->node->pusher), x->node->push_blob, out);
	if (store_stats_get(x->node->store, &st, errbuf) == OB_OK) {
		out->traces = st.traces;
		out->spans = st.spans;
		out->bytes = st.block_bytes + st.db_bytes;
		out->oldest_ns = st.oldest_ns;
	}
}

static enum ob_err
graph(void *ctx, uint64_t since_ns, uint64_t until_ns, struct sg_graph *g, char *errbuf)
{
	struct ui_source_ctx *x = ctx;

	return store_service_graph(x->node->store, since_ns, until_ns ? until_ns : ob_now_ns(), g,
				   errbuf);
}

static enum ob_err
service_ops(void *ctx, const char *service, uint64_t since_ns, uint64_t until_ns,
	    struct sg_op **out, size_t *n, char *errbuf)
{
	struct ui_source_ctx *x = ctx;

	return store_service_ops(x->node->store, service, since_ns,
				 until_ns ? until_ns : ob_now_ns(), out, n, errbuf);
}

static const struct tui_source_ops ops = {
	list, trace, status, graph, service_ops,
	ui_source_metrics, ui_source_series, ui_source_query_range, ui_source_exemplars,
};

void
ui_source_init(struct tui_source *src, struct ui_source_ctx *ctx)
{
	src->ops = &ops;
	src->ctx = ctx;
}
