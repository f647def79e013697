/*
 * api_prom_json.c - a PromQL result as Prometheus's whole answer
 * ({"status":"success","data":...,"warnings":[...]}), written straight into the response buffer (a range query over
 * many series is too big to build as a jansson tree first).
 *
 *	vector  {"resultType":"vector","result":[{"metric":{..},"value":[t,"v"]}]}
 *	        (a native histogram: "histogram":[t,{"count":"c","sum":"s",
 *	        "buckets":[[boundaries,"lower","upper","count"],..]}])
 *	matrix  {"resultType":"matrix","result":[{"metric":{..},"values":[[t,"v"],..],
 *	        "histograms":[[t,{..}],..]}]}
 *	scalar  {"resultType":"scalar","result":[t,"v"]}
 *	string  {"resultType":"string","result":[t,"s"]}
 *
 * Times are seconds with up to three decimals and values are strings in
 * Go's shortest form ("NaN", "+Inf"), as Prometheus writes them.  Bucket
 * boundaries: 0 (lower, upper], 1 [lower, upper), 2 open, 3 closed.
 */
#include "api/api_int.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/jsonw.h"
#include "core/mem.h"

static void
put_labels(struct ob_buf *b, const struct series_labels *ls)
{
	size_t i;

	ob_buf_add(b, "{", 1);
	for (i = 0; i < ls->n; i++) {
		if (i)
			ob_buf_add(b, ",", 1);
		ob_json_cstring(b, ls->v[i].name);
		ob_buf_add(b, ":", 1);
		ob_json_cstring(b, ls->v[i].value);
	}
	ob_buf_add(b, "}", 1);
}

static void
put_float(struct ob_buf *b, double v)
{
	char t[OB_FLOAT_TEXT];

	ob_float_text(v, t);
	ob_buf_add(b, "\"", 1);
	ob_buf_addstr(b, t);
	ob_buf_add(b, "\"", 1);
}

static void
put_time(struct ob_buf *b, int64_t ms)
{
	char t[32];

	ob_ms_text(ms, t);
	ob_buf_addstr(b, t);
}

static void
put_point(struct ob_buf *b, const struct series_sample *s)
{
	ob_buf_add(b, "[", 1);
	put_time(b, s->t);
	ob_buf_add(b, ",", 1);
	put_float(b, s->v);
	ob_buf_add(b, "]", 1);
}

/*
 * The upper bound of bucket idx in an exponential schema: 2^(idx * 2^-schema).
 * Custom buckets (schema -53) take their bounds from the histogram.
 */
static double
bucket_upper(const struct series_histogram *h, int32_t idx)
{
	if (h->schema == -53) {
		if (idx < 0)
			return -INFINITY;
		return (size_t)idx < h->ncustom ? h->custom_values[idx] : INFINITY;
	}
	return series_hist_bound(idx, h->schema);
}

static double
bucket_lower(const struct series_histogram *h, int32_t idx)
{
	if (h->schema == -53)
		return idx == 0 ? -INFINITY : bucket_upper(h, idx - 1);
	return bucket_upper(h, idx - 1);
}

static void
put_bucket(struct ob_buf *b, bool *first, int boundaries, double lo, double hi, double count)
{
	ob_buf_addf(b, "%s[%d,", *first ? "" : ",", boundaries);
	put_float(b, lo);
	ob_buf_add(b, ",", 1);
	put_float(b, hi);
	ob_buf_add(b, ",", 1);
	put_float(b, count);
	ob_buf_add(b, "]", 1);
	*first = false;
}

/*
 * One side's buckets, lowest first as Prometheus lists them: positive
 * buckets by rising index, negative ones by falling index (the most
 * negative first).  Empty buckets are left out, as Prometheus does.
 */
static void
put_side(struct ob_buf *b, bool *first, const struct series_histogram *h, bool negative)
{
	const struct series_span *spans = negative ? h->neg_spans : h->pos_spans;
	size_t nspans = negative ? h->nneg_spans : h->npos_spans;
	const double *counts = negative ? h->neg : h->pos;
	size_t ncounts = negative ? h->nneg : h->npos, k = 0, s, n = 0;
	int32_t idx = 0, *index;

	if (ncounts == 0)
		return;
	index = ob_xmalloc(ncounts * sizeof *index);
	for (s = 0; s < nspans; s++) {
		idx += spans[s].offset;
		for (uint32_t j = 0; j < spans[s].length && k < ncounts; j++, idx++, k++)
			index[n++] = idx;
	}
	for (k = 0; k < n; k++) {
		size_t i = negative ? n - 1 - k : k;

		if (counts[i] == 0)
			continue;
		if (negative)
			put_bucket(b, first, 1, -bucket_upper(h, index[i]), -bucket_lower(h, index[i]),
				   counts[i]);
		else
			put_bucket(b, first, 0, bucket_lower(h, index[i]), bucket_upper(h, index[i]),
				   counts[i]);
	}
	free(index);
}

static void
put_histogram(struct ob_buf *b, const struct series_histogram *h)
{
	bool first = true;

	ob_buf_add(b, "[", 1);
	put_time(b, h->t);
	ob_buf_addstr(b, ",{\"count\":");
	put_float(b, h->count);
	ob_buf_addstr(b, ",\"sum\":");
	put_float(b, h->sum);
	ob_buf_addstr(b, ",\"buckets\":[");
	put_side(b, &first, h, true);
	/* as Prometheus's bucket iterator: the zero bucket only when positive */
	if (h->zero_count > 0)
		put_bucket(b, &first, 3, -h->zero_threshold, h->zero_threshold, h->zero_count);
	put_side(b, &first, h, false);
	ob_buf_addstr(b, "]}]");
}

static enum ob_err
result_json(struct ob_buf *b, const struct promql_result *r)
{
	static const char *const types[] = {
		[PROMQL_NONE] = "none", [PROMQL_SCALAR] = "scalar", [PROMQL_STRING] = "string",
		[PROMQL_VECTOR] = "vector", [PROMQL_MATRIX] = "matrix",
	};
	size_t i, j;

	ob_buf_addf(b, "{\"resultType\":\"%s\",\"result\":", types[r->type]);
	switch (r->type) {
	case PROMQL_SCALAR: {
		struct series_sample s = { r->scalar_t, r->scalar };

		put_point(b, &s);
		break;
	}
	case PROMQL_STRING:
		ob_buf_add(b, "[", 1);
		put_time(b, r->scalar_t);
		ob_buf_add(b, ",", 1);
		ob_json_cstring(b, r->string ? r->string : "");
		ob_buf_add(b, "]", 1);
		break;
	case PROMQL_VECTOR:
	case PROMQL_MATRIX:
		ob_buf_add(b, "[", 1);
		for (i = 0; i < r->nseries; i++) {
			const struct promql_series *s = &r->series[i];

			ob_buf_addstr(b, i ? ",{\"metric\":" : "{\"metric\":");
			put_labels(b, &s->labels);
			if (r->type == PROMQL_VECTOR) {
				if (s->nh) {
					ob_buf_addstr(b, ",\"histogram\":");
					put_histogram(b, &s->h[0]);
				} else if (s->nf) {
					ob_buf_addstr(b, ",\"value\":");
					put_point(b, &s->f[0]);
				}
			} else {
				if (s->nf) {
					ob_buf_addstr(b, ",\"values\":[");
					for (j = 0; j < s->nf; j++) {
						if (j)
							ob_buf_add(b, ",", 1);
						put_point(b, &s->f[j]);
					}
					ob_buf_add(b, "]", 1);
				}
				if (s->nh) {
					ob_buf_addstr(b, ",\"histograms\":[");
					for (j = 0; j < s->nh; j++) {
						if (j)
							ob_buf_add(b, ",", 1);
						put_histogram(b, &s->h[j]);
					}
					ob_buf_add(b, "]", 1);
				}
			}
			ob_buf_add(b, "}", 1);
		}
		ob_buf_add(b, "]", 1);
		break;
	default:
		ob_buf_addstr(b, "null");
		break;
	}
	return ob_buf_add(b, "}", 1);
}

enum ob_err
api_prom_answer_json(struct ob_buf *b, const struct promql_result *r)
{
	enum ob_err err;
	size_t i;

	ob_buf_addstr(b, "{\"status\":\"success\",\"data\":");
	if ((err = result_json(b, r)))
		return err;
	if (r->nwarnings) {
		ob_buf_addstr(b, ",\"warnings\":[");
		for (i = 0; i < r->nwarnings; i++) {
			if (i)
				ob_buf_add(b, ",", 1);
			ob_json_cstring(b, r->warnings[i]);
		}
		ob_buf_add(b, "]", 1);
	}
	return ob_buf_add(b, "}", 1);
}
