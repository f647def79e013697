/*
 * otlp_metrics_int.h - what the parts of the OTLP metrics mapping share
 * (otlp_metrics.c: the walk and the point types; otlp_metrics_names.c:
 * names, units, label values; otlp_metrics_state.c: delta accumulation).
 * Not an API: nothing outside src/codec/otlp_metrics*.c includes it.
 */
#ifndef OB_CODEC_OTLP_METRICS_INT_H
#define OB_CODEC_OTLP_METRICS_INT_H

#include "codec/otlp_metrics.h"
#include "core/buf.h"

/* What a metric becomes, for its name and metadata. */
enum om_kind {
	OM_GAUGE,
	OM_COUNTER,             /* monotonic sum: the _total suffix */
	OM_HISTOGRAM,
	OM_SUMMARY,
};

/* ---- the walk (otlp_metrics.c) and the point types (otlp_metrics_points.c) ---- */

/* A label on its way into a set: prio decides collisions (see om_base_labels). */
struct om_label {
	const char *name;
	const char *value;
	const char *key;        /* the attribute key it came from, for ordering joins */
	int prio;               /* 0 point attribute, 1 scope, 2 job/instance */
};

/* A sanitized label name per attribute key (otlp_metrics.c). */
#define OM_NAME_CACHE 256
struct om_name_cache {
	const char *key, *name;
};

/* One mapping call. */
struct om {
	struct otlp_metrics_options opt;
	struct otlp_metrics_state *state;
	struct ob_arena *a;
	struct series_write *out;
	size_t cap_series, cap_meta;
	struct series_sample *samples;          /* pool: one per float series */
	size_t nsamples_used, cap_samples;
	struct otlp_metrics_result *res;
	char *errbuf;
	enum ob_err err;                        /* OB_ETOOBIG once the arena is full */
	/* the resource and scope being walked */
	const char *job, *instance;
	struct om_label *scope;
	size_t nscope;
	int64_t latest_ms;                      /* newest point of the resource */
	/* the metric being walked */
	const otlp_metric *metric;
	/* heap scratch */
	struct om_label *tmp;
	size_t tmp_alloc;
	struct ob_buf key;                      /* series identity for the state */
	struct om_name_cache *names;            /* OM_NAME_CACHE entries (heap) */
	const char **targets;                   /* job, instance pairs with a target_info */
	size_t ntargets, targets_alloc;
};

/* Count n points of the current metric as rejected; the first message wins. */
void om_reject(struct om *m, size_t n, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Note that the arena is full (m->err = OB_ETOOBIG); returns false. */
bool om_full(struct om *m);
/*
 * The labels of a point without __name__: its attributes (sanitized,
 * colliding names joined with ';' in key order), the scope labels and
 * job/instance (which win over attributes of the same name), sorted,
 * empty values left out.  false when the arena is full.
 */
bool om_base_labels(struct om *m, otlp_key_value *const *attrs, size_t nattrs,
		    struct series_labels *out);
/*
 * Add a series: base + __name__=name (+ extra=extra_value when extra is
 * not NULL), with one float sample, or one histogram when h is not NULL.
 * Returns the series (to hang exemplars on), NULL when the arena is full.
 */
struct series_in *om_emit(struct om *m, const struct series_labels *base, const char *name,
			  const char *extra, const char *extra_value, int64_t t_ms, double v,
			  struct series_histogram *h);
/*
 * The identity of base + name for the delta state, in m->key; kind ('s'
 * sum, 'h' histogram, 'e' exponential) keeps a metric that changes type
 * from meeting its old totals.
 */
void om_state_key(struct om *m, char kind, const struct series_labels *base, const char *name);
/* Add metadata for the current metric. */
void om_meta(struct om *m, const char *family, enum series_type type, const char *unit);
/* Exemplars of a point as Prometheus ones on s (all of them, or those in (lo, hi]). */
bool om_exemplars(struct om *m, struct series_in *s, otlp_exemplar *const *ex, size_t n,
		  double lo, double hi);

/* Whether a point's flags say NO_RECORDED_VALUE (it maps to stale markers). */
static inline bool
no_recorded(uint32_t flags)
{
	return flags & OTLP_FLAG_NO_RECORDED_VALUE;
}
/* The point's time in ms (and the resource's newest); rejects a point with none. */
bool om_point_time(struct om *m, uint64_t ns, int64_t *ms);
/* Whether points of this temporality can be mapped; rejects all n if not. */
bool om_temporality_ok(struct om *m, int temporality, size_t n);
/* Whether there is a state for delta points; rejects the point if not. */
bool om_have_state(struct om *m);
/* Reject a delta point the state refused. */
void om_delta_refused(struct om *m, int r);

/* The point types: each maps every point of the current metric. */
void om_gauge(struct om *m, const otlp_gauge *g);
void om_sum(struct om *m, const otlp_sum *s);
void om_histogram(struct om *m, const otlp_histogram *h);
void om_exp_histogram(struct om *m, const otlp_exp_histogram *h);
void om_summary(struct om *m, const otlp_summary *s);

/* ---- names (otlp_metrics_names.c) ---- */

/*
 * The Prometheus metric name of an OTLP metric: name sanitized (invalid
 * characters to '_', runs of '_' to one, a leading digit prefixed with
 * '_'), then the unit suffix unless the name has it already, then _total
 * for counters.  *unit_out (may be NULL) gets the Prometheus unit ("" if
 * none), for metadata.  NULL past the arena's cap.
 */
char *om_metric_name(struct ob_arena *a, const char *name, const char *unit, enum om_kind kind,
		     bool suffixes, const char **unit_out);
/* The Prometheus unit of a UCUM unit ("ms" -> "milliseconds"), "" if none. */
char *om_unit(struct ob_arena *a, const char *unit, enum om_kind kind);
/*
 * A label name from an attribute key: invalid characters to '_', runs of
 * '_' to one, a leading digit prefixed with "key_", an empty key "key_".
 * prefix (may be "") goes in front, e.g. "otel_scope_".
 */
char *om_label_name(struct ob_arena *a, const char *prefix, const char *key);
/*
 * The label value of an attribute value: strings as they are (bad UTF-8
 * bytes as U+FFFD), bool "true"/"false", integers in decimal, doubles as
 * ob_float_text (core/jsonw.h), bytes in base64, arrays and key-value lists as JSON.
 */
char *om_value_string(struct ob_arena *a, const otlp_any_value *v);
/*
 * x in the fewest digits that read back exactly, without an exponent
 * (Go's strconv.FormatFloat(x, 'f', -1, 64), which Prometheus uses for le
 * and quantile labels): 0.005, 1, 1000000, +Inf, -Inf, NaN.  buf holds
 * at least 400 bytes.
 */


/* ---- delta accumulation (otlp_metrics_state.c) ---- */

/* Outcome of adding one delta point. */
enum om_delta {
	OM_DELTA_ADDED,         /* added; the totals include it */
	OM_DELTA_RETRY,         /* the same point as last time: totals unchanged */
	OM_DELTA_OLD,           /* older than the last point: rejected */
	OM_DELTA_TOO_WIDE,      /* exponential buckets would span too many: rejected */
};

/*
 * Add a delta (sum) for the series key[0..keylen) (its identity; any
 * bytes) ending at time_ns and starting at start_ns; *total gets the
 * running total.
 */
enum om_delta om_state_add_sum(struct otlp_metrics_state *st, const void *key, size_t keylen,
			       uint64_t start_ns, uint64_t time_ns, double delta, double *total);

/*
 * The same for a histogram: nb bucket counts (bounds_hash identifies the
 * bucket layout: a new layout starts the accumulation again), count and
 * sum.  buckets[] is replaced by the running totals, *count and *sum too.
 */
enum om_delta om_state_add_hist(struct otlp_metrics_state *st, const void *key, size_t keylen,
				uint64_t start_ns, uint64_t time_ns, uint64_t bounds_hash,
				double *buckets, size_t nb, double *count, double *sum);

/*
 * The same for an exponential histogram at one scale: dense positive and
 * negative counts from their offsets.  The running totals come back in
 * arena memory (*pos, *npos, *pos_offset ...).  Points at different
 * scales are brought to the coarser one (e->scale may come back lower).
 * OM_DELTA_TOO_WIDE when the accumulated range would pass
 * OTLP_METRICS_MAX_BUCKETS buckets even at scale -4.
 */
struct om_exp {
	int32_t scale;
	double count, sum, zero_count;
	int32_t pos_offset, neg_offset;
	double *pos, *neg;
	size_t npos, nneg;
};
enum om_delta om_state_add_exp(struct otlp_metrics_state *st, const void *key, size_t keylen,
			       uint64_t start_ns, uint64_t time_ns, struct om_exp *e,
			       struct ob_arena *arena);

/* 64-bit FNV-1a of p[0..n), continuing from h (start with OM_HASH_INIT). */
#define OM_HASH_INIT 0xcbf29ce484222325ULL
uint64_t om_hash(uint64_t h, const void *p, size_t n);

#endif
