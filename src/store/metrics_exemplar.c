/*
 * metrics_exemplar.c - exemplars: the last opt.max_exemplars of them in a
 * ring in memory, as Prometheus keeps them (TSDB blocks hold none).
 *
 * Each entry names its series by ref and keeps the exemplar's labels
 * (trace_id, span_id, ...) packed in one allocation.  Per series, an
 * exemplar must be newer than the last one kept (s->last_ex_t): resent or
 * late exemplars are dropped, as Prometheus drops out-of-order ones.
 * Exemplars are logged in the WAL (record 6, byte table in metrics_wal.c)
 * and copied into each checkpoint, so they survive restarts until the ring
 * overwrites them.  The ring has its own lock, taken after a stripe's.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/metrics_int.h"

struct mex {
	uint32_t ref;
	uint32_t nlabels;
	int64_t t;
	double v;
	char *labels;                   /* name\0value\0 ... */
	size_t len;
};

void
mex_init(struct mstore *m)
{
	pthread_mutex_init(&m->ex_lock, NULL);
	m->ex_cap = m->opt.max_exemplars;
	if (m->ex_cap)
		m->ex = ob_xcalloc(m->ex_cap, sizeof *m->ex);
}

void
mex_release(struct mstore *m)
{
	for (size_t i = 0; i < m->ex_cap; i++)
		free(m->ex[i].labels);
	free(m->ex);
	pthread_mutex_destroy(&m->ex_lock);
}

/* Keep e for s (stripe lock held); false when it is not newer than the last. */
bool
mex_add(struct mstore *m, struct mseries *s, const struct series_exemplar *e, int64_t t)
{
	struct mex *x;
	size_t len = 0;
	char *p;

	if (!m->ex_cap || t <= s->last_ex_t || e->labels.n > 64)
		return false;
	for (size_t i = 0; i < e->labels.n; i++)
		len += strlen(e->labels.v[i].name) + strlen(e->labels.v[i].value) + 2;
	if (len > 4096)
		return false;   /* Prometheus allows 128 characters of exemplar labels */
	pthread_mutex_lock(&m->ex_lock);
	x = &m->ex[m->ex_next];
	m->ex_next = (m->ex_next + 1) % m->ex_cap;
	if (m->ex_count < m->ex_cap)
		m->ex_count++;
	mhead_account(m, (int64_t)len - (int64_t)x->len);
	free(x->labels);
	x->labels = p = ob_xmalloc(len + 1);
	x->len = len;
	for (size_t i = 0; i < e->labels.n; i++) {
		size_t a = strlen(e->labels.v[i].name) + 1, b = strlen(e->labels.v[i].value) + 1;
		memcpy(p, e->labels.v[i].name, a);
		memcpy(p + a, e->labels.v[i].value, b);
		p += a + b;
	}
	x->nlabels = (uint32_t)e->labels.n;
	x->ref = s->ref;
	x->t = t;
	x->v = e->v;
	pthread_mutex_unlock(&m->ex_lock);
	s->last_ex_t = t;
	return true;
}

static void
encode_one(struct ob_buf *b, uint32_t ref, int64_t t, double v, const struct series_labels *ls)
{
	mwal_put_uvarint(b, ref);
	mwal_put_varint(b, t);
	mwal_put_f64(b, v);
	mwal_put_uvarint(b, ls->n);
	for (size_t i = 0; i < ls->n; i++) {
		mwal_put_str(b, ls->v[i].name);
		mwal_put_str(b, ls->v[i].value);
	}
}

void
mex_encode(struct ob_buf *b, uint32_t ref, const struct series_exemplar *e, int64_t t)
{
	encode_one(b, ref, t, e->v, &e->labels);
}

/* Every exemplar in the ring as one record, for a checkpoint. */
void
mex_checkpoint(struct mstore *m, struct ob_buf *b)
{
	size_t start, mark;
	struct series_label lv[64];

	if (!m->ex_cap)
		return;
	start = mwal_begin(b, MWAL_EXEMPLARS);
	mark = b->len;
	pthread_mutex_lock(&m->ex_lock);
	for (size_t k = 0; k < m->ex_count; k++) {
		/* oldest first, so replay keeps each series' order */
		const struct mex *x =
			&m->ex[(m->ex_next + m->ex_cap - m->ex_count + k) % m->ex_cap];
		struct series_labels ls = {lv, 0};
		const char *p = x->labels;
		if (!mhead_by_ref(m, x->ref) || x->nlabels > 64)
			continue;
		for (uint32_t i = 0; i < x->nlabels; i++) {
			lv[i].name = p;
			p += strlen(p) + 1;
			lv[i].value = p;
			p += strlen(p) + 1;
		}
		ls.n = x->nlabels;
		encode_one(b, x->ref, x->t, x->v, &ls);
	}
	pthread_mutex_unlock(&m->ex_lock);
	if (b->len > mark)
		mwal_end(b, start);
	else
		b->len = start;
}

static int
cmp_ex(const void *a, const void *b)
{
	const struct series_exemplar *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

enum ob_err
mstore_exemplars(struct mstore *m, const struct promql_matcher *mt, size_t nm, int64_t mint,
		 int64_t maxt, struct ob_arena *arena, struct mstore_exemplar_series **out,
		 size_t *nout, char *errbuf)
{
	struct mstore_exemplar_series *v = NULL;
	size_t n = 0, a = 0, nb;
	struct slot {
		uint32_t ref;
		int32_t idx;            /* into v, or -1: the series does not match */
	} *tab = NULL;
	struct qm *q = NULL;
	enum ob_err err;

	*out = NULL;
	*nout = 0;
	if (!m->ex_cap)
		return OB_OK;
	if ((err = mq_compile(mt, nm, &q, errbuf)))
		return err;
	pthread_rwlock_rdlock(&m->rw);
	pthread_mutex_lock(&m->ex_lock);
	for (nb = 64; nb < 2 * m->ex_count; nb *= 2)
		;
	tab = ob_xcalloc(nb, sizeof *tab);
	/* pass 1: which series match, and how many exemplars each has */
	for (size_t k = 0; k < m->ex_count; k++) {
		const struct mex *x = &m->ex[k];
		struct mseries *s;
		size_t h;
		if (x->t < mint || x->t > maxt)
			continue;
		for (h = (x->ref * 0x9e3779b1u) & (nb - 1); tab[h].ref && tab[h].ref != x->ref;
		     h = (h + 1) & (nb - 1))
			;
		if (!tab[h].ref) {
			tab[h].ref = x->ref;
			tab[h].idx = -1;
			s = mhead_by_ref(m, x->ref);
			if (!s || s->ref != x->ref || !mq_matches(q, nm, &s->labels))
				continue;
			if (n == a) {
				a = a ? a * 2 : 16;
				v = ob_xrealloc(v, a * sizeof *v);
			}
			memset(&v[n], 0, sizeof v[n]);
			if (!mq_labels_copy(arena, &s->labels, &v[n].labels)) {
				err = ob_errf(errbuf, OB_ETOOBIG, "exemplars over the query's memory limit");
				goto out;
			}
			tab[h].idx = (int32_t)n++;
		}
		if (tab[h].idx >= 0)
			v[tab[h].idx].n++;
	}
	for (size_t i = 0; i < n; i++) {
		v[i].ex = ob_arena_alloc(arena, v[i].n * sizeof *v[i].ex + 1);
		if (!v[i].ex) {
			err = ob_errf(errbuf, OB_ETOOBIG, "exemplars over the query's memory limit");
			goto out;
		}
		v[i].n = 0;
	}
	/* pass 2: copy them */
	for (size_t k = 0; k < m->ex_count; k++) {
		const struct mex *x = &m->ex[k];
		size_t h;
		if (x->t < mint || x->t > maxt)
			continue;
		for (h = (x->ref * 0x9e3779b1u) & (nb - 1); tab[h].ref != x->ref; h = (h + 1) & (nb - 1))
			;
		if (tab[h].idx < 0)
			continue;
		struct mstore_exemplar_series *es = &v[tab[h].idx];
		struct series_label *lv = ob_arena_alloc(arena, (x->nlabels + 1) * sizeof *lv);
		char *lab = ob_arena_memdup(arena, x->labels, x->len + 1);
		if (!lv || !lab) {
			err = ob_errf(errbuf, OB_ETOOBIG, "exemplars over the query's memory limit");
			goto out;
		}
		for (uint32_t j = 0; j < x->nlabels; j++) {
			lv[j].name = lab;
			lab += strlen(lab) + 1;
			lv[j].value = lab;
			lab += strlen(lab) + 1;
		}
		es->ex[es->n++] = (struct series_exemplar){{lv, x->nlabels}, x->v, x->t};
	}
	if (n) {
		*out = ob_arena_alloc(arena, n * sizeof **out);
		if (!*out) {
			err = ob_errf(errbuf, OB_ETOOBIG, "exemplars over the query's memory limit");
			goto out;
		}
		memcpy(*out, v, n * sizeof **out);
		for (size_t i = 0; i < n; i++)
			qsort((*out)[i].ex, (*out)[i].n, sizeof *(*out)[i].ex, cmp_ex);
		*nout = n;
	}
out:
	pthread_mutex_unlock(&m->ex_lock);
	pthread_rwlock_unlock(&m->rw);
	mq_free(q, nm);
	free(tab);
	free(v);
	return err;
}
