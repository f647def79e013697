/*
 * rollup_series.c - the rollups as Prometheus series, with the names,
 * labels and buckets of Tempo's metrics-generator, so that the queries
 * Grafana's Tempo data source sends for its service graph and service
 * table work against obstui's PromQL API.
 *
 *	family                                        from         labels
 *	traces_service_graph_request_total            edge n       client, server,
 *	traces_service_graph_request_failed_total     edge failed  connection_type
 *	traces_service_graph_request_server_seconds   edge h[0]    (_bucket{le},
 *	traces_service_graph_request_client_seconds   edge h[1]     _sum, _count)
 *	traces_spanmetrics_calls_total                op n         service, span_name,
 *	traces_spanmetrics_latency                    op h[0]      span_kind, status_code
 *
 * The samples are those a Prometheus scraping Tempo's generator would
 * hold: counters that only grow.  A series' value at time t counts the
 * events of times before t.  Samples sit at every minute boundary (every
 * hour when the query reads a range of 6 h or more, so a week is 168
 * samples, not 10,080) from the boundary before the series' first event
 * until 15 minutes after its last (Tempo drops a series idle that long,
 * and Prometheus then marks it stale), never past now, plus one at the
 * newest event of each bucket, which counts that bucket whole: a query at
 * any time sees every event sealed before it.  Values are read from the
 * hour rows before the window and the rows of the window's resolution
 * inside it.
 */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "core/clock.h"
#include "core/mem.h"
#include "model/promql.h"
#include "model/svcgraph.h"
#include "store/store_int.h"

#define STALE_AFTER_NS (15ull * 60 * 1000000000ull)
#define HOURLY_FROM_RANGE_MS (6ll * 3600 * 1000)

enum what { W_COUNT, W_FAILED, W_BUCKET, W_SUM, W_HCOUNT };

struct family {
	const char *name;
	int kind;               /* SG_KIND_EDGE or SG_KIND_OP */
	enum what what;
	int h;                  /* histogram: 0 server/latency, 1 client */
};

static const struct family families[] = {
	{ "traces_service_graph_request_total", SG_KIND_EDGE, W_COUNT, 0 },
	{ "traces_service_graph_request_failed_total", SG_KIND_EDGE, W_FAILED, 0 },
	{ "traces_service_graph_request_server_seconds_bucket", SG_KIND_EDGE, W_BUCKET, 0 },
	{ "traces_service_graph_request_server_seconds_sum", SG_KIND_EDGE, W_SUM, 0 },
	{ "traces_service_graph_request_server_seconds_count", SG_KIND_EDGE, W_HCOUNT, 0 },
	{ "traces_service_graph_request_client_seconds_bucket", SG_KIND_EDGE, W_BUCKET, 1 },
	{ "traces_service_graph_request_client_seconds_sum", SG_KIND_EDGE, W_SUM, 1 },
	{ "traces_service_graph_request_client_seconds_count", SG_KIND_EDGE, W_HCOUNT, 1 },
	{ "traces_spanmetrics_calls_total", SG_KIND_OP, W_COUNT, 0 },
	{ "traces_spanmetrics_latency_bucket", SG_KIND_OP, W_BUCKET, 0 },
	{ "traces_spanmetrics_latency_sum", SG_KIND_OP, W_SUM, 0 },
	{ "traces_spanmetrics_latency_count", SG_KIND_OP, W_HCOUNT, 0 },
};
#define NFAMILIES (sizeof families / sizeof *families)

static const struct series_meta metas[] = {
	{ "traces_service_graph_request_total", SERIES_TYPE_COUNTER,
	  "Requests between two services, from their spans (Tempo's service graph).", "" },
	{ "traces_service_graph_request_failed_total", SERIES_TYPE_COUNTER,
	  "Failed requests between two services.", "" },
	{ "traces_service_graph_request_server_seconds", SERIES_TYPE_HISTOGRAM,
	  "Request time as the server measured it.", "seconds" },
	{ "traces_service_graph_request_client_seconds", SERIES_TYPE_HISTOGRAM,
	  "Request time as the client measured it.", "seconds" },
	{ "traces_spanmetrics_calls_total", SERIES_TYPE_COUNTER,
	  "Spans per service, name, kind and status (Tempo's span metrics).", "" },
	{ "traces_spanmetrics_latency", SERIES_TYPE_HISTOGRAM, "Span durations.", "seconds" },
};

static const char *const kind_names[] = {
	"SPAN_KIND_UNSPECIFIED", "SPAN_KIND_INTERNAL", "SPAN_KIND_SERVER", "SPAN_KIND_CLIENT",
	"SPAN_KIND_PRODUCER", "SPAN_KIND_CONSUMER",
};
static const char *const status_names[] = { "STATUS_CODE_UNSET", "STATUS_CODE_OK",
					    "STATUS_CODE_ERROR" };

/* What a series needs of a row: counts and Tempo buckets, no fine buckets. */
struct row {
	uint64_t bucket, latest;
	int64_t n, failed;
	int64_t sum[2];
	int64_t coarse[2][SG_MAX_COARSE];
};

struct keyrows {
	struct sg_key key;              /* strings malloc'd */
	struct row base;                /* everything before the window's rows */
	struct row *rows;
	size_t nrows, cap;
};

struct gather {
	int kind;
	bool in_window;                 /* rows, else the base */
	struct keyrows *k;
	size_t n, cap;
};

static void
row_add(struct row *r, const struct sg_cell *c)
{
	int h, i;

	r->n += c->n;
	r->failed += c->failed;
	if (c->latest_ns > r->latest)
		r->latest = c->latest_ns;
	for (h = 0; h < 2; h++) {
		r->sum[h] = sg_add(r->sum[h], c->h[h].sum_ns);
		for (i = 0; i < SG_MAX_COARSE; i++)
			r->coarse[h][i] += c->h[h].coarse[i];
	}
}

static struct keyrows *
key_find(struct gather *g, const struct sg_key *k)
{
	size_t i;

	/* rows come bucket by bucket with keys in order: the last few are likely */
	for (i = g->n; i-- > 0;) {
		struct keyrows *e = &g->k[i];

		if (e->key.d == k->d && strcmp(e->key.a, k->a) == 0 &&
		    strcmp(e->key.b, k->b) == 0 && strcmp(e->key.c, k->c) == 0)
			return e;
	}
	if (g->n == g->cap) {
		g->cap = g->cap ? g->cap * 2 : 16;
		g->k = ob_xrealloc(g->k, g->cap * sizeof *g->k);
	}
	memset(&g->k[g->n], 0, sizeof g->k[g->n]);
	g->k[g->n].key = (struct sg_key){ k->kind, ob_xstrdup(k->a), ob_xstrdup(k->b),
					  ob_xstrdup(k->c), k->d };
	return &g->k[g->n++];
}

static void
gather_row(void *ctx, uint64_t bucket, const struct sg_key *k, const struct sg_cell *cell)
{
	struct gather *g = ctx;
	struct sg_key key = *k;
	struct keyrows *e;

	if (key.kind == SG_KIND_EDGE)
		key.d = 0;      /* which side was virtual is no label */
	e = key_find(g, &key);
	if (!g->in_window) {
		row_add(&e->base, cell);
		return;
	}
	if (e->nrows == 0 || e->rows[e->nrows - 1].bucket != bucket) {
		if (e->nrows == e->cap) {
			e->cap = e->cap ? e->cap * 2 : 16;
			e->rows = ob_xrealloc(e->rows, e->cap * sizeof *e->rows);
		}
		memset(&e->rows[e->nrows], 0, sizeof e->rows[e->nrows]);
		e->rows[e->nrows++].bucket = bucket;
	}
	row_add(&e->rows[e->nrows - 1], cell);
}

static void
gather_release(struct gather *g)
{
	size_t i;

	for (i = 0; i < g->n; i++) {
		free((char *)g->k[i].key.a);
		free((char *)g->k[i].key.b);
		free((char *)g->k[i].key.c);
		free(g->k[i].rows);
	}
	free(g->k);
}

static double
value_of(const struct family *f, const struct row *r, int le)
{
	int i;
	int64_t v = 0;

	switch (f->what) {
	case W_COUNT:
	case W_HCOUNT:
		return (double)r->n;
	case W_FAILED:
		return (double)r->failed;
	case W_SUM:
		return (double)r->sum[f->h] / 1e9;
	case W_BUCKET:
		for (i = 0; i <= le; i++)
			v += r->coarse[f->h][i];
		return (double)v;
	}
	return 0;
}

/* Does a row count for the family (make its series exist)? */
static bool
row_counts(const struct family *f, const struct row *r)
{
	return f->what == W_FAILED ? r->failed != 0 : r->n != 0;
}

static void
cum_add(struct row *acc, const struct row *r)
{
	int h, i;

	acc->n += r->n;
	acc->failed += r->failed;
	for (h = 0; h < 2; h++) {
		acc->sum[h] = sg_add(acc->sum[h], r->sum[h]);
		for (i = 0; i < SG_MAX_COARSE; i++)
			acc->coarse[h][i] += r->coarse[h][i];
	}
}

/* The samples of one series in [mint, maxt] (ms) into out, or only counted. */
static size_t
make_samples(const struct family *f, int le, const struct keyrows *e, uint64_t res,
	     int64_t mint, int64_t maxt, uint64_t now_ns, struct series_sample *out)
{
	struct row acc = e->base;
	uint64_t alive_until = 0;       /* ns: boundaries before this are alive */
	size_t i = 0, n = 0;
	int64_t m;

	if (e->nrows == 0)
		return 0;
	/* boundaries from the first row on; samples kept only inside the window */
	for (m = (int64_t)(e->rows[0].bucket / 1000000); ; m += (int64_t)(res / 1000000)) {
		uint64_t mns = (uint64_t)m * 1000000;
		const struct row *r = i < e->nrows && e->rows[i].bucket == mns ? &e->rows[i] : NULL;
		bool alive = (r && row_counts(f, r)) || mns < alive_until;

		if (m > maxt || mns > now_ns || (i >= e->nrows && !alive))
			break;
		if (alive && m >= mint) {
			if (out)
				out[n] = (struct series_sample){ m, value_of(f, &acc, le) };
			n++;
		}
		if (r) {
			cum_add(&acc, r);
			if (row_counts(f, r)) {
				int64_t t = (int64_t)(r->latest / 1000000);

				if (t == m)
					t++;    /* the boundary counts events before it */
				if (t >= mint && t <= maxt && t < m + (int64_t)(res / 1000000)) {
					if (out)
						out[n] = (struct series_sample){ t, value_of(f, &acc,
											  le) };
					n++;
				}
				alive_until = r->latest + STALE_AFTER_NS;
			}
			i++;
		}
	}
	return n;
}

static int
cmp_series(const void *a, const void *b)
{
	return series_labels_cmp(&((const struct series_data *)a)->labels,
			  &((const struct series_data *)b)->labels);
}

static bool
name_matches(const struct promql_matcher *m, size_t nm, const char *name)
{
	size_t i;

	for (i = 0; i < nm; i++)
		if (strcmp(m[i].name, "__name__") == 0 && !promql_matcher_matches(&m[i], name))
			return false;
	return true;
}

/* The labels of a key's series of family f (and bucket le), sorted. */
static size_t
key_labels(const struct family *f, const struct sg_key *k, const char *le,
	   struct series_label *v)
{
	size_t n = 0;

	v[n++] = (struct series_label){ "__name__", f->name };
	if (f->kind == SG_KIND_EDGE) {
		v[n++] = (struct series_label){ "client", k->a };
		v[n++] = (struct series_label){ "connection_type", k->c };
		if (le)
			v[n++] = (struct series_label){ "le", le };
		v[n++] = (struct series_label){ "server", k->b };
	} else {
		if (le)
			v[n++] = (struct series_label){ "le", le };
		v[n++] = (struct series_label){ "service", k->a };
		v[n++] = (struct series_label){ "span_kind",
						k->d / 8 < 6 ? kind_names[k->d / 8] : "" };
		v[n++] = (struct series_label){ "span_name", k->b };
		v[n++] = (struct series_label){ "status_code",
						k->d % 8 < 3 ? status_names[k->d % 8] : "" };
	}
	/* an empty value is no label */
	for (size_t i = 0, j = 0; i < n; i++) {
		if (v[i].value[0])
			v[j++] = v[i];
		if (i == n - 1)
			n = j;
	}
	return n;
}

static bool
labels_match(const struct promql_matcher *m, size_t nm, const struct series_labels *ls)
{
	size_t i;

	for (i = 0; i < nm; i++)
		if (strcmp(m[i].name, "__name__") != 0 &&
		    !promql_matcher_matches(&m[i], series_label_get(ls, m[i].name)))
			return false;
	return true;
}

static const char *
le_text(int kind, int i, char *buf, size_t len)
{
	double b = sg_bucket_bound(kind, i);

	if (isinf(b))
		return "+Inf";
	snprintf(buf, len, "%g", b);
	return buf;
}

enum ob_err
store_rollup_select(struct store *s, const struct promql_matcher *m, size_t nm, int64_t mint,
		    int64_t maxt, int64_t range_ms, struct ob_arena *arena,
		    struct series_data **out, size_t *nout, char *errbuf)
{
	bool want[NFAMILIES], any[2] = { false, false };
	uint64_t res = range_ms >= HOURLY_FROM_RANGE_MS ? SG_RES_HOUR_NS : SG_RES_MINUTE_NS;
	struct gather g[2] = { { .kind = SG_KIND_EDGE }, { .kind = SG_KIND_OP } };
	uint64_t now = ob_now_ns(), from, to;
	struct series_data *v = NULL;
	size_t nv = 0, cap = 0, i, j, f;
	struct conn *c = NULL;
	enum ob_err err = OB_OK;

	*out = NULL;
	*nout = 0;
	for (f = 0; f < NFAMILIES; f++)
		if ((want[f] = name_matches(m, nm, families[f].name)))
			any[families[f].kind == SG_KIND_OP] = true;
	if (!any[0] && !any[1])
		return OB_OK;
	if (maxt < 0)
		return OB_OK;
	if (mint < 0)
		mint = 0;
	/* rows from an hour boundary before the window, early enough to know
	 * which boundaries of the window are alive */
	from = (uint64_t)mint * 1000000;
	from = from > STALE_AFTER_NS + res ? from - STALE_AFTER_NS - res : 0;
	from -= from % SG_RES_HOUR_NS;
	to = (uint64_t)maxt * 1000000 + 1;
	if ((c = db_acquire(s, errbuf)) == NULL)
		return OB_EIO;
	for (i = 0; i < 2 && !err; i++) {
		if (!any[i])
			continue;
		g[i].in_window = false;
		err = rollup_scan(c, SG_RES_HOUR_NS, 0, from, g[i].kind, NULL, gather_row, &g[i],
				  errbuf);
		g[i].in_window = true;
		if (!err)
			err = rollup_scan(c, res, from, to, g[i].kind, NULL, gather_row, &g[i],
					  errbuf);
	}
	db_release(s, c);
	if (err)
		goto out;
	for (i = 0; i < 2; i++)
		for (j = 0; j < g[i].n; j++) {
			const struct keyrows *e = &g[i].k[j];

			for (f = 0; f < NFAMILIES; f++) {
				const struct family *fam = &families[f];
				int le, nle = fam->what == W_BUCKET ? sg_nbuckets(fam->kind) + 1 : 1;

				if (!want[f] || fam->kind != g[i].kind)
					continue;
				for (le = 0; le < nle; le++) {
					struct series_label lv[8];
					struct series_data d = { 0 };
					char lebuf[32];
					const char *les = fam->what == W_BUCKET
						? le_text(fam->kind, le, lebuf, sizeof lebuf) : NULL;

					d.labels.n = key_labels(fam, &e->key, les, lv);
					d.labels.v = lv;
					if (!labels_match(m, nm, &d.labels))
						continue;
					d.nf = make_samples(fam, le, e, res, mint, maxt, now, NULL);
					if (d.nf == 0)
						continue;
					d.f = ob_arena_alloc(arena, d.nf * sizeof *d.f);
					d.labels.v = ob_arena_alloc(arena, d.labels.n * sizeof *lv);
					if (d.f == NULL || d.labels.v == NULL) {
						err = ob_errf(errbuf, OB_ETOOBIG, "query processing would"
							      " load too many samples");
						goto out;
					}
					for (size_t k = 0; k < d.labels.n; k++) {
						d.labels.v[k].name = lv[k].name;
						d.labels.v[k].value = ob_arena_memdup(arena, lv[k].value,
							strlen(lv[k].value) + 1);
					}
					make_samples(fam, le, e, res, mint, maxt, now, d.f);
					if (nv == cap) {
						cap = cap ? cap * 2 : 64;
						v = ob_xrealloc(v, cap * sizeof *v);
					}
					v[nv++] = d;
				}
			}
		}
	if (nv)
		qsort(v, nv, sizeof *v, cmp_series);
	if (nv) {
		*out = ob_arena_alloc(arena, nv * sizeof *v);
		if (*out == NULL) {
			err = ob_errf(errbuf, OB_ETOOBIG, "query processing would load too many"
				      " samples");
			goto out;
		}
		memcpy(*out, v, nv * sizeof *v);
		*nout = nv;
	}
out:
	free(v);
	gather_release(&g[0]);
	gather_release(&g[1]);
	return err;
}

const struct series_meta *
store_rollup_meta(const char *family)
{
	size_t i;

	for (i = 0; i < sizeof metas / sizeof *metas; i++)
		if (strcmp(metas[i].family, family) == 0)
			return &metas[i];
	return NULL;
}

bool
store_rollup_family(const char *name)
{
	size_t i;

	for (i = 0; i < NFAMILIES; i++)
		if (strcmp(families[i].name, name) == 0)
			return true;
	return store_rollup_meta(name) != NULL;
}
