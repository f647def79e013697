/*
 * otlp_metrics.h - OTLP metrics (ExportMetricsServiceRequest, protobuf or
 * OTLP/JSON) mapped to Prometheus series (struct series_write), as the
 * OpenTelemetry specification's "Prometheus and OpenMetrics Compatibility"
 * says.  Bytes in, model out, no I/O.
 *
 * The mapping, in short (otlp_metrics.c has the details and the reasons):
 *
 *   OTLP                                  Prometheus
 *   ------------------------------------  ---------------------------------
 *   metric name + unit                    sanitized name + unit suffix
 *                                         (ms -> _milliseconds, 1 -> _ratio
 *                                         for gauges, {x} dropped, a/b ->
 *                                         a_per_b) + _total for counters
 *   gauge                                 gauge
 *   sum, cumulative, monotonic            counter (name_total)
 *   sum, delta, monotonic                 counter, accumulated (state)
 *   sum, cumulative, non-monotonic        gauge (info, stateset when the
 *                                         metadata prometheus.type says so)
 *   sum, delta, non-monotonic             rejected (the spec: dropped)
 *   histogram (cumulative or delta)       name_bucket{le} (cumulative, +Inf
 *                                         last), name_sum (when sent),
 *                                         name_count
 *   exponential histogram, cumulative     native histogram (scale > 8
 *                                         downscaled, < -4 dropped)
 *   exponential histogram, delta          accumulated, then as above (the
 *                                         spec drops them; buckets of two
 *                                         scales add up exactly at the
 *                                         coarser one, so obstui keeps them)
 *   summary                               name{quantile}, name_sum, name_count
 *   point attributes                      labels (sanitized; colliding keys
 *                                         joined with ';' in key order)
 *   service.namespace/service.name        job
 *   service.instance.id                   instance
 *   other resource attributes             target_info{job,instance,...} = 1,
 *                                         one per job/instance and request
 *   scope name, version, schema URL,      otel_scope_name, otel_scope_version,
 *   attributes                            otel_scope_schema_url,
 *                                         otel_scope_<key> labels
 *   exemplars (sums, histograms)          exemplars with trace_id, span_id
 *                                         (lowercase hex) + filtered attrs
 *   flags NO_RECORDED_VALUE               stale marker (the stale NaN)
 *   description, unit, type               metadata (help, unit, type)
 *
 * Points that cannot be mapped are rejected, counted and named in the
 * result, for OTLP's partial_success: a histogram whose bucket_counts
 * does not have one more element than explicit_bounds (or none), or
 * whose bounds do not increase; an exponential histogram whose scale is
 * below -4; a delta point that goes back in time; a non-monotonic delta
 * sum; a point without a time or a value; the points of a metric without
 * a name or with an unspecified temporality.  The rest of the request is
 * mapped.  A metric with no data has no points and is skipped.
 *
 * What comes out: every series_in holds one sample (or one native
 * histogram) and a sorted label set; two series_in may have the same
 * label set (two points of one series in one request), as in remote
 * write.  All strings are copied into the arena: *out does not point
 * into the request.  Metadata: one entry per metric (family = the name
 * of its value series, or the histogram/summary base name), plus
 * target_info.
 *
 * Delta temporality needs state across requests: struct
 * otlp_metrics_state keeps, per output series, the running totals and
 * the start and end of the last delta added.  It is bounded (least
 * recently used entries are evicted past max_entries, or past 256 MiB of
 * entries; an evicted series starts again from its next delta, which
 * PromQL's rate() reads as a counter reset) and thread-safe (one mutex;
 * several receiver threads may share one state).  It lives in memory:
 * after a restart delta series start again from zero, as after an
 * eviction.  A delta point
 * whose start and end times equal the last one accumulated for its series
 * is a retry of a request whose answer was lost: it is not added twice.
 *
 * Source locations: src/codec/otlp_metrics.c (the walk, labels,
 * emission), src/codec/otlp_metrics_points.c (gauges, sums, histograms,
 * summaries), src/codec/otlp_metrics_exp.c (exponential histograms),
 * src/codec/otlp_metrics_names.c (names, units, label values),
 * src/codec/otlp_metrics_state.c (delta accumulation),
 * src/codec/otlp_metrics_int.h (what they share).  Tests in
 * tests/unit/test_otlp_metrics.c, tests/fuzz/fuzz_otlp_metrics.c.
 */
#ifndef OB_CODEC_OTLP_METRICS_H
#define OB_CODEC_OTLP_METRICS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "core/arena.h"
#include "core/err.h"
#include "model/otlp_metrics.h"
#include "model/series.h"

#define OTLP_METRICS_DEFAULT_STATE_ENTRIES 100000
#define OTLP_METRICS_DEFAULT_MAX_SERIES 1000000
#define OTLP_METRICS_MAX_BUCKETS 4096   /* explicit bounds or exp buckets per point */

struct otlp_metrics_state;

/* Options; otlp_metrics_options_default gives the spec's defaults. */
struct otlp_metrics_options {
	bool type_suffixes;     /* unit and _total suffixes (default true) */
	bool scope_labels;      /* otel_scope_* labels (default true) */
	bool target_info;       /* target_info series (default true) */
	size_t max_series;      /* output series per request; more is OB_ETOOBIG */
};

void otlp_metrics_options_default(struct otlp_metrics_options *opt);

/* What was left out, for ExportMetricsPartialSuccess. */
struct otlp_metrics_result {
	int64_t rejected_points;        /* rejected_data_points */
	/* "" when none; else the first rejection, naming its metric. */
	char message[OB_ERRLEN];
};

/*
 * A delta-accumulation state holding at most max_entries series (0: the
 * default).  Free with otlp_metrics_state_free; NULL is a no-op.
 */
struct otlp_metrics_state *otlp_metrics_state_new(size_t max_entries);
void otlp_metrics_state_free(struct otlp_metrics_state *st);
/* Series currently held (for tests and /metrics). */
size_t otlp_metrics_state_count(struct otlp_metrics_state *st);

/*
 * Map a decoded request to *out, allocated in arena.  opt NULL: defaults.
 * state may be NULL: delta points are then rejected (counted in *res)
 * since they cannot be made cumulative.  *res (required) is filled.
 *
 * Returns OB_OK (rejected points, if any, are in *res), or OB_ETOOBIG
 * (more output series than opt->max_series, or the arena's cap), with
 * errbuf.  On error *out is empty.  Delta points mapped before the error
 * have updated state (harmless: a retry is recognised, see above).
 */
enum ob_err otlp_metrics_map(const otlp_metrics_export_request *req,
			     const struct otlp_metrics_options *opt, struct otlp_metrics_state *state,
			     struct ob_arena *arena, struct series_write *out,
			     struct otlp_metrics_result *res, char *errbuf);

/*
 * Decode an ExportMetricsServiceRequest in protobuf p[0..n) (through
 * otlp_pb_decode, so the nesting guard applies) and map it as above.
 * OB_EINVAL when the bytes are not that message (or nest too deep).
 */
enum ob_err otlp_metrics_decode_pb(const uint8_t *p, size_t n,
				   const struct otlp_metrics_options *opt,
				   struct otlp_metrics_state *state, struct ob_arena *arena,
				   struct series_write *out, struct otlp_metrics_result *res,
				   char *errbuf);

/*
 * The same for OTLP/JSON text json[0..len) (through otlp_json_decode of
 * codec/otlp_json.h, whose JSON nesting limits apply): OB_EINVAL when it
 * is not an ExportMetricsServiceRequest in OTLP/JSON (errbuf names the
 * field), OB_EUNSUPPORTED when a string holds U+0000 (answer 400 too).
 */
enum ob_err otlp_metrics_decode_json(const char *json, size_t len,
				     const struct otlp_metrics_options *opt,
				     struct otlp_metrics_state *state, struct ob_arena *arena,
				     struct series_write *out, struct otlp_metrics_result *res,
				     char *errbuf);

#endif
