/*
 * traceql_metrics.h - TraceQL metrics ("{ } | rate() by (resource.service.name)")
 * over a time range, as Tempo's /api/metrics/query_range answers them.
 *
 * The caller makes an accumulator for a parsed metrics query and a range,
 * shows it every trace that may hold spans in the range (each once), and
 * then takes the series:
 *
 *	struct traceql_metrics *m;
 *	struct traceql_series_set set;
 *
 *	if ((err = traceql_metrics_new(q, start, end, step, &m, errbuf)))
 *		return err;
 *	for (each candidate trace t)
 *		traceql_metrics_observe(m, &t);
 *	err = traceql_metrics_finish(m, &set, errbuf);
 *	traceql_metrics_free(m);
 *	... traceql_series_set_release(&set);
 *
 * Steps follow Tempo: start is rounded down and end up to a multiple of
 * step; the samples are at every multiple T from the rounded start to the
 * rounded end, and the sample at T counts the spans that started in
 * (T - step, T].  An instant query (step = end - start) has one sample, at
 * end, over the spans that started in [start, end].  A span is counted by
 * its start time alone; the query decides which spans (the union of the
 * spansets its pipeline leaves).
 *
 * Functions: rate() is spans per second (count / step in seconds);
 * count_over_time() the count; sum/avg/min/max_over_time(x) of a number
 * or duration (durations in seconds; spans without a number are skipped);
 * quantile_over_time(x, q...) one series per q, label "p", computed
 * exactly (linear interpolation between the nearest ranks of the step's
 * values) where Tempo interpolates within power-of-two buckets;
 * histogram_over_time(x) one series per power-of-two bucket, label
 * "__bucket" (the bucket's upper bound, in seconds for durations), as
 * Tempo.  by() labels are the fields' values, typed; a nil value drops
 * its label (all nil: the first label, valued nil); without by() the one
 * series is labelled __name__ = the function's name.  topk(k)/bottomk(k)
 * keep the k series with the highest/lowest mean of their samples.
 *
 * Bounds: at most TRACEQL_METRICS_MAX_SERIES series,
 * TRACEQL_METRICS_MAX_POINTS intervals and TRACEQL_METRICS_MAX_CELLS
 * series times intervals; quantiles keep every value and stop at
 * TRACEQL_METRICS_MAX_VALUES of them.  Past a bound finish()
 * fails with OB_ETOOBIG and says which.
 */
#ifndef OB_MODEL_TRACEQL_METRICS_H
#define OB_MODEL_TRACEQL_METRICS_H

#include <stdint.h>

#include "core/err.h"
#include "model/trace.h"
#include "model/traceql.h"

#define TRACEQL_METRICS_MAX_SERIES 20000
#define TRACEQL_METRICS_MAX_POINTS 11000
#define TRACEQL_METRICS_MAX_VALUES (20 * 1000 * 1000)
#define TRACEQL_METRICS_MAX_CELLS (20 * 1000 * 1000)

struct traceql_series {
	struct traceql_attr *labels;    /* keys live as long as the query */
	size_t nlabels;
	char *prom_labels;              /* {a="x", b="y"} */
	double *values;                 /* one per interval; NaN: no sample */
};

struct traceql_series_set {
	struct traceql_series *series;
	size_t nseries;
	size_t npoints;                 /* values per series */
	uint64_t first_ns, step_ns;     /* sample i is at first_ns + i * step_ns */
};

struct traceql_metrics;

/*
 * An accumulator for metrics query q (traceql_is_metrics) over [start_ns,
 * end_ns] with step_ns (end - start for an instant query).  q must outlive
 * it.  OB_EINVAL for a query that is not a metrics query, or a bad range;
 * OB_ETOOBIG for more than TRACEQL_METRICS_MAX_POINTS steps.
 */
enum ob_err traceql_metrics_new(const struct traceql_query *q, uint64_t start_ns,
				uint64_t end_ns, uint64_t step_ns, struct traceql_metrics **out,
				char *errbuf);
/* The span start times the range counts: [*from, *to]. */
void traceql_metrics_window(const struct traceql_metrics *m, uint64_t *from, uint64_t *to);
/*
 * Facts every span the query counts satisfies, for the store to skip
 * traces (see traceql_hints_get): the span fields (service, span_name,
 * min_span_duration_ns, needs_error) describe each counted span itself,
 * so a trace without such a span in the window has nothing to count.
 * All zero when the query cannot promise that (a structural operator or
 * && between spansets may count spans other than the one the hints name).
 * Strings point into the query.
 */
void traceql_metrics_hints(const struct traceql_metrics *m, struct traceql_hints *h);
/*
 * Can counts of spans per (service, name, kind, status) and start minute
 * answer the query?  rate() or count_over_time() of one filter whose
 * conditions and by() fields read only resource.service.name, name, kind
 * and status ("{ kind = server && status = error } | rate() by
 * (resource.service.name)"), no pipeline, steps and first sample on whole
 * minutes.  Then traceql_metrics_add_row() takes such counts instead of
 * traces (store/tqlmetrics.c reads them from the rollups).
 */
bool traceql_metrics_counts_rows(const struct traceql_metrics *m);
/* Are the steps and the first sample whole hours? */
bool traceql_metrics_hour_aligned(const struct traceql_metrics *m);
/* n spans of (service, name, kind, status code) that started at ts, counted if the query
 * matches such a span. */
void traceql_metrics_add_row(struct traceql_metrics *m, const char *service, const char *name,
			     int kind, int status, uint64_t ts, double n);
/* Evaluate the query on t and count its spans that started in the window. */
void traceql_metrics_observe(struct traceql_metrics *m, const struct ob_trace *t);
/*
 * Another empty accumulator for the same query and range, for a second
 * thread; traceql_metrics_merge() then adds what it counted into m and
 * frees it.  Each accumulator is used by one thread at a time.
 */
struct traceql_metrics *traceql_metrics_fork(const struct traceql_metrics *m);
void traceql_metrics_merge(struct traceql_metrics *m, struct traceql_metrics *other);
/* The series (empty series left out), sorted by prom_labels. */
enum ob_err traceql_metrics_finish(struct traceql_metrics *m, struct traceql_series_set *out,
				   char *errbuf);
void traceql_metrics_free(struct traceql_metrics *m);
void traceql_series_set_release(struct traceql_series_set *s);

#endif
