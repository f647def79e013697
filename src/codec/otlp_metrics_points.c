/*
 * otlp_metrics_points.c - each OTLP point type to Prometheus series (the
 * mapping table is in otlp_metrics.h; the walk, labels and emission in
 * otlp_metrics.c).
 *
 * Every point needs a time (time_unix_nano 0 is rejected: a sample
 * cannot be placed) and, unless its flags say NO_RECORDED_VALUE (then
 * every series it makes gets the stale marker), a value.  Delta points
 * go through the state (otlp_metrics_state.c) keyed by the label set of
 * the series they accumulate into; stale markers never touch the state.
 */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec/otlp_metrics_int.h"
#include "core/jsonw.h"

#define STALE_OR(stale, v) ((stale) ? series_stale_nan() : (v))

bool
om_point_time(struct om *m, uint64_t ns, int64_t *ms)
{
	if (ns == 0) {
		om_reject(m, 1, "a data point has no time (time_unix_nano is 0)");
		return false;
	}
	*ms = (int64_t)(ns / 1000000);
	if (*ms > m->latest_ms)
		m->latest_ms = *ms;
	return true;
}

/* The prometheus.type the metric's metadata names, or NULL. */
static const char *
type_hint(const otlp_metric *mt)
{
	for (size_t i = 0; i < mt->n_metadata; i++)
		if (strcmp(mt->metadata[i]->key, "prometheus.type") == 0 && mt->metadata[i]->value &&
		    mt->metadata[i]->value->value_case == OTLP_VALUE(STRING_VALUE))
			return mt->metadata[i]->value->string_value;
	return NULL;
}

/* The metric's Prometheus name, or NULL after rejecting its n points. */
static char *
metric_name(struct om *m, enum om_kind kind, size_t n, const char **unit)
{
	char *name;

	if (!m->metric->name[0]) {
		om_reject(m, n, "a metric has no name");
		return NULL;
	}
	name = om_metric_name(m->a, m->metric->name, m->metric->unit, kind, m->opt.type_suffixes,
			      unit);
	if (!name)
		om_full(m);
	return name;
}

static char *
suffixed(struct om *m, const char *name, const char *suffix)
{
	char *s = ob_arena_printf(m->a, "%s%s", name, suffix);

	if (!s)
		om_full(m);
	return s;
}

bool
om_temporality_ok(struct om *m, int temporality, size_t n)
{
	if (temporality == OTLP_TEMPORALITY(CUMULATIVE))
		return true;
	if (temporality != OTLP_TEMPORALITY(DELTA)) {
		om_reject(m, n, "the aggregation temporality is unspecified");
		return false;
	}
	return true;
}

bool
om_have_state(struct om *m)
{
	if (!m->state)
		om_reject(m, 1, "delta temporality cannot be accumulated here (no state)");
	return m->state != NULL;
}

static bool
number_value(struct om *m, const otlp_number_point *p, double *v)
{
	if (no_recorded(p->flags))
		*v = series_stale_nan();
	else if (p->value_case == OTLP_NUMBER(AS_DOUBLE))
		*v = p->as_double;
	else if (p->value_case == OTLP_NUMBER(AS_INT))
		*v = (double)p->as_int;
	else {
		om_reject(m, 1, "a data point has no value");
		return false;
	}
	return true;
}

void
om_delta_refused(struct om *m, int r)
{
	om_reject(m, 1, r == OM_DELTA_OLD
		  ? "a delta point ends no later than the last one accumulated for its series"
		  : "an exponential histogram's buckets span too wide a range to accumulate");
}

void
om_gauge(struct om *m, const otlp_gauge *g)
{
	const char *unit, *hint = type_hint(m->metric);
	char *name = metric_name(m, OM_GAUGE, g->n_data_points, &unit);

	if (!name)
		return;
	om_meta(m, name, hint && strcmp(hint, "unknown") == 0 ? SERIES_TYPE_UNKNOWN
							       : SERIES_TYPE_GAUGE, unit);
	for (size_t i = 0; i < g->n_data_points && !m->err; i++) {
		const otlp_number_point *p = g->data_points[i];
		struct series_labels base;
		int64_t ms;
		double v;

		if (!om_point_time(m, p->time_unix_nano, &ms) || !number_value(m, p, &v))
			continue;
		if (om_base_labels(m, p->attributes, p->n_attributes, &base))
			om_emit(m, &base, name, NULL, NULL, ms, v, NULL);
	}
}

void
om_sum(struct om *m, const otlp_sum *s)
{
	bool mono = s->is_monotonic, delta = s->aggregation_temporality == OTLP_TEMPORALITY(DELTA);
	const char *unit, *hint = type_hint(m->metric);
	char *name = metric_name(m, mono ? OM_COUNTER : OM_GAUGE, s->n_data_points, &unit);
	enum series_type type = mono ? SERIES_TYPE_COUNTER : SERIES_TYPE_GAUGE;

	if (!name || !om_temporality_ok(m, s->aggregation_temporality, s->n_data_points))
		return;
	if (delta && !mono) {
		/* the spec: delta sums that are not monotonic MUST be dropped */
		om_reject(m, s->n_data_points, "a non-monotonic sum with delta temporality cannot "
			  "be mapped to Prometheus (send it cumulative)");
		return;
	}
	if (!mono && !delta && hint && strcmp(hint, "info") == 0)
		type = SERIES_TYPE_INFO;
	else if (!mono && !delta && hint && strcmp(hint, "stateset") == 0)
		type = SERIES_TYPE_STATESET;
	om_meta(m, name, type, unit);
	for (size_t i = 0; i < s->n_data_points && !m->err; i++) {
		const otlp_number_point *p = s->data_points[i];
		struct series_labels base;
		struct series_in *out;
		int64_t ms;
		double v;

		if (!om_point_time(m, p->time_unix_nano, &ms) || !number_value(m, p, &v) ||
		    !om_base_labels(m, p->attributes, p->n_attributes, &base))
			continue;
		if (delta && !series_is_stale(v)) {
			enum om_delta r;

			if (!om_have_state(m))
				continue;
			om_state_key(m, 's', &base, name);
			r = om_state_add_sum(m->state, m->key.data, m->key.len,
					     p->start_time_unix_nano, p->time_unix_nano, v, &v);
			if (r == OM_DELTA_OLD || r == OM_DELTA_TOO_WIDE) {
				om_delta_refused(m, r);
				continue;
			}
		}
		out = om_emit(m, &base, name, NULL, NULL, ms, v, NULL);
		/* the spec keeps exemplars of monotonic sums and histograms only */
		if (out && mono)
			om_exemplars(m, out, p->exemplars, p->n_exemplars, -INFINITY, INFINITY);
	}
}

/* Why a histogram point cannot be mapped, or NULL. */
static const char *
histogram_problem(const otlp_histogram_point *p, char *buf, size_t size)
{
	size_t nb = p->n_bucket_counts, ne = p->n_explicit_bounds;

	if (nb != 0 && nb != ne + 1) {
		snprintf(buf, size, "a histogram point has %zu bucket counts for %zu explicit "
			 "bounds (it needs %zu, or none)", nb, ne, ne + 1);
		return buf;
	}
	if (ne > OTLP_METRICS_MAX_BUCKETS) {
		snprintf(buf, size, "a histogram point has %zu buckets, more than the limit of %d",
			 ne + 1, OTLP_METRICS_MAX_BUCKETS);
		return buf;
	}
	for (size_t i = 0; i < ne; i++)
		if (isnan(p->explicit_bounds[i]) || (i > 0 && !(p->explicit_bounds[i] >
								 p->explicit_bounds[i - 1]))) {
			snprintf(buf, size, "a histogram point's explicit bounds are not strictly "
				 "increasing");
			return buf;
		}
	return NULL;
}

void
om_histogram(struct om *m, const otlp_histogram *h)
{
	bool delta = h->aggregation_temporality == OTLP_TEMPORALITY(DELTA);
	const char *unit;
	char *name = metric_name(m, OM_HISTOGRAM, h->n_data_points, &unit), *bucket, *sum, *count;
	char num[OB_FLOAT_TEXT], why[200];

	if (!name || !om_temporality_ok(m, h->aggregation_temporality, h->n_data_points))
		return;
	if (!(bucket = suffixed(m, name, "_bucket")) || !(sum = suffixed(m, name, "_sum")) ||
	    !(count = suffixed(m, name, "_count")))
		return;
	om_meta(m, name, SERIES_TYPE_HISTOGRAM, unit);
	for (size_t i = 0; i < h->n_data_points && !m->err; i++) {
		const otlp_histogram_point *p = h->data_points[i];
		size_t nb = p->n_bucket_counts, ne = p->n_explicit_bounds;
		bool stale = no_recorded(p->flags), has_sum = p->_sum_case == OTLP_HIST_SUM_SET;
		double total = (double)p->count, s = has_sum ? p->sum : 0, cum = 0, *cnt = NULL;
		struct series_labels base;
		struct series_in *out;
		int64_t ms;

		if (histogram_problem(p, why, sizeof why)) {
			om_reject(m, 1, "%s", why);
			continue;
		}
		if (!om_point_time(m, p->time_unix_nano, &ms) ||
		    !om_base_labels(m, p->attributes, p->n_attributes, &base))
			continue;
		if (nb && !(cnt = ob_arena_alloc(m->a, nb * sizeof *cnt))) {
			om_full(m);
			return;
		}
		for (size_t b = 0; b < nb; b++)
			cnt[b] = (double)p->bucket_counts[b];
		if (delta && !stale) {
			if (!om_have_state(m))
				continue;
			uint64_t layout = om_hash(OM_HASH_INIT, p->explicit_bounds,
						  ne * sizeof *p->explicit_bounds);
			enum om_delta r;

			om_state_key(m, 'h', &base, name);
			r = om_state_add_hist(m->state, m->key.data, m->key.len,
					      p->start_time_unix_nano, p->time_unix_nano, layout,
					      cnt, nb, &total, &s);
			if (r == OM_DELTA_OLD) {
				om_delta_refused(m, r);
				continue;
			}
		}
		for (size_t b = 0; nb && b < ne && !m->err; b++) {
			char *le;

			ob_float_text(p->explicit_bounds[b], num);
			le = ob_arena_memdup(m->a, num, strlen(num));

			cum += cnt[b];
			if (!le) {
				om_full(m);
				return;
			}
			out = om_emit(m, &base, bucket, "le", le, ms, STALE_OR(stale, cum), NULL);
			if (out)
				om_exemplars(m, out, p->exemplars, p->n_exemplars,
					     b ? p->explicit_bounds[b - 1] : -INFINITY,
					     p->explicit_bounds[b]);
		}
		out = om_emit(m, &base, bucket, "le", "+Inf", ms, STALE_OR(stale, total), NULL);
		if (out)
			om_exemplars(m, out, p->exemplars, p->n_exemplars,
				     nb && ne ? p->explicit_bounds[ne - 1] : -INFINITY, INFINITY);
		if (has_sum)
			om_emit(m, &base, sum, NULL, NULL, ms, STALE_OR(stale, s), NULL);
		om_emit(m, &base, count, NULL, NULL, ms, STALE_OR(stale, total), NULL);
	}
}

void
om_summary(struct om *m, const otlp_summary *sm)
{
	const char *unit;
	char *name = metric_name(m, OM_SUMMARY, sm->n_data_points, &unit), *sum, *count;
	char num[OB_FLOAT_TEXT];

	if (!name || !(sum = suffixed(m, name, "_sum")) || !(count = suffixed(m, name, "_count")))
		return;
	om_meta(m, name, SERIES_TYPE_SUMMARY, unit);
	for (size_t i = 0; i < sm->n_data_points && !m->err; i++) {
		const otlp_summary_point *p = sm->data_points[i];
		bool stale = no_recorded(p->flags);
		struct series_labels base;
		int64_t ms;

		if (!om_point_time(m, p->time_unix_nano, &ms) ||
		    !om_base_labels(m, p->attributes, p->n_attributes, &base))
			continue;
		for (size_t q = 0; q < p->n_quantile_values && !m->err; q++) {
			const otlp_quantile *qv = p->quantile_values[q];
			char *ql;

			ob_float_text(qv->quantile, num);
			ql = ob_arena_memdup(m->a, num, strlen(num));

			if (!ql) {
				om_full(m);
				return;
			}
			om_emit(m, &base, name, "quantile", ql, ms, STALE_OR(stale, qv->value), NULL);
		}
		om_emit(m, &base, sum, NULL, NULL, ms, STALE_OR(stale, p->sum), NULL);
		om_emit(m, &base, count, NULL, NULL, ms, STALE_OR(stale, (double)p->count), NULL);
	}
}
