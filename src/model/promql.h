/*
 * promql.h - the PromQL engine: parse an expression, evaluate it at one
 * time (instant query) or over a range with a step (range query), against
 * any source of series.
 *
 * The engine knows no store.  It asks a struct promql_source for the
 * series that match a selector's matchers over a time window, and gets
 * them back as plain arrays (struct series_data, samples in time order).
 * The metrics store implements the source over its head and blocks; tests
 * implement it over a fixed set of series.
 *
 * Semantics are those of Prometheus 2.x (2.42): lookback delta 5m,
 * staleness markers end a series, rate/increase extrapolate, range query
 * steps at start + k*step up to end, NaN equals NaN when comparing answers.
 * Something the engine does not implement yet fails with
 * OB_EUNSUPPORTED and a message naming it; it never answers a wrong number.
 *
 * Errors map to the Prometheus API like this: OB_EINVAL from
 * promql_parse is "bad_data" (400); OB_EINVAL from evaluation is
 * "execution" (422); OB_EBUSY is "timeout" (503); OB_EUNSUPPORTED is
 * "unimplemented" (501); OB_ETOOBIG is too many samples (422).
 */
#ifndef OB_MODEL_PROMQL_H
#define OB_MODEL_PROMQL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/series.h"

enum promql_match_op { PROMQL_MATCH_EQ, PROMQL_MATCH_NEQ, PROMQL_MATCH_RE, PROMQL_MATCH_NRE };

/*
 * A label matcher.  For the regex ops the engine compiles the pattern
 * fully anchored (^(?:value)$) with POSIX extended syntax after
 * translating RE2 shorthands; the compiled regex is opaque to the source,
 * which calls promql_matcher_matches() to test a value.
 */
struct promql_matcher {
	enum promql_match_op op;
	const char *name;
	const char *value;
	void *re;                   /* compiled regex (engine-owned) or NULL */
};

/* Does value (NULL or "" for an absent label) satisfy m? */
bool promql_matcher_matches(const struct promql_matcher *m, const char *value);

/*
 * What the engine reads.  select() appends to *out every series matching
 * all nm matchers that has samples in [mint, maxt] (ms, inclusive),
 * with only the samples in that window, time-ordered, no duplicate
 * timestamps; series are distinct label sets (the source merges head and
 * blocks).  Memory comes from arena (the query's).  The engine may call
 * select many times per query.
 *
 * label_names / label_values serve the API's /labels and /label/x/values
 * (may be NULL in a source that only queries: the API then uses select).
 *
 * The engine keeps the order select() gives: groups of an aggregation come
 * out in the order of their first member, and topk/bottomk keep the first
 * of equal values.  Series in label order (as Prometheus's blocks and
 * merged queriers give them) make those choices Prometheus's.  An empty
 * sample array may be NULL.
 */
struct promql_source {
	void *ctx;
	enum ob_err (*select)(void *ctx, const struct promql_matcher *m, size_t nm,
			      int64_t mint, int64_t maxt, struct ob_arena *arena,
			      struct series_data **out, size_t *nout, char *errbuf);
	/*
	 * Optional: select() with what the engine will do with the samples.
	 * range_ms is the [range] of the range-vector selector being read (0
	 * for an instant selector, which looks back lookback_ms); a source
	 * that makes samples up (the service-graph series) may make fewer for
	 * long ranges.  When NULL, select() is called.
	 */
	enum ob_err (*select_hinted)(void *ctx, const struct promql_matcher *m, size_t nm,
				     int64_t mint, int64_t maxt, int64_t range_ms,
				     struct ob_arena *arena, struct series_data **out,
				     size_t *nout, char *errbuf);
	/* The metadata (type, help, unit) of a metric family, or NULL. */
	const struct series_meta *(*meta)(void *ctx, const char *family);
};

struct promql_expr;     /* a parsed expression (promql_ast.h has the tree) */

enum promql_value_type {
	PROMQL_NONE,
	PROMQL_SCALAR,
	PROMQL_STRING,
	PROMQL_VECTOR,          /* instant vector */
	PROMQL_MATRIX,          /* range vector, or a range query's answer */
};

/*
 * Parse text into an expression allocated in arena.  OB_EINVAL with a
 * message in Prometheus's words ("1:7: parse error: unexpected ...") for
 * bad syntax or a type error (the checks Prometheus's parser makes).
 */
enum ob_err promql_parse(const char *text, struct ob_arena *arena, struct promql_expr **out,
			 char *errbuf);

enum promql_value_type promql_expr_type(const struct promql_expr *e);

/*
 * Free what a parsed expression holds outside its arena (the compiled
 * regexes of its matchers).  Call it before the arena is released; the
 * expression may not be evaluated afterwards.
 */
void promql_expr_release(struct promql_expr *e);

/* Print an expression back as PromQL (for errors and tests). */
char *promql_expr_string(const struct promql_expr *e, struct ob_arena *arena);

/*
 * One series of a result: labels, and either one value (instant
 * queries; f or h set) or points (range queries and matrix values).
 */
struct promql_series {
	struct series_labels labels;
	struct series_sample *f;        /* float points */
	size_t nf;
	struct series_histogram *h;     /* histogram points */
	size_t nh;
};

struct promql_result {
	enum promql_value_type type;
	double scalar;                  /* PROMQL_SCALAR */
	int64_t scalar_t;
	const char *string;             /* PROMQL_STRING */
	struct promql_series *series;   /* VECTOR: one point each; MATRIX */
	size_t nseries;
	const char **warnings;
	size_t nwarnings;
};

/*
 * Limits.  max_samples counts as Prometheus's --query.max-samples does:
 * the samples the steps hold at once (selector points, range windows,
 * results), not what select() read; OB_ETOOBIG past it.  Memory is bounded
 * by the cap of the arena the caller passes (OB_ETOOBIG too): give each
 * query an arena with a cap.  Past timeout_ns the query fails with
 * OB_EBUSY.
 */
struct promql_opts {
	int64_t lookback_ms;            /* 0: 5 minutes */
	uint64_t timeout_ns;            /* 0: 2 minutes */
	size_t max_samples;             /* 0: 50,000,000 */
	int64_t subquery_step_ms;       /* a subquery's step when it gives none; 0: 1 minute
					   (Prometheus: the global evaluation_interval) */
};

/*
 * Evaluate e at time t (ms): an instant query.  The result lives in arena.
 * A vector comes out in the engine's order (sort() and sort_desc() set
 * it, as in Prometheus); each series has one point (f or h) at t.
 */
enum ob_err promql_eval_instant(const struct promql_expr *e, int64_t t,
				const struct promql_opts *opts, const struct promql_source *src,
				struct ob_arena *arena, struct promql_result *out, char *errbuf);

/*
 * Evaluate e at start, start+step, ... <= end: a range query.  The result
 * is a PROMQL_MATRIX (a scalar expression gives one series without
 * labels, as Prometheus does).  e must be a scalar or instant vector.
 */
enum ob_err promql_eval_range(const struct promql_expr *e, int64_t start, int64_t end,
			      int64_t step, const struct promql_opts *opts,
			      const struct promql_source *src, struct ob_arena *arena,
			      struct promql_result *out, char *errbuf);

/*
 * Parse a PromQL series selector ("up{job=~"a.*"}", as in match[]) into
 * matchers in arena.  OB_EINVAL for anything that is not a selector.
 */
enum ob_err promql_parse_selector(const char *text, struct ob_arena *arena,
				  struct promql_matcher **out, size_t *n, char *errbuf);

/* Free the compiled regexes of n matchers from promql_parse_selector. */
void promql_matchers_release(struct promql_matcher *m, size_t n);

/* Prometheus's duration syntax ("1h30m", "5m", "100ms") in ms. */
enum ob_err promql_parse_duration(const char *s, int64_t *ms);

#endif
