/*
 * fetch.h - the UI's one worker thread: it runs source calls so that the
 * UI thread never waits on the store.
 *
 * The UI asks (tui_fetch_list, _trace, _status) and goes on; each kind of
 * request has one slot, and a new request replaces one not yet started
 * (the user typed another query: the old one is not worth running).  When
 * a call finishes, its result is queued and a byte is written to the wake
 * fd, which the UI polls beside stdin.  Results carry the generation the
 * UI gave, so a view drops answers to questions it no longer asks.
 *
 * A trace is decoded here too, on the worker: a 50,000-span trace takes
 * about 100 ms to decode and index, which on the UI thread would freeze
 * the screen each time the Trace view reloads a live trace.
 */
#ifndef OB_TUI_FETCH_H
#define OB_TUI_FETCH_H

#include "model/svcgraph.h"
#include "model/trace.h"
#include "tui/source.h"

enum tui_fetch_kind {
	FETCH_LIST, FETCH_TRACE, FETCH_STATUS, FETCH_GRAPH, FETCH_OPS,
	FETCH_METRICS, FETCH_SERIES, FETCH_QUERY, FETCH_EXEMPLARS, FETCH__COUNT
};

/* A metrics request: the list (FETCH_METRICS), a selector's series, a range query. */
struct tui_metric_query {
	char expr[4096];                /* FETCH_SERIES: a selector; FETCH_QUERY: PromQL */
	uint64_t since_ns, until_ns;    /* FETCH_METRICS, FETCH_SERIES */
	int64_t start_ms, end_ms, step_ms;      /* FETCH_QUERY, FETCH_EXEMPLARS */
};

/* The window and the service of a service-graph or operations request. */
struct tui_graph_query {
	uint64_t since_ns, until_ns;    /* as tui_source_ops.graph takes them */
	char service[128];              /* FETCH_OPS: "" for every service */
};

struct tui_fetch_result {
	enum tui_fetch_kind kind;
	uint64_t generation;
	enum ob_err err;
	char errbuf[OB_ERRLEN];
	uint64_t elapsed_ns;
	struct tui_list_query query;   /* FETCH_LIST: what was asked */
	struct tui_trace_row *rows;    /* FETCH_LIST */
	size_t nrows;
	uint8_t trace_id[16];          /* FETCH_TRACE */
	struct ob_buf trace;           /* FETCH_TRACE: TracesData bytes */
	/*
	 * FETCH_TRACE without err: the bytes decoded, when have_decoded
	 * (a view may take it, clearing have_decoded), else why not.
	 */
	struct ob_trace decoded;
	bool have_decoded;
	char decode_error[OB_ERRLEN];
	struct tui_status status;      /* FETCH_STATUS */
	struct tui_graph_query graph_query;    /* FETCH_GRAPH, FETCH_OPS: what was asked */
	struct sg_graph graph;         /* FETCH_GRAPH: a view may take it (zeroing it) */
	struct sg_op *ops;             /* FETCH_OPS: a view may take it (setting NULL) */
	size_t nops;
	struct tui_metric_query metric_query;  /* FETCH_METRICS, _SERIES, _QUERY: what was asked */
	struct tui_metric_row *metrics;        /* FETCH_METRICS: a view may take it (setting NULL) */
	size_t nmetrics;
	struct tui_series *series;     /* FETCH_SERIES, FETCH_QUERY: a view may take it */
	size_t nseries;
	struct tui_exemplar *exemplars;        /* FETCH_EXEMPLARS: a view may take it */
	size_t nexemplars;
	struct tui_fetch_result *next;
};

struct tui_fetch;

struct tui_fetch *tui_fetch_new(const struct tui_source *src);
/* Stop the thread (after the call it runs, if any) and free everything. */
void tui_fetch_free(struct tui_fetch *f);
/* Poll this for POLLIN; tui_fetch_take drains it. */
int tui_fetch_fd(const struct tui_fetch *f);

void tui_fetch_list(struct tui_fetch *f, const struct tui_list_query *q, uint64_t generation);
void tui_fetch_trace(struct tui_fetch *f, const uint8_t id[16], uint64_t generation);
void tui_fetch_status(struct tui_fetch *f);
/* The service graph, or the operations of q->service; OB_EUNSUPPORTED when the source has none. */
void tui_fetch_graph(struct tui_fetch *f, const struct tui_graph_query *q, uint64_t generation);
void tui_fetch_ops(struct tui_fetch *f, const struct tui_graph_query *q, uint64_t generation);

/* The metrics view's requests; OB_EUNSUPPORTED when the source has no metrics. */
void tui_fetch_metric(struct tui_fetch *f, enum tui_fetch_kind kind,
		      const struct tui_metric_query *q, uint64_t generation);

/* The oldest finished result, or NULL; the caller frees it. */
struct tui_fetch_result *tui_fetch_take(struct tui_fetch *f);
void tui_fetch_result_free(struct tui_fetch_result *r);

/* Is a request of this kind waiting or running? */
bool tui_fetch_busy(struct tui_fetch *f, enum tui_fetch_kind kind);

#endif
