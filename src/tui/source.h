/*
 * source.h - everything the UI reads, behind one small interface.
 *
 * main.c (through src/cmd/cmd_ui.c) wires a source to the store; unit
 * tests wire a fake one.  The UI never calls a source on its own thread:
 * fetch.c runs the calls on a worker thread and hands results back, so a
 * slow query never freezes the screen.  A source's functions may block
 * and must be callable from that one worker thread.
 */
#ifndef OB_TUI_SOURCE_H
#define OB_TUI_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/buf.h"
#include "core/err.h"

/* One row of the traces list: a trace, summarised. */
struct tui_trace_row {
	uint8_t trace_id[16];
	uint64_t start_ns, duration_ns;
	char root_service[64];      /* "" when the root span has not arrived */
	char root_name[128];
	uint32_t nspans, nerrors, nservices;
};

/* Which traces to list: newest first. */
struct tui_list_query {
	char traceql[2048];         /* "" for every trace */
	uint64_t since_ns;          /* traces overlapping [since, ...); 0: all */
	uint64_t until_ns;          /* ... until this; 0: now */
	uint64_t before_ns;         /* only traces starting at or before this; 0: newest */
	size_t limit;
};

/* A remote this obstui follows (pull) or feeds (push): the Remotes view. */
struct tui_remote_row {
	char name[64];
	bool push;                  /* else pull */
	bool busy;                  /* a cycle is in flight */
	bool offline;               /* the last cycle could not reach it */
	uint64_t last_ok_ns;        /* wall clock; 0: never */
	uint64_t cycle_ns, cycles;
	size_t in_flight, in_flight_done;   /* blocks of the cycle in flight */
	uint64_t moved, failed, bytes;      /* since start */
	uint64_t newest_ns;         /* newest block time seen on the remote (pull) */
	char credentials[96];
	char error[256];            /* of the last cycle, or "" */
};

#define TUI_MAX_REMOTES 4

/* What the status line shows about the store and the receivers. */
struct tui_status {
	char listeners[256];        /* "grpc :4317  http :4318  api :3200" or why not */
	uint64_t spans_total;       /* accepted since start (for spans/s) */
	uint64_t traces, spans, bytes;
	uint64_t oldest_ns;         /* the data retention drops next (0: none) */
	uint64_t retention_ns;      /* 0: kept forever */
	struct tui_remote_row remotes[TUI_MAX_REMOTES];
	int nremotes;
	char origin[256];           /* who this store says captured its own data */
};

/* One metric of the Metrics view's browser. */
struct tui_metric_row {
	char name[128];
	uint8_t type;               /* enum series_type's numbers: 1 counter, 2 gauge, 3 histogram... */
	char unit[32];
	char help[200];
	uint32_t nseries;
};

/*
 * One series: its labels as PromQL writes them (name{k="v", ...}) and,
 * from a range query, its points (NaN: no value).  t_ms and v are malloc'd;
 * tui_series_free releases an array of them.
 */
struct tui_series {
	char labels[384];
	int64_t *t_ms;
	double *v;
	size_t n;
};

void tui_series_free(struct tui_series *s, size_t n);

/* An exemplar with a trace: where it sits on a chart and the trace it opens. */
struct tui_exemplar {
	int64_t t_ms;
	double v;
	uint8_t trace_id[16];
};

/* The most series a range query or a series listing hands to the UI. */
#define TUI_MAX_SERIES 5000

struct sg_graph;
struct sg_op;

struct tui_source_ops {
	/* Rows matching q, newest first; *rows is the caller's to free. */
	enum ob_err (*list)(void *ctx, const struct tui_list_query *q,
			    struct tui_trace_row **rows, size_t *n, char *errbuf);
	/* The whole trace as OTLP TracesData bytes appended to out; OB_ENOTFOUND. */
	enum ob_err (*trace)(void *ctx, const uint8_t id[16], struct ob_buf *out, char *errbuf);
	void (*status)(void *ctx, struct tui_status *out);
	/*
	 * The service graph of the window [since, until) (since 0: from the
	 * oldest data; until 0: now) into *g, which the caller releases with
	 * sg_graph_release.  May be NULL: the Services view then says so.
	 */
	enum ob_err (*graph)(void *ctx, uint64_t since_ns, uint64_t until_ns, struct sg_graph *g,
			     char *errbuf);
	/* Operations of service (NULL: all) in the window, most calls first; *ops is the caller's. */
	enum ob_err (*ops)(void *ctx, const char *service, uint64_t since_ns, uint64_t until_ns,
			   struct sg_op **ops, size_t *n, char *errbuf);
	/*
	 * The metrics with a sample in the window (0: open ends), by name,
	 * with their metadata and series counts; *rows is the caller's.  The
	 * next three may be NULL: the Metrics view then says there are none.
	 */
	enum ob_err (*metrics)(void *ctx, uint64_t since_ns, uint64_t until_ns,
			       struct tui_metric_row **rows, size_t *n, char *errbuf);
	/* Label sets of the series matching a PromQL selector, at most TUI_MAX_SERIES. */
	enum ob_err (*series)(void *ctx, const char *selector, uint64_t since_ns,
			      uint64_t until_ns, struct tui_series **out, size_t *n, char *errbuf);
	/* A PromQL range query; OB_EINVAL with the parser's words for a bad expression. */
	enum ob_err (*query_range)(void *ctx, const char *expr, int64_t start_ms, int64_t end_ms,
				   int64_t step_ms, struct tui_series **out, size_t *n,
				   char *errbuf);
	/* Exemplars with a trace_id of the series a selector matches, by time; may be NULL. */
	enum ob_err (*exemplars)(void *ctx, const char *selector, int64_t start_ms, int64_t end_ms,
				 struct tui_exemplar **out, size_t *n, char *errbuf);
};

struct tui_source {
	const struct tui_source_ops *ops;
	void *ctx;
};

#endif
