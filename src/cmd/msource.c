/* msource.c - the metric store and the rollup series as one PromQL source (msource.h). */
#include "cmd/msource.h"

#include <stdlib.h>
#include <string.h>

#include "core/mem.h"

#define HOURLY_MS (6ll * 3600 * 1000)   /* rollup series at an hour's resolution */

static enum ob_err
select_hinted(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
	      int64_t range_ms, struct ob_arena *arena, struct series_data **out, size_t *nout,
	      char *errbuf)
{
	struct msource *ms = ctx;
	struct series_data *a = NULL, *b = NULL, *v;
	size_t na = 0, nb = 0, i = 0, j = 0, n = 0;
	enum ob_err err;

	*out = NULL;
	*nout = 0;
	if (ms->metrics &&
	    (err = mstore_select(ms->metrics, m, nm, mint, maxt, arena, &a, &na, errbuf)))
		return err;
	if (ms->traces && (err = store_rollup_select(ms->traces, m, nm, mint, maxt, range_ms,
						     arena, &b, &nb, errbuf)))
		return err;
	if (nb == 0 || na == 0) {
		*out = nb ? b : a;
		*nout = nb ? nb : na;
		return OB_OK;
	}
	if ((v = ob_arena_alloc(arena, (na + nb) * sizeof *v)) == NULL)
		return ob_errf(errbuf, OB_ETOOBIG, "query processing would load too many samples");
	while (i < na || j < nb) {
		int c = i == na ? 1 : j == nb ? -1 : series_labels_cmp(&a[i].labels, &b[j].labels);

		if (c <= 0)
			v[n++] = a[i++];
		else
			v[n++] = b[j++];
		if (c == 0)
			j++;
	}
	*out = v;
	*nout = n;
	return OB_OK;
}

static enum ob_err
select_plain(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
	     struct ob_arena *arena, struct series_data **out, size_t *nout, char *errbuf)
{
	return select_hinted(ctx, m, nm, mint, maxt, 0, arena, out, nout, errbuf);
}

static const struct series_meta *
meta(void *ctx, const char *family)
{
	struct msource *ms = ctx;
	const struct series_meta *r = ms->traces ? store_rollup_meta(family) : NULL;
	struct promql_source base;

	if (r || ms->metrics == NULL)
		return r;
	mstore_source(ms->metrics, &base);
	return base.meta(base.ctx, family);
}

void
msource_promql(struct msource *ms, struct promql_source *out)
{
	memset(out, 0, sizeof *out);
	out->ctx = ms;
	out->select = select_plain;
	out->select_hinted = select_hinted;
	out->meta = meta;
}

/* --- listings: the metric store's, then the rollup series' ---------------------------- */

static enum ob_err
rollup_sets(struct msource *ms, const struct promql_matcher *m, size_t nm, int64_t mint,
	    int64_t maxt, struct ob_arena *arena, struct series_data **out, size_t *n,
	    char *errbuf)
{
	*out = NULL;
	*n = 0;
	if (ms->traces == NULL)
		return OB_OK;
	/* hourly samples: a listing wants label sets, not values */
	return store_rollup_select(ms->traces, m, nm, mint, maxt, HOURLY_MS, arena, out, n,
				   errbuf);
}

static enum ob_err
api_series(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
	   struct ob_arena *arena, struct series_labels **out, size_t *n, char *errbuf)
{
	struct msource *ms = ctx;
	struct mstore_selector sel = { m, nm };
	struct series_labels *a = NULL, *v;
	struct series_data *b;
	size_t na = 0, nb, i;
	bool truncated;
	enum ob_err err;

	if (ms->metrics && (err = mstore_series(ms->metrics, &sel, 1, mint, maxt, 0, arena, &a,
						&na, &truncated, errbuf)))
		return err;
	if ((err = rollup_sets(ms, m, nm, mint, maxt, arena, &b, &nb, errbuf)))
		return err;
	if (nb == 0) {
		*out = a;
		*n = na;
		return OB_OK;
	}
	if ((v = ob_arena_alloc(arena, (na + nb) * sizeof *v)) == NULL)
		return ob_errf(errbuf, OB_ETOOBIG, "too many series");
	if (na)
		memcpy(v, a, na * sizeof *v);
	for (i = 0; i < nb; i++)
		v[na + i] = b[i].labels;
	*out = v;
	*n = na + nb;
	return OB_OK;
}

static int
cmp_str(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

/* a (sorted, distinct) with the extra strings, sorted and distinct, in arena. */
static enum ob_err
union_strings(const char **a, size_t na, const char **extra, size_t ne, struct ob_arena *arena,
	      const char ***out, size_t *n, char *errbuf)
{
	const char **v = ob_arena_alloc(arena, (na + ne + 1) * sizeof *v);
	size_t i, k = 0;

	if (v == NULL)
		return ob_errf(errbuf, OB_ETOOBIG, "too many label names");
	if (na)
		memcpy(v, a, na * sizeof *v);
	if (ne)
		memcpy(v + na, extra, ne * sizeof *v);
	if (na + ne)
		qsort(v, na + ne, sizeof *v, cmp_str);
	for (i = 0; i < na + ne; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	*out = v;
	*n = k;
	return OB_OK;
}

static enum ob_err
rollup_strings(struct msource *ms, const char *label, const struct promql_matcher *m, size_t nm,
	       int64_t mint, int64_t maxt, struct ob_arena *arena, const char ***out,
	       size_t *n, char *errbuf)
{
	struct series_data *b;
	size_t nb, i, j, k = 0, cap = 0;
	const char **v = NULL;
	enum ob_err err;

	*out = NULL;
	*n = 0;
	if ((err = rollup_sets(ms, m, nm, mint, maxt, arena, &b, &nb, errbuf)))
		return err;
	for (i = 0; i < nb; i++)
		for (j = 0; j < b[i].labels.n; j++) {
			const struct series_label *l = &b[i].labels.v[j];

			if (label && strcmp(l->name, label) != 0)
				continue;
			if (k == cap) {
				size_t ncap = cap ? cap * 2 : 64;
				const char **nv = ob_arena_alloc(arena, ncap * sizeof *nv);

				if (nv == NULL)
					return ob_errf(errbuf, OB_ETOOBIG, "too many label values");
				if (k)
					memcpy(nv, v, k * sizeof *nv);
				v = nv;
				cap = ncap;
			}
			v[k++] = label ? l->value : l->name;
		}
	*out = v;
	*n = k;
	return OB_OK;
}

static enum ob_err
api_label_names(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
		struct ob_arena *arena, const char ***out, size_t *n, char *errbuf)
{
	struct msource *ms = ctx;
	struct mstore_selector sel = { m, nm };
	const char **a = NULL, **b;
	size_t na = 0, nb;
	enum ob_err err;

	if (ms->metrics &&
	    (err = mstore_label_names(ms->metrics, &sel, 1, mint, maxt, arena, &a, &na, errbuf)))
		return err;
	if ((err = rollup_strings(ms, NULL, m, nm, mint, maxt, arena, &b, &nb, errbuf)))
		return err;
	return union_strings(a, na, b, nb, arena, out, n, errbuf);
}

static enum ob_err
api_label_values(void *ctx, const char *name, const struct promql_matcher *m, size_t nm,
		 int64_t mint, int64_t maxt, struct ob_arena *arena, const char ***out, size_t *n,
		 char *errbuf)
{
	struct msource *ms = ctx;
	struct mstore_selector sel = { m, nm };
	const char **a = NULL, **b;
	size_t na = 0, nb;
	enum ob_err err;

	if (ms->metrics && (err = mstore_label_values(ms->metrics, name, &sel, 1, mint, maxt,
						      arena, &a, &na, errbuf)))
		return err;
	if ((err = rollup_strings(ms, name, m, nm, mint, maxt, arena, &b, &nb, errbuf)))
		return err;
	return union_strings(a, na, b, nb, arena, out, n, errbuf);
}

static int
cmp_meta(const void *a, const void *b)
{
	return strcmp(((const struct series_meta *)a)->family,
		      ((const struct series_meta *)b)->family);
}

static enum ob_err
api_metadata(void *ctx, struct ob_arena *arena, struct series_meta **out, size_t *n,
	     char *errbuf)
{
	struct msource *ms = ctx;
	static const char *const ours[] = {
		"traces_service_graph_request_total", "traces_service_graph_request_failed_total",
		"traces_service_graph_request_server_seconds",
		"traces_service_graph_request_client_seconds", "traces_spanmetrics_calls_total",
		"traces_spanmetrics_latency",
	};
	struct series_meta *a = NULL, *v;
	size_t na = 0, i, k;
	enum ob_err err;

	if (ms->metrics && (err = mstore_metadata(ms->metrics, NULL, arena, &a, &na, errbuf)))
		return err;
	if (ms->traces == NULL) {
		*out = a;
		*n = na;
		return OB_OK;
	}
	if ((v = ob_arena_alloc(arena, (na + 6) * sizeof *v)) == NULL)
		return ob_errf(errbuf, OB_ETOOBIG, "too much metadata");
	if (na)
		memcpy(v, a, na * sizeof *v);
	k = na;
	for (i = 0; i < 6; i++) {
		size_t j;

		for (j = 0; j < na && strcmp(a[j].family, ours[i]) != 0; j++)
			;
		if (j == na)
			v[k++] = *store_rollup_meta(ours[i]);
	}
	qsort(v, k, sizeof *v, cmp_meta);
	*out = v;
	*n = k;
	return OB_OK;
}

void
msource_api(struct msource *ms, struct api_metrics *out)
{
	msource_promql(ms, &out->src);
	out->series = api_series;
	out->label_names = api_label_names;
	out->label_values = api_label_values;
	out->metadata = api_metadata;
}
