/*
 * series.h - Prometheus series as obstui holds them in memory: label sets,
 * float samples, native histogram samples, exemplars and metadata.
 *
 * This is the model that every metrics path shares: the remote-write and
 * OTLP-metrics codecs produce a struct series_write; the metrics head and
 * the TSDB block reader hand struct series_data to the PromQL engine.
 *
 * Conventions (those of Prometheus):
 *   - time is int64 milliseconds since the Unix epoch;
 *   - a label set is sorted by name, names unique, no empty value
 *     (a label with an empty value is the same as no label); the metric
 *     name is the label "__name__";
 *   - a stale marker is the float NaN with the bit pattern
 *     SERIES_STALE_NAN_BITS (series_is_stale tells it from other NaNs).
 *
 * Ownership: these are plain structs; whoever made one says where its
 * memory lives (usually an arena that dies with the request or query).
 */
#ifndef OB_MODEL_SERIES_H
#define OB_MODEL_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#define SERIES_STALE_NAN_BITS 0x7ff0000000000002ULL

static inline double series_stale_nan(void)
{
	uint64_t bits = SERIES_STALE_NAN_BITS;
	double d;
	memcpy(&d, &bits, sizeof d);
	return d;
}

static inline bool series_is_stale(double v)
{
	uint64_t bits;
	memcpy(&bits, &v, sizeof bits);
	return bits == SERIES_STALE_NAN_BITS;
}

struct series_label {
	const char *name;
	const char *value;
};

/* Sorted by name; see the conventions above. */
struct series_labels {
	struct series_label *v;
	size_t n;
};

struct series_sample {
	int64_t t;              /* ms */
	double v;
};

/* A run of buckets in a native histogram: skip offset, then length buckets. */
struct series_span {
	int32_t offset;
	uint32_t length;
};

enum series_reset_hint {
	SERIES_RESET_UNKNOWN = 0,
	SERIES_RESET_YES = 1,
	SERIES_RESET_NO = 2,
	SERIES_RESET_GAUGE = 3,   /* a gauge histogram: resets mean nothing */
};

/*
 * A native histogram sample, always with absolute (not delta) bucket
 * counts as doubles: the "float histogram" of Prometheus.  is_int says it
 * was sent with integer counts (remote write's count_int, OTLP), so a
 * block writer may use the integer chunk encoding.  schema -4..8 are the
 * exponential schemas; -53 is custom buckets, whose upper bounds are in
 * custom_values.  A stale marker is a histogram whose sum is the stale NaN.
 */
struct series_histogram {
	int64_t t;                  /* ms */
	int32_t schema;
	bool is_int;
	uint8_t reset_hint;         /* enum series_reset_hint */
	double zero_threshold;
	double zero_count;
	double count;
	double sum;
	struct series_span *pos_spans;
	size_t npos_spans;
	double *pos;                /* absolute counts, one per bucket of pos_spans */
	size_t npos;
	struct series_span *neg_spans;
	size_t nneg_spans;
	double *neg;
	size_t nneg;
	double *custom_values;      /* schema -53 only */
	size_t ncustom;
};

struct series_exemplar {
	struct series_labels labels;    /* trace_id, span_id, ... */
	double v;
	int64_t t;                      /* ms; 0 when the sender gave none */
};

/* Metric types as remote write's MetricMetadata numbers them. */
enum series_type {
	SERIES_TYPE_UNKNOWN = 0,
	SERIES_TYPE_COUNTER = 1,
	SERIES_TYPE_GAUGE = 2,
	SERIES_TYPE_HISTOGRAM = 3,
	SERIES_TYPE_GAUGEHISTOGRAM = 4,
	SERIES_TYPE_SUMMARY = 5,
	SERIES_TYPE_INFO = 6,
	SERIES_TYPE_STATESET = 7,
};

struct series_meta {
	const char *family;         /* metric family name, e.g. "http_requests" */
	uint8_t type;               /* enum series_type */
	const char *help;
	const char *unit;
};

/* One series of a write: its labels and what was sent for it. */
struct series_in {
	struct series_labels labels;
	struct series_sample *samples;      /* in the order sent */
	size_t nsamples;
	struct series_histogram *hists;
	size_t nhists;
	struct series_exemplar *exemplars;
	size_t nexemplars;
};

/*
 * A decoded write (one remote-write request, or one OTLP metrics export
 * after mapping to series).  Everything lives in the arena the decoder was
 * given.  A write is stored wholly or not at all.
 */
struct series_write {
	struct series_in *series;
	size_t nseries;
	struct series_meta *meta;
	size_t nmeta;
	size_t nsamples;            /* float + histogram samples, for counters */
	size_t nexemplars;
};

/* One series as read back: labels and its samples in time order. */
struct series_data {
	struct series_labels labels;
	struct series_sample *f;
	size_t nf;
	struct series_histogram *h;
	size_t nh;
};

/* A label name: [a-zA-Z_][a-zA-Z0-9_]*, s[0..n). */
bool series_label_name_valid(const char *s, size_t n);
/* A metric name: [a-zA-Z_:][a-zA-Z0-9_:]*, s[0..n). */
bool series_metric_name_valid(const char *s, size_t n);

/*
 * The upper bound of bucket idx of an exponential native histogram schema
 * (-4..8): 2^(idx * 2^-schema), computed as Prometheus does (+Inf past
 * the largest double); bucket idx spans (bound(idx-1), bound(idx)].
 */
double series_hist_bound(int32_t idx, int32_t schema);

/* Order of label sets: name by name, then value, then the shorter first (Prometheus's). */
int series_labels_cmp(const struct series_labels *a, const struct series_labels *b);

/* The value of a label, or NULL (a label with an empty value is no label). */
static inline const char *series_label_get(const struct series_labels *ls, const char *name)
{
	for (size_t i = 0; i < ls->n; i++)
		if (strcmp(ls->v[i].name, name) == 0)
			return ls->v[i].value;
	return NULL;
}

#endif
