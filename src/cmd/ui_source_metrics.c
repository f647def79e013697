/*
 * ui_source_metrics.c - the Metrics view's reads (tui/source.h), answered
 * by the node's metrics side (node->api_metrics: the metric store and the
 * service-graph series as one, as the Prometheus API sees them).
 *
 * The metric list is every name with a series in the window and how many
 * (the metric store counts them from its indexes, mstore_name_counts; the
 * rollups' service-graph series are added per name), with the metadata of
 * its family (a counter's family may have dropped the _total its series
 * carry; a histogram's series add _bucket, _sum and _count).  Each call works in its own capped arena and copies
 * what it returns out of it, so nothing the UI holds points into a store.
 */
#include "cmd/ui_source.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "core/arena.h"
#include "core/clock.h"
#include "core/mem.h"
#include "core/util.h"
#include "model/promql.h"

#define ARENA_CAP (512u << 20)

static int64_t
ms_of(uint64_t ns, int64_t open)
{
	return ns ? (int64_t)(ns / 1000000) : open;
}

/* name{k="v", ...} of ls into out (cut to fit; the __name__ label leads). */
static void
labels_text(const struct series_labels *ls, char *out, size_t cap)
{
	const char *name = series_label_get(ls, "__name__");
	size_t o, i;
	bool first = true;

	o = (size_t)snprintf(out, cap, "%s{", name ? name : "");
	for (i = 0; i < ls->n && o < cap; i++) {
		if (!strcmp(ls->v[i].name, "__name__"))
			continue;
		char val[256];
		size_t k = 0;
		const char *p;

		/* the value as a PromQL string: the text is a selector the UI can query */
		for (p = ls->v[i].value; *p && k + 3 < sizeof val; p++) {
			if (*p == '"' || *p == '\\' || *p == '\n') {
				val[k++] = '\\';
				val[k++] = *p == '\n' ? 'n' : *p;
			} else {
				val[k++] = *p;
			}
		}
		val[k] = 0;
		o += (size_t)snprintf(out + o, cap - o, "%s%s=\"%s\"", first ? "" : ", ",
				      ls->v[i].name, val);
		first = false;
	}
	if (o < cap)
		snprintf(out + o, cap - o, "}");
	if (first && name && o < cap)
		out[strlen(name)] = 0;          /* a bare name needs no braces */
}

static int
cmp_row(const void *a, const void *b)
{
	return strcmp(((const struct tui_metric_row *)a)->name,
		      ((const struct tui_metric_row *)b)->name);
}

static int
cmp_meta(const void *a, const void *b)
{
	return strcmp(((const struct series_meta *)a)->family,
		      ((const struct series_meta *)b)->family);
}

static const struct series_meta *
find_meta(const struct series_meta *m, size_t n, const char *name)
{
	static const char *const suffixes[] = { "_total", "_bucket", "_sum", "_count",
						"_created" };
	struct series_meta key = { 0 };
	const struct series_meta *r;
	char base[256];
	size_t i, len = strlen(name);

	key.family = name;
	if ((r = bsearch(&key, m, n, sizeof *m, cmp_meta)))
		return r;
	for (i = 0; i < sizeof suffixes / sizeof suffixes[0]; i++) {
		size_t k = strlen(suffixes[i]);

		if (len <= k || len - k >= sizeof base || strcmp(name + len - k, suffixes[i]))
			continue;
		memcpy(base, name, len - k);
		base[len - k] = 0;
		key.family = base;
		if ((r = bsearch(&key, m, n, sizeof *m, cmp_meta)))
			return r;
	}
	return NULL;
}

/* One name's count into the row list (grown as needed). */
static void
row_add(struct tui_metric_row **rows, size_t *n, size_t *cap, const char *name, uint64_t count)
{
	struct tui_metric_row *r;

	if (*n == *cap) {
		*cap = *cap ? *cap * 2 : 256;
		*rows = ob_xrealloc(*rows, (*cap + 1) * sizeof **rows);
	}
	r = &(*rows)[(*n)++];
	memset(r, 0, sizeof *r);
	snprintf(r->name, sizeof r->name, "%s", name);
	r->nseries = count > UINT32_MAX ? UINT32_MAX : (uint32_t)count;
}

static int
cmp_labels(const void *a, const void *b)
{
	return series_labels_cmp(a, b);
}

/*
 * The rollup series in the window (listed at the hour's resolution, as the
 * API's series listing does), one select for every family, counted into
 * rows by name; a series the metric store also holds is the store's
 * (msource), counted there already: rows[0..nstore) are the store's, sorted.
 */
static enum ob_err
rollup_counts(const struct msource *ms, int64_t mint, int64_t maxt, struct ob_arena *arena,
	      struct tui_metric_row **rows, size_t *k, size_t *cap, size_t nstore, char *errbuf)
{
	static const struct promql_matcher every = { PROMQL_MATCH_NEQ, "__name__", "", NULL };
	struct series_data *sd = NULL;
	struct series_labels *ls = NULL;
	const char *listed = NULL;      /* the name ls holds the store's series of */
	size_t nsd = 0, nls = 0, i, j;
	enum ob_err err;

	if ((err = store_rollup_select(ms->traces, &every, 1, mint, maxt, 6ll * 3600 * 1000, arena,
				       &sd, &nsd, errbuf)))
		return err;
	for (i = 0; i < nsd; i++) {
		const char *name = series_label_get(&sd[i].labels, "__name__");
		struct tui_metric_row key, *hit;

		if (!name)
			continue;
		snprintf(key.name, sizeof key.name, "%s", name);
		hit = nstore ? bsearch(&key, *rows, nstore, sizeof key, cmp_row) : NULL;
		if (hit) {      /* rare: a metrics-generator writing these names into obstui */
			if (!listed || strcmp(listed, name) != 0) {
				struct promql_matcher mt = { PROMQL_MATCH_EQ, "__name__", name, NULL };
				struct mstore_selector sel = { &mt, 1 };
				bool truncated;

				if ((err = mstore_series(ms->metrics, &sel, 1, mint, maxt, 0, arena, &ls,
							 &nls, &truncated, errbuf)))
					return err;
				listed = name;
			}
			/* mstore_series answers sorted */
			if (!bsearch(&sd[i].labels, ls, nls, sizeof *ls, cmp_labels))
				hit->nseries++;
			continue;
		}
		for (j = nstore; j < *k && strcmp((*rows)[j].name, name) != 0; j++)
			;
		if (j < *k)
			(*rows)[j].nseries++;
		else
			row_add(rows, k, cap, name, 1);
	}
	return OB_OK;
}

/*
 * Names and series counts: the metric store counts per name from its
 * indexes (mstore_name_counts, no series listed), the rollups add theirs.
 */
enum ob_err
ui_source_metrics(void *ctx, uint64_t since_ns, uint64_t until_ns, struct tui_metric_row **rows,
		  size_t *n, char *errbuf)
{
	struct ui_source_ctx *x = ctx;
	const struct api_metrics *am = &x->node->api_metrics;
	const struct msource *ms = &x->node->msrc;
	int64_t mint = ms_of(since_ns, INT64_MIN), maxt = ms_of(until_ns, INT64_MAX);
	struct ob_arena arena;
	struct mstore_name_count *nc = NULL;
	struct series_meta *meta = NULL;
	size_t nnc = 0, nmeta = 0, i, k = 0, cap = 0, nstore;
	enum ob_err err = OB_OK;

	*rows = NULL;
	*n = 0;
	if (ms->metrics == NULL && ms->traces == NULL)
		return ob_errf(errbuf, OB_EUNSUPPORTED, "no metric store");
	ob_arena_init(&arena, ARENA_CAP);
	if (ms->metrics &&
	    (err = mstore_name_counts(ms->metrics, mint, maxt, &arena, &nc, &nnc, errbuf)))
		goto out;
	for (i = 0; i < nnc; i++)
		row_add(rows, &k, &cap, nc[i].name, nc[i].series);
	nstore = k;
	if (ms->traces &&
	    (err = rollup_counts(ms, mint, maxt, &arena, rows, &k, &cap, nstore, errbuf)))
		goto out;
	if (k > nstore)
		qsort(*rows, k, sizeof **rows, cmp_row);
	if (am->metadata && am->metadata(am->src.ctx, &arena, &meta, &nmeta, errbuf) != OB_OK)
		nmeta = 0;      /* names without help are still worth listing */
	if (nmeta)
		qsort(meta, nmeta, sizeof *meta, cmp_meta);
	for (i = 0; i < k; i++) {
		struct tui_metric_row *r = &(*rows)[i];
		const struct series_meta *m = find_meta(meta, nmeta, r->name);

		if (m) {
			r->type = m->type;
			snprintf(r->unit, sizeof r->unit, "%s", m->unit ? m->unit : "");
			snprintf(r->help, sizeof r->help, "%s", m->help ? m->help : "");
		}
	}
	if (!*rows)
		*rows = ob_xcalloc(1, sizeof **rows);
	*n = k;
out:
	if (err) {
		free(*rows);
		*rows = NULL;
		*n = 0;
	}
	ob_arena_release(&arena);
	return err;
}

enum ob_err
ui_source_series(void *ctx, const char *selector, uint64_t since_ns, uint64_t until_ns,
		 struct tui_series **out, size_t *n, char *errbuf)
{
	struct ui_source_ctx *x = ctx;
	const struct api_metrics *am = &x->node->api_metrics;
	struct ob_arena arena;
	struct promql_matcher *mt = NULL;
	struct series_labels *ls;
	size_t nm = 0, nls = 0, i;
	enum ob_err err;

	*out = NULL;
	*n = 0;
	if (am->series == NULL)
		return ob_errf(errbuf, OB_EUNSUPPORTED, "no metric store");
	ob_arena_init(&arena, ARENA_CAP);
	if ((err = promql_parse_selector(selector, &arena, &mt, &nm, errbuf)))
		goto out;
	if ((err = am->series(am->src.ctx, mt, nm, ms_of(since_ns, INT64_MIN),
			      ms_of(until_ns, INT64_MAX), &arena, &ls, &nls, errbuf)))
		goto out;
	if (nls > TUI_MAX_SERIES)
		nls = TUI_MAX_SERIES;
	*out = ob_xcalloc(nls + 1, sizeof **out);
	for (i = 0; i < nls; i++)
		labels_text(&ls[i], (*out)[i].labels, sizeof (*out)[i].labels);
	*n = nls;
out:
	if (mt)
		promql_matchers_release(mt, nm);
	ob_arena_release(&arena);
	return err;
}

/* --- native histograms as cumulative bucket series ------------------------------------ */

#define NATIVE_MAX_BUCKETS 40   /* bounds drawn per histogram series (+Inf besides) */

/* The upper bound of positive bucket idx of h. */
static double
upper_bound(const struct series_histogram *h, int32_t idx)
{
	if (h->schema == -53)
		return idx >= 0 && (size_t)idx < h->ncustom ? h->custom_values[idx] : INFINITY;
	return series_hist_bound(idx, h->schema);
}

static int
cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/*
 * The bounds to draw for a series' histogram points: every positive
 * bucket's upper bound that has a count in some point (the union over
 * the points' layouts), and zero_threshold when a zero bucket or negative
 * buckets count; thinned evenly to NATIVE_MAX_BUCKETS (a cumulative count
 * at fewer bounds is still right: the buckets are only coarser).
 */
static double *
native_bounds(const struct promql_series *ps, size_t *nout)
{
	double *v = NULL;
	size_t n = 0, cap = 0, i, j, k, bi;

	for (i = 0; i < ps->nh; i++) {
		const struct series_histogram *h = &ps->h[i];
		int32_t idx = 0;

		if (n + h->npos + 1 > cap) {
			cap = (n + h->npos + 1) * 2;
			v = ob_xrealloc(v, cap * sizeof *v);
		}
		if (h->zero_count > 0 || h->nneg > 0)
			v[n++] = h->zero_threshold;
		for (j = 0, bi = 0; j < h->npos_spans; j++) {
			idx += h->pos_spans[j].offset;
			for (k = 0; k < h->pos_spans[j].length && bi < h->npos; k++, idx++, bi++)
				if (h->pos[bi] > 0 && !isinf(upper_bound(h, idx)))
					v[n++] = upper_bound(h, idx);
		}
		/* the same layout step after step: keep the list short as it grows */
		if (n > 4096) {
			qsort(v, n, sizeof *v, cmp_double);
			for (j = 0, k = 0; j < n; j++)
				if (k == 0 || v[j] != v[k - 1])
					v[k++] = v[j];
			n = k;
		}
	}
	if (n)
		qsort(v, n, sizeof *v, cmp_double);
	for (j = 0, k = 0; j < n; j++)
		if (k == 0 || v[j] != v[k - 1])
			v[k++] = v[j];
	n = k;
	if (n > NATIVE_MAX_BUCKETS) {
		for (j = 0; j < NATIVE_MAX_BUCKETS; j++)    /* the top bound kept */
			v[j] = v[(n - 1) - (NATIVE_MAX_BUCKETS - 1 - j) * (n - 1) / (NATIVE_MAX_BUCKETS - 1)];
		n = NATIVE_MAX_BUCKETS;
	}
	*nout = n;
	return v;
}

/* h's count at or below each bound (ascending), into out[nb]. */
static void
native_cumulative(const struct series_histogram *h, const double *bounds, size_t nb, double *out)
{
	double below = h->zero_count;   /* negative buckets and the zero bucket */
	size_t i, j, k, bi, at = 0;
	int32_t idx = 0;

	for (i = 0; i < h->nneg; i++)
		below += h->neg[i];
	/* bounds under the zero threshold see none of it */
	while (at < nb && bounds[at] < h->zero_threshold)
		out[at++] = 0;
	for (j = 0, bi = 0; j < h->npos_spans; j++) {
		idx += h->pos_spans[j].offset;
		for (k = 0; k < h->pos_spans[j].length && bi < h->npos; k++, idx++, bi++) {
			double up = upper_bound(h, idx);

			while (at < nb && bounds[at] < up)
				out[at++] = below;
			below += h->pos[bi];
		}
	}
	while (at < nb)
		out[at++] = below;
}

/* name{k="v", ..., le="b"}: ps's labels text with an le label. */
static void
labels_le(const struct series_labels *ls, double le, char *out, size_t cap)
{
	struct series_label v[64];
	struct series_labels l = { v, 0 };
	char b[32];

	if (isinf(le))
		snprintf(b, sizeof b, "+Inf");
	else
		snprintf(b, sizeof b, "%.6g", le);
	for (size_t i = 0; i < ls->n && l.n < 63; i++)
		if (strcmp(ls->v[i].name, "le") != 0)
			v[l.n++] = ls->v[i];
	v[l.n++] = (struct series_label){ "le", b };
	labels_text(&l, out, cap);
}

/*
 * A series' histogram points as one series per bound (le="b": the count
 * at or below b, cumulative, as a classic histogram's _bucket series are;
 * le="+Inf": the count), appended at out[*k] (room for cap).  The chart's
 * heatmap decumulates them like a classic histogram's buckets.
 */
static void
native_series(const struct promql_series *ps, struct tui_series *out, size_t *k, size_t cap)
{
	size_t nb, i, j;
	double *bounds = native_bounds(ps, &nb), *cum = ob_xcalloc(nb + 1, sizeof *cum);
	size_t first = *k;

	for (i = 0; i <= nb && *k < cap; i++, (*k)++) {
		struct tui_series *s = &out[*k];

		labels_le(&ps->labels, i < nb ? bounds[i] : INFINITY, s->labels, sizeof s->labels);
		s->t_ms = ob_xcalloc(ps->nh + 1, sizeof *s->t_ms);
		s->v = ob_xcalloc(ps->nh + 1, sizeof *s->v);
		s->n = ps->nh;
	}
	for (j = 0; j < ps->nh; j++) {
		native_cumulative(&ps->h[j], bounds, nb, cum);
		cum[nb] = ps->h[j].count;
		for (i = 0; first + i < *k; i++) {
			out[first + i].t_ms[j] = ps->h[j].t;
			out[first + i].v[j] = cum[i];
		}
	}
	free(bounds);
	free(cum);
}

/*
 * Float points as they are; a series' native histogram points (promql_series
 * h) as its cumulative bucket series (native_series).
 */
enum ob_err
ui_source_query_range(void *ctx, const char *expr, int64_t start_ms, int64_t end_ms,
		      int64_t step_ms, struct tui_series **out, size_t *n, char *errbuf)
{
	struct ui_source_ctx *x = ctx;
	const struct api_metrics *am = &x->node->api_metrics;
	struct promql_opts opts = { 0 };
	struct promql_result res;
	struct promql_expr *e = NULL;
	struct ob_arena arena;
	size_t i, j, ns = 0, k = 0;
	enum ob_err err;

	*out = NULL;
	*n = 0;
	if (am->src.select == NULL)
		return ob_errf(errbuf, OB_EUNSUPPORTED, "no metric store");
	if (step_ms <= 0 || end_ms < start_ms || (end_ms - start_ms) / step_ms > 11000)
		return ob_errf(errbuf, OB_EINVAL, "a range query of at most 11,000 steps");
	ob_arena_init(&arena, ARENA_CAP);
	if ((err = promql_parse(expr, &arena, &e, errbuf)))
		goto out;
	opts.timeout_ns = 10000000000ull;
	if ((err = promql_eval_range(e, start_ms, end_ms, step_ms, &opts, &am->src, &arena, &res,
				     errbuf)))
		goto out;
	for (i = 0; i < res.nseries; i++)
		ns += (res.series[i].nf || !res.series[i].nh) + (res.series[i].nh ? NATIVE_MAX_BUCKETS + 1 : 0);
	if (ns > TUI_MAX_SERIES)
		ns = TUI_MAX_SERIES;
	*out = ob_xcalloc(ns + 1, sizeof **out);
	for (i = 0; i < res.nseries && k < ns; i++) {
		const struct promql_series *ps = &res.series[i];

		if (ps->nf || !ps->nh) {
			struct tui_series *s = &(*out)[k++];

			labels_text(&ps->labels, s->labels, sizeof s->labels);
			s->t_ms = ob_xcalloc(ps->nf + 1, sizeof *s->t_ms);
			s->v = ob_xcalloc(ps->nf + 1, sizeof *s->v);
			for (j = 0; j < ps->nf; j++) {
				s->t_ms[j] = ps->f[j].t;
				s->v[j] = ps->f[j].v;
			}
			s->n = ps->nf;
		}
		if (ps->nh)
			native_series(ps, *out, &k, ns);
	}
	*n = k;
out:
	if (e)
		promql_expr_release(e);
	ob_arena_release(&arena);
	return err;
}

static int
cmp_exemplar(const void *a, const void *b)
{
	const struct tui_exemplar *x = a, *y = b;

	return (x->t_ms > y->t_ms) - (x->t_ms < y->t_ms);
}

enum ob_err
ui_source_exemplars(void *ctx, const char *selector, int64_t start_ms, int64_t end_ms,
		    struct tui_exemplar **out, size_t *n, char *errbuf)
{
	struct ui_source_ctx *x = ctx;
	struct ob_arena arena;
	struct promql_matcher *mt = NULL;
	struct mstore_exemplar_series *es = NULL;
	size_t nm = 0, nes = 0, i, j, k = 0, total = 0;
	enum ob_err err;

	*out = NULL;
	*n = 0;
	if (x->node->metrics == NULL)
		return OB_OK;
	ob_arena_init(&arena, ARENA_CAP);
	if ((err = promql_parse_selector(selector, &arena, &mt, &nm, errbuf)))
		goto out;
	if ((err = mstore_exemplars(x->node->metrics, mt, nm, start_ms, end_ms, &arena, &es, &nes,
				    errbuf)))
		goto out;
	for (i = 0; i < nes; i++)
		total += es[i].n;
	if (total > TUI_MAX_SERIES * 2)
		total = TUI_MAX_SERIES * 2;
	*out = ob_xcalloc(total + 1, sizeof **out);
	for (i = 0; i < nes; i++)
		for (j = 0; j < es[i].n && k < total; j++) {
			const char *id = series_label_get(&es[i].ex[j].labels, "trace_id");

			if (id == NULL || strlen(id) != 32 ||
			    !ob_hex_decode(id, 32, (*out)[k].trace_id, 16))
				continue;
			(*out)[k].t_ms = es[i].ex[j].t;
			(*out)[k].v = es[i].ex[j].v;
			k++;
		}
	qsort(*out, k, sizeof **out, cmp_exemplar);
	*n = k;
out:
	if (mt)
		promql_matchers_release(mt, nm);
	ob_arena_release(&arena);
	return err;
}
