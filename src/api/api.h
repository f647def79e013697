/*
 * api.h - the query API: Tempo-compatible HTTP endpoints over a store
 * (DESIGN.md section 3), plus /metrics with obstui's own counters.
 *
 * Handlers only read; each request runs on its connection's thread with a
 * read connection from the store's pool, so queries never wait on ingest.
 */
#ifndef OB_API_H
#define OB_API_H

#include "core/err.h"
#include "model/promql.h"
#include "net/http_server.h"
#include "store/store.h"

struct api;

/*
 * The metrics side, when the node has one.  src is the PromQL engine's
 * view of the metrics store.  The others are optional and faster than
 * what the API does without them (select every matching series over the
 * window and look at its labels): the series (label sets) matching a
 * selector in [mint, maxt]; label names; values of one label (matchers
 * may be NULL/0: every series); metadata of every metric family.
 */
struct api_metrics {
	struct promql_source src;
	enum ob_err (*series)(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint,
			      int64_t maxt, struct ob_arena *arena, struct series_labels **out,
			      size_t *n, char *errbuf);
	enum ob_err (*label_names)(void *ctx, const struct promql_matcher *m, size_t nm,
				   int64_t mint, int64_t maxt, struct ob_arena *arena,
				   const char ***out, size_t *n, char *errbuf);
	enum ob_err (*label_values)(void *ctx, const char *name, const struct promql_matcher *m,
				    size_t nm, int64_t mint, int64_t maxt, struct ob_arena *arena,
				    const char ***out, size_t *n, char *errbuf);
	enum ob_err (*metadata)(void *ctx, struct ob_arena *arena, struct series_meta **out,
				size_t *n, char *errbuf);
};

struct api_options {
	struct store *store;
	const struct api_metrics *metrics;  /* NULL: /api/v1/query etc. answer 503 */
	/* appends more of obstui's own metrics to /metrics (may be NULL) */
	void (*metrics_text)(void *arg, struct ob_buf *out);
	void *metrics_text_arg;
	/* more routes on the same port (remote write), with their own ctx */
	const struct http_route *extra_routes;
	size_t nextra_routes;
	size_t max_body;                    /* 0: 1 MiB (a remote write wants more) */
	struct net_guard *guard;            /* TLS and tokens (net/guard.h), or NULL */
};

enum ob_err api_start(const struct api_options *opt, const char *addr, struct api **out,
		      char bound[64], char *errbuf);
void api_stop(struct api *a);

/*
 * A PromQL result as Prometheus's answer, {"status":"success","data":...}
 * with any warnings, appended to b (the API's and `obstui query --json`'s).
 */
enum ob_err api_prom_answer_json(struct ob_buf *b, const struct promql_result *r);

/*
 * TraceQL for Tempo's older search form: tags="k=v k2=\"v 2\"" becomes
 * { .k = "v" } && { .k2 = "v 2" } (numbers also match as numbers).
 * Returns a new string, or NULL with errbuf set for a malformed tags value.
 */
char *api_tags_to_traceql(const char *tags, char *errbuf);

/* One search hit as Tempo writes it (new reference). */
#include <jansson.h>
json_t *api_hit_json(const struct store_trace_hit *h);

#endif
