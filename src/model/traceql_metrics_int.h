/*
 * traceql_metrics_int.h - the accumulator's insides, shared by
 * traceql_metrics.c (observing spans) and traceql_metrics_out.c (making
 * series of it); nothing else includes it.
 */
#ifndef OB_MODEL_TRACEQL_METRICS_INT_H
#define OB_MODEL_TRACEQL_METRICS_INT_H

#include "core/buf.h"
#include "model/traceql_ast.h"

struct values {
	double *v;
	size_t n, cap;
};

struct mseries {
	char *key;
	struct tq_value vals[TQ_MAX_BY];
	bool has[TQ_MAX_BY];
	double bucket;                  /* histogram: the bucket's bound */
	double *acc, *count;            /* npoints each (count: avg only) */
	struct values *all;             /* quantiles: npoints */
};

struct traceql_metrics {
	const struct traceql_query *q;
	const struct tq_metrics *mq;
	double weight;                  /* what a counted span adds (1; a rollup row's count) */
	uint64_t first, step, from, to;
	size_t npoints;
	bool instant;
	struct mseries *s;
	size_t ns, cap;
	uint32_t *slots;
	size_t nslots;
	size_t last;                    /* +1; 0: none */
	size_t nvalues;
	bool too_many_series, too_many_values;
	struct ob_buf key;
	bool *matched;
	size_t matched_cap;
};

#endif
