/*
 * otlp_metrics.c - OTLP metrics to Prometheus series: the walk over
 * resources, scopes and metrics, the label sets, and what every point
 * type shares (see otlp_metrics.h for the mapping table; the point types
 * are in otlp_metrics_points.c, names and units in otlp_metrics_names.c).
 *
 * Design: a first pass counts an upper bound of the output series
 * (histogram points: bounds + 4; summaries: quantiles + 2; target_info:
 * one per resource), so the series array and a pool of float samples are
 * allocated once, in the arena, and the max_series limit is checked
 * before any work.  Each point's base label set (attributes + scope +
 * job/instance) is built once and shared by the series it makes (a
 * histogram's buckets, _sum, _count); every series gets its own sorted
 * array with __name__ (and le or quantile) put in place.
 *
 * Choices where the specification leaves room (current as of 2026):
 *  - scope: otel_scope_name, otel_scope_version, otel_scope_schema_url
 *    and each scope attribute as otel_scope_<key> on every series
 *    (Prometheus 3's OTLP receiver does the same); no otel_scope_info;
 *  - target_info: a gauge = 1 with job, instance and the resource
 *    attributes other than service.name/namespace/instance.id, at the
 *    newest point time of the resource, one per job/instance pair and
 *    request; only when there are such attributes;
 *  - job/instance come from the resource and win over point attributes
 *    of the same name; __name__, le and quantile win over everything;
 *  - no _created series (Prometheus 2.x does not read them).
 */
#include "codec/otlp_metrics_int.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/otlp_json.h"
#include "codec/otlp_pb.h"
#include "codec/prom_labels.h"
#include "core/mem.h"
#include "core/util.h"

void
otlp_metrics_options_default(struct otlp_metrics_options *opt)
{
	opt->type_suffixes = true;
	opt->scope_labels = true;
	opt->target_info = true;
	opt->max_series = OTLP_METRICS_DEFAULT_MAX_SERIES;
}

void
om_reject(struct om *m, size_t n, const char *fmt, ...)
{
	va_list ap;
	char what[300];

	m->res->rejected_points += (int64_t)n;
	if (m->res->message[0])
		return;
	va_start(ap, fmt);
	vsnprintf(what, sizeof what, fmt, ap);
	va_end(ap);
	snprintf(m->res->message, sizeof m->res->message, "metric \"%.150s\": %s",
		 m->metric && m->metric->name ? m->metric->name : "", what);
}

bool
om_full(struct om *m)
{
	if (!m->err)
		m->err = ob_errf(m->errbuf, OB_ETOOBIG,
				 "OTLP metrics: the mapped request is larger than the %zu MiB limit",
				 m->a->cap >> 20);
	return false;
}

/*
 * The label name of an attribute key: points of one metric repeat the
 * same few keys, so a small direct-mapped cache (per request) saves
 * sanitizing and copying each one again.
 */
static const char *
label_name(struct om *m, const char *key)
{
	uint64_t h = om_hash(OM_HASH_INIT, key, strlen(key));
	struct om_name_cache *e = &m->names[h & (OM_NAME_CACHE - 1)];

	if (e->key && strcmp(e->key, key) == 0)
		return e->name;
	e->name = om_label_name(m->a, "", key);
	e->key = e->name ? ob_arena_memdup(m->a, key, strlen(key)) : NULL;
	return e->key ? e->name : NULL;
}

static void
tmp_reserve(struct om *m, size_t n)
{
	if (n > m->tmp_alloc) {
		m->tmp_alloc = n < 64 ? 64 : 2 * n;
		m->tmp = ob_xrealloc(m->tmp, m->tmp_alloc * sizeof *m->tmp);
	}
}

static int
label_order(const void *x, const void *y)
{
	const struct om_label *a = x, *b = y;
	int c = strcmp(a->name, b->name);

	if (c)
		return c;
	if (a->prio != b->prio)
		return b->prio - a->prio;       /* the winner first */
	return strcmp(a->key, b->key);
}

/*
 * Sort labels[0..n) and merge names: the highest prio wins, equal prios
 * join their values with ';' in key order.  Into out (arena).
 */
static bool
merge_labels(struct om *m, struct om_label *l, size_t n, struct series_labels *out)
{
	size_t k = 0;

	if (n > 16) {
		qsort(l, n, sizeof *l, label_order);
	} else {
		/* short sets: insertion sort, no allocation */
		for (size_t i = 1; i < n; i++) {
			struct om_label x = l[i];
			size_t j = i;

			while (j > 0 && label_order(&l[j - 1], &x) > 0) {
				l[j] = l[j - 1];
				j--;
			}
			l[j] = x;
		}
	}
	out->v = n ? ob_arena_alloc(m->a, n * sizeof *out->v) : NULL;
	if (n && !out->v)
		return om_full(m);
	for (size_t i = 0; i < n;) {
		size_t j = i + 1, len = strlen(l[i].value);

		while (j < n && strcmp(l[j].name, l[i].name) == 0) {
			if (l[j].prio == l[i].prio)
				len += 1 + strlen(l[j].value);
			j++;
		}
		const char *v = l[i].value;

		if (j > i + 1 && len != strlen(l[i].value)) {
			char *join = ob_arena_alloc(m->a, len + 1), *p = join;

			if (!join)
				return om_full(m);
			for (size_t t = i; t < j && l[t].prio == l[i].prio; t++) {
				size_t vl = strlen(l[t].value);

				if (t > i)
					*p++ = ';';
				memcpy(p, l[t].value, vl);
				p += vl;
			}
			*p = 0;
			v = join;
		}
		if (v[0]) {
			out->v[k].name = l[i].name;
			out->v[k].value = v;
			k++;
		}
		i = j;
	}
	out->n = k;
	return true;
}

bool
om_base_labels(struct om *m, otlp_key_value *const *attrs, size_t nattrs,
	       struct series_labels *out)
{
	size_t n = 0;

	tmp_reserve(m, nattrs + m->nscope + 2);
	for (size_t i = 0; i < nattrs; i++) {
		struct om_label *l = &m->tmp[n];

		l->key = attrs[i]->key;
		l->name = label_name(m, attrs[i]->key);
		l->value = om_value_string(m->a, attrs[i]->value);
		l->prio = 0;
		if (!l->name || !l->value)
			return om_full(m);
		n++;
	}
	for (size_t i = 0; i < m->nscope; i++)
		m->tmp[n++] = m->scope[i];
	if (m->job)
		m->tmp[n++] = (struct om_label){ "job", m->job, "", 2 };
	if (m->instance)
		m->tmp[n++] = (struct om_label){ "instance", m->instance, "", 2 };
	return merge_labels(m, m->tmp, n, out);
}

/* base with name=value put in its place (replacing one of that name). */
static void
put_label(struct series_labels *ls, const char *name, const char *value)
{
	size_t i = 0;
	int c = 1;

	while (i < ls->n && (c = strcmp(ls->v[i].name, name)) < 0)
		i++;
	if (i < ls->n && c == 0) {
		ls->v[i].value = value;
		return;
	}
	memmove(&ls->v[i + 1], &ls->v[i], (ls->n - i) * sizeof *ls->v);
	ls->v[i].name = name;
	ls->v[i].value = value;
	ls->n++;
}

struct series_in *
om_emit(struct om *m, const struct series_labels *base, const char *name, const char *extra,
	const char *extra_value, int64_t t_ms, double v, struct series_histogram *h)
{
	struct series_in *s;

	if (m->out->nseries == m->cap_series || (!h && m->nsamples_used == m->cap_samples)) {
		/* the first pass counted wrong: a bug, not the sender's fault */
		m->err = ob_errf(m->errbuf, OB_EINTERNAL, "OTLP metrics: series count overflow");
		return NULL;
	}
	s = &m->out->series[m->out->nseries];
	memset(s, 0, sizeof *s);
	s->labels.v = ob_arena_alloc(m->a, (base->n + 2) * sizeof *s->labels.v);
	if (!s->labels.v)
		return om_full(m), NULL;
	if (base->n)
		memcpy(s->labels.v, base->v, base->n * sizeof *base->v);
	s->labels.n = base->n;
	if (extra)
		put_label(&s->labels, extra, extra_value);
	put_label(&s->labels, "__name__", name);
	if (h) {
		s->hists = h;
		s->nhists = 1;
	} else {
		s->samples = &m->samples[m->nsamples_used++];
		s->samples->t = t_ms;
		s->samples->v = v;
		s->nsamples = 1;
	}
	m->out->nseries++;
	m->out->nsamples++;
	return s;
}

void
om_state_key(struct om *m, char kind, const struct series_labels *base, const char *name)
{
	ob_buf_reset(&m->key);
	ob_buf_add(&m->key, &kind, 1);
	ob_buf_add(&m->key, name, strlen(name) + 1);
	for (size_t i = 0; i < base->n; i++) {
		ob_buf_add(&m->key, base->v[i].name, strlen(base->v[i].name) + 1);
		ob_buf_add(&m->key, base->v[i].value, strlen(base->v[i].value) + 1);
	}
}

void
om_meta(struct om *m, const char *family, enum series_type type, const char *unit)
{
	struct series_meta *md;

	if (m->out->nmeta == m->cap_meta)
		return;
	md = &m->out->meta[m->out->nmeta++];
	md->family = family;
	md->type = (uint8_t)type;
	md->help = m->metric ? m->metric->description : "Target metadata";
	md->unit = unit ? unit : "";
	if (!prom_utf8_valid(md->help, strlen(md->help)))
		md->help = "";
	else if (!(md->help = ob_arena_memdup(m->a, md->help, strlen(md->help))))
		om_full(m);
}

static char *
hex(struct om *m, ProtobufCBinaryData id)
{
	char *s = ob_arena_alloc(m->a, 2 * id.len + 1);

	if (s)
		ob_hex_encode(id.data, id.len, s);
	return s;
}

bool
om_exemplars(struct om *m, struct series_in *s, otlp_exemplar *const *ex, size_t n, double lo,
	     double hi)
{
	size_t k = 0;

	if (n == 0)
		return true;
	s->exemplars = ob_arena_alloc(m->a, n * sizeof *s->exemplars);
	if (!s->exemplars)
		return om_full(m);
	for (size_t i = 0; i < n; i++) {
		const otlp_exemplar *x = ex[i];
		struct series_exemplar *e = &s->exemplars[k];
		double v = x->value_case == OTLP_EXEMPLAR_VALUE(AS_INT) ? (double)x->as_int
									: x->as_double;
		struct om_label *l;
		size_t nl = 0, runes = 0;

		if (!(v > lo && v <= hi))
			continue;
		tmp_reserve(m, x->n_filtered_attributes + 2);
		l = m->tmp;
		if (x->trace_id.len)
			l[nl++] = (struct om_label){ "trace_id", hex(m, x->trace_id), "", 1 };
		if (x->span_id.len)
			l[nl++] = (struct om_label){ "span_id", hex(m, x->span_id), "", 1 };
		for (size_t j = 0; j < nl; j++) {
			if (!l[j].value)
				return om_full(m);
			runes += strlen(l[j].name) + strlen(l[j].value);
		}
		for (size_t j = 0; j < x->n_filtered_attributes; j++) {
			const otlp_key_value *kv = x->filtered_attributes[j];
			struct om_label a = { label_name(m, kv->key),
					      om_value_string(m->a, kv->value), kv->key, 0 };

			if (!a.name || !a.value)
				return om_full(m);
			runes += prom_utf8_runes(a.name, strlen(a.name)) +
				 prom_utf8_runes(a.value, strlen(a.value));
			/* OpenMetrics caps exemplar labels at 128 characters */
			if (runes > 128)
				break;
			l[nl++] = a;
		}
		if (!merge_labels(m, l, nl, &e->labels))
			return false;
		e->v = v;
		e->t = (int64_t)(x->time_unix_nano / 1000000);
		k++;
	}
	s->nexemplars = k;
	m->out->nexemplars += k;
	return true;
}

/* ---- the walk ---- */

static const char *
attr_string(const otlp_resource *r, const char *key)
{
	for (size_t i = 0; r && i < r->n_attributes; i++)
		if (strcmp(r->attributes[i]->key, key) == 0) {
			const otlp_any_value *v = r->attributes[i]->value;

			if (v && v->value_case == OTLP_VALUE(STRING_VALUE) && v->string_value[0])
				return v->string_value;
		}
	return NULL;
}

static bool
is_service_key(const char *k)
{
	return strcmp(k, "service.name") == 0 || strcmp(k, "service.namespace") == 0 ||
	       strcmp(k, "service.instance.id") == 0;
}

/* job and instance of a resource, copied into the arena. */
static bool
resource_identity(struct om *m, const otlp_resource *r)
{
	const char *name = attr_string(r, "service.name");
	const char *ns = attr_string(r, "service.namespace");
	const char *inst = attr_string(r, "service.instance.id");

	m->job = m->instance = NULL;
	if (name)
		m->job = ns ? ob_arena_printf(m->a, "%s/%s", ns, name)
			    : ob_arena_memdup(m->a, name, strlen(name));
	if (inst)
		m->instance = ob_arena_memdup(m->a, inst, strlen(inst));
	if ((name && !m->job) || (inst && !m->instance))
		return om_full(m);
	/* values from the wire may hold bad UTF-8: let om_value_string's rule apply */
	if (m->job && !prom_utf8_valid(m->job, strlen(m->job)))
		m->job = NULL;
	if (m->instance && !prom_utf8_valid(m->instance, strlen(m->instance)))
		m->instance = NULL;
	return true;
}

static bool
scope_labels(struct om *m, const otlp_scope_metrics *sm)
{
	const otlp_scope *sc = sm->scope;
	size_t n = 0;

	m->nscope = 0;
	if (!m->opt.scope_labels)
		return true;
	m->scope = ob_arena_alloc(m->a, (3 + (sc ? sc->n_attributes : 0)) * sizeof *m->scope);
	if (!m->scope)
		return om_full(m);
	if (sc && sc->name[0])
		m->scope[n++] = (struct om_label){ "otel_scope_name",
			om_value_string(m->a, &(otlp_any_value){ .value_case = OTLP_VALUE(STRING_VALUE),
								 .string_value = sc->name }), "", 1 };
	if (sc && sc->version[0])
		m->scope[n++] = (struct om_label){ "otel_scope_version",
			om_value_string(m->a, &(otlp_any_value){ .value_case = OTLP_VALUE(STRING_VALUE),
								 .string_value = sc->version }), "", 1 };
	if (sm->schema_url[0])
		m->scope[n++] = (struct om_label){ "otel_scope_schema_url",
			om_value_string(m->a, &(otlp_any_value){ .value_case = OTLP_VALUE(STRING_VALUE),
								 .string_value = sm->schema_url }), "", 1 };
	for (size_t i = 0; sc && i < sc->n_attributes; i++)
		m->scope[n++] = (struct om_label){ om_label_name(m->a, "otel_scope_", sc->attributes[i]->key),
			om_value_string(m->a, sc->attributes[i]->value), sc->attributes[i]->key, 1 };
	for (size_t i = 0; i < n; i++)
		if (!m->scope[i].name || !m->scope[i].value)
			return om_full(m);
	m->nscope = n;
	return true;
}

/* Whether a job/instance pair already has its target_info in this request; notes it if not. */
static bool
target_seen(struct om *m, const char *job, const char *inst)
{
	for (size_t i = 0; i < m->ntargets; i += 2)
		if (!m->targets[i] == !job && !m->targets[i + 1] == !inst &&
		    (!job || strcmp(m->targets[i], job) == 0) &&
		    (!inst || strcmp(m->targets[i + 1], inst) == 0))
			return true;
	if (m->ntargets + 2 > m->targets_alloc) {
		m->targets_alloc = m->targets_alloc ? 2 * m->targets_alloc : 32;
		m->targets = ob_xrealloc(m->targets, m->targets_alloc * sizeof *m->targets);
	}
	m->targets[m->ntargets++] = job;
	m->targets[m->ntargets++] = inst;
	return false;
}

static void
target_info(struct om *m, const otlp_resource *r, size_t first_series)
{
	struct series_labels ls;
	size_t n = 0;

	if (!m->opt.target_info || !r || m->out->nseries == first_series)
		return;         /* no points, no target */
	for (size_t i = 0; i < r->n_attributes; i++)
		n += !is_service_key(r->attributes[i]->key);
	if (n == 0 || target_seen(m, m->job, m->instance))
		return;
	tmp_reserve(m, n + 2);
	n = 0;
	for (size_t i = 0; i < r->n_attributes; i++) {
		const otlp_key_value *kv = r->attributes[i];

		if (is_service_key(kv->key))
			continue;
		m->tmp[n] = (struct om_label){ om_label_name(m->a, "", kv->key),
					       om_value_string(m->a, kv->value), kv->key, 0 };
		if (!m->tmp[n].name || !m->tmp[n].value) {
			om_full(m);
			return;
		}
		n++;
	}
	if (m->job)
		m->tmp[n++] = (struct om_label){ "job", m->job, "", 2 };
	if (m->instance)
		m->tmp[n++] = (struct om_label){ "instance", m->instance, "", 2 };
	if (!merge_labels(m, m->tmp, n, &ls))
		return;
	if (om_emit(m, &ls, "target_info", NULL, NULL, m->latest_ms, 1, NULL)) {
		const otlp_metric *keep = m->metric;

		m->metric = NULL;
		om_meta(m, "target_info", SERIES_TYPE_GAUGE, "");
		m->metric = keep;
	}
}

static void
map_metric(struct om *m, const otlp_metric *mt)
{
	m->metric = mt;
	switch (mt->data_case) {
	case OTLP_METRIC_DATA(GAUGE):
		if (mt->gauge)
			om_gauge(m, mt->gauge);
		break;
	case OTLP_METRIC_DATA(SUM):
		if (mt->sum)
			om_sum(m, mt->sum);
		break;
	case OTLP_METRIC_DATA(HISTOGRAM):
		if (mt->histogram)
			om_histogram(m, mt->histogram);
		break;
	case OTLP_METRIC_DATA(EXPONENTIAL_HISTOGRAM):
		if (mt->exponential_histogram)
			om_exp_histogram(m, mt->exponential_histogram);
		break;
	case OTLP_METRIC_DATA(SUMMARY):
		if (mt->summary)
			om_summary(m, mt->summary);
		break;
	default:
		break;  /* no data: nothing to map, nothing to reject */
	}
	m->metric = NULL;
}

/* Upper bounds of what a request maps to: series, float samples, metadata. */
static void
count_request(const otlp_metrics_export_request *req, size_t *series, size_t *samples,
	      size_t *meta)
{
	size_t s = 0, f = 0, md = 0;

	for (size_t i = 0; i < req->n_resource_metrics; i++) {
		const otlp_resource_metrics *rm = req->resource_metrics[i];

		s++, f++, md++;         /* target_info */
		for (size_t j = 0; j < rm->n_scope_metrics; j++) {
			const otlp_scope_metrics *sm = rm->scope_metrics[j];

			for (size_t k = 0; k < sm->n_metrics; k++) {
				const otlp_metric *mt = sm->metrics[k];
				size_t n = 0, hs = 0;

				md++;
				if (mt->data_case == OTLP_METRIC_DATA(GAUGE) && mt->gauge)
					n = mt->gauge->n_data_points;
				else if (mt->data_case == OTLP_METRIC_DATA(SUM) && mt->sum)
					n = mt->sum->n_data_points;
				else if (mt->data_case == OTLP_METRIC_DATA(HISTOGRAM) && mt->histogram)
					for (size_t p = 0; p < mt->histogram->n_data_points; p++) {
						size_t ne = mt->histogram->data_points[p]->n_explicit_bounds;

						/* a point past the bucket limit is rejected, makes nothing */
						n += (ne > OTLP_METRICS_MAX_BUCKETS ? 0 : ne) + 4;
					}
				else if (mt->data_case == OTLP_METRIC_DATA(EXPONENTIAL_HISTOGRAM) &&
					 mt->exponential_histogram)
					hs = mt->exponential_histogram->n_data_points;
				else if (mt->data_case == OTLP_METRIC_DATA(SUMMARY) && mt->summary)
					for (size_t p = 0; p < mt->summary->n_data_points; p++)
						n += mt->summary->data_points[p]->n_quantile_values + 2;
				s += n + hs;
				f += n;
			}
		}
	}
	*series = s;
	*samples = f;
	*meta = md;
}

enum ob_err
otlp_metrics_map(const otlp_metrics_export_request *req, const struct otlp_metrics_options *opt,
		 struct otlp_metrics_state *state, struct ob_arena *arena,
		 struct series_write *out, struct otlp_metrics_result *res, char *errbuf)
{
	struct om m = { .state = state, .a = arena, .out = out, .res = res, .errbuf = errbuf };
	size_t nseries, nsamples, nmeta;

	memset(out, 0, sizeof *out);
	memset(res, 0, sizeof *res);
	if (opt)
		m.opt = *opt;
	else
		otlp_metrics_options_default(&m.opt);
	count_request(req, &nseries, &nsamples, &nmeta);
	if (nseries > m.opt.max_series)
		return ob_errf(errbuf, OB_ETOOBIG,
			       "OTLP metrics: the request maps to up to %zu series, more than the "
			       "limit of %zu; send smaller batches", nseries, m.opt.max_series);
	m.cap_series = nseries;
	m.cap_samples = nsamples;
	m.cap_meta = nmeta;
	if ((nseries && !(out->series = ob_arena_alloc(arena, nseries * sizeof *out->series))) ||
	    (nsamples && !(m.samples = ob_arena_alloc(arena, nsamples * sizeof *m.samples))) ||
	    (nmeta && !(out->meta = ob_arena_alloc(arena, nmeta * sizeof *out->meta)))) {
		om_full(&m);
		goto out;
	}
	ob_buf_init(&m.key, 0);
	m.names = ob_xcalloc(OM_NAME_CACHE, sizeof *m.names);
	for (size_t i = 0; i < req->n_resource_metrics && !m.err; i++) {
		const otlp_resource_metrics *rm = req->resource_metrics[i];
		size_t first = out->nseries;

		m.latest_ms = 0;
		if (!resource_identity(&m, rm->resource))
			break;
		for (size_t j = 0; j < rm->n_scope_metrics && !m.err; j++) {
			const otlp_scope_metrics *sm = rm->scope_metrics[j];

			if (!scope_labels(&m, sm))
				break;
			for (size_t k = 0; k < sm->n_metrics && !m.err; k++)
				map_metric(&m, sm->metrics[k]);
		}
		if (!m.err)
			target_info(&m, rm->resource, first);
	}
	ob_buf_release(&m.key);
out:
	free(m.tmp);
	free(m.targets);
	free(m.names);
	if (m.err) {
		memset(out, 0, sizeof *out);
		return m.err;
	}
	return OB_OK;
}

enum ob_err
otlp_metrics_decode_pb(const uint8_t *p, size_t n, const struct otlp_metrics_options *opt,
		       struct otlp_metrics_state *state, struct ob_arena *arena,
		       struct series_write *out, struct otlp_metrics_result *res, char *errbuf)
{
	ProtobufCMessage *msg;
	enum ob_err err;

	memset(out, 0, sizeof *out);
	memset(res, 0, sizeof *res);
	if ((err = otlp_pb_decode(&otlp_metrics_export_request_descriptor, p, n, arena, &msg,
				  errbuf)))
		return err;
	return otlp_metrics_map((const otlp_metrics_export_request *)msg, opt, state, arena, out,
				res, errbuf);
}

enum ob_err
otlp_metrics_decode_json(const char *json, size_t len, const struct otlp_metrics_options *opt,
			 struct otlp_metrics_state *state, struct ob_arena *arena,
			 struct series_write *out, struct otlp_metrics_result *res, char *errbuf)
{
	ProtobufCMessage *msg;
	enum ob_err err;

	memset(out, 0, sizeof *out);
	memset(res, 0, sizeof *res);
	if ((err = otlp_json_decode(&otlp_metrics_export_request_descriptor, json, len, arena, &msg,
				    errbuf)))
		return err;
	return otlp_metrics_map((const otlp_metrics_export_request *)msg, opt, state, arena, out,
				res, errbuf);
}
