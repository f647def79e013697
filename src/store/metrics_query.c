/*
 * metrics_query.c - reading the head and the blocks as one: the PromQL
 * source, series and label listings, metadata.
 *
 * A select holds m->rw shared while it copies what the head has for the
 * matching series (chunk bytes and OOO samples, into the query's arena)
 * and takes a reference on every block; a seal switches under m->rw
 * exclusive, so the head copy and the block list are of one moment: no
 * gap, no duplicate.  Decoding and the block reads happen after the lock
 * is released.
 *
 * Head candidates come from the postings of the most selective equality
 * matcher with a non-empty value; without one every series is tested.
 * Regex matchers compiled by the PromQL engine (m->re set) are tested with
 * promql_matcher_matches; others are compiled here (POSIX extended,
 * anchored).
 *
 * Merging: pieces of one label set (head in-order chunks, OOO samples,
 * then blocks, newest first) are merged by time; at equal timestamps the
 * first piece wins.
 */
#include <regex.h>
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/metrics_int.h"

#pragma weak promql_matcher_matches

struct qm {
	const struct promql_matcher *m;
	regex_t re;
	bool own_re;
};

enum ob_err
mq_compile(const struct promql_matcher *mt, size_t nm, struct qm **out, char *errbuf)
{
	struct qm *q = ob_xcalloc(nm + 1, sizeof *q);

	for (size_t i = 0; i < nm; i++) {
		q[i].m = &mt[i];
		if ((mt[i].op == PROMQL_MATCH_RE || mt[i].op == PROMQL_MATCH_NRE) &&
		    !(mt[i].re && promql_matcher_matches)) {
			char *pat = ob_xasprintf("^(%s)$", mt[i].value ? mt[i].value : "");
			int rc = regcomp(&q[i].re, pat, REG_EXTENDED | REG_NOSUB);
			free(pat);
			if (rc) {
				for (size_t j = 0; j < i; j++)
					if (q[j].own_re)
						regfree(&q[j].re);
				free(q);
				return ob_errf(errbuf, OB_EINVAL, "invalid regular expression \"%s\"",
					       mt[i].value);
			}
			q[i].own_re = true;
		}
	}
	*out = q;
	return OB_OK;
}

void
mq_free(struct qm *q, size_t nm)
{
	for (size_t i = 0; q && i < nm; i++)
		if (q[i].own_re)
			regfree(&q[i].re);
	free(q);
}

bool
mq_matches(const struct qm *q, size_t nm, const struct series_labels *ls)
{
	for (size_t i = 0; i < nm; i++) {
		const char *v = series_label_get(ls, q[i].m->name);
		bool ok;
		if (!v)
			v = "";
		switch (q[i].m->op) {
		case PROMQL_MATCH_EQ:
			ok = strcmp(v, q[i].m->value ? q[i].m->value : "") == 0;
			break;
		case PROMQL_MATCH_NEQ:
			ok = strcmp(v, q[i].m->value ? q[i].m->value : "") != 0;
			break;
		default:
			if (!q[i].own_re)
				return promql_matcher_matches(q[i].m, v) &&
				       mq_matches(q + i + 1, nm - i - 1, ls);
			ok = regexec(&q[i].re, v, 0, NULL, 0) == 0;
			if (q[i].m->op == PROMQL_MATCH_NRE)
				ok = !ok;
		}
		if (!ok)
			return false;
	}
	return true;
}

/* --- the merge set --- */

struct piece {
	const struct series_sample *f;
	size_t nf;
	const struct series_histogram *h;
	size_t nh;
	struct piece *next;
};

struct qseries {
	struct series_labels labels;
	uint64_t hash;
	struct piece *first, *last;
	size_t nf, nh, npieces;
	struct qseries *next;
};

struct qset {
	struct ob_arena *a;
	struct qseries **b;
	size_t nb, n;
	struct qseries **order;
	size_t aorder;
	bool oom;
};

static void
qset_init(struct qset *s, struct ob_arena *a)
{
	memset(s, 0, sizeof *s);
	s->a = a;
	s->nb = 1024;
	s->b = ob_xcalloc(s->nb, sizeof *s->b);
}

static void
qset_release(struct qset *s)
{
	free(s->b);
	free(s->order);
}

static struct series_labels
labels_copy(struct ob_arena *a, const struct series_labels *ls, bool *oom)
{
	struct series_labels out = {ob_arena_alloc(a, ls->n * sizeof *out.v + 1), ls->n};

	if (!out.v) {
		*oom = true;
		out.n = 0;
		return out;
	}
	for (size_t i = 0; i < ls->n; i++) {
		out.v[i].name = ob_arena_memdup(a, ls->v[i].name, strlen(ls->v[i].name) + 1);
		out.v[i].value = ob_arena_memdup(a, ls->v[i].value, strlen(ls->v[i].value) + 1);
		if (!out.v[i].name || !out.v[i].value)
			*oom = true;
	}
	return out;
}

bool
mq_labels_copy(struct ob_arena *a, const struct series_labels *ls, struct series_labels *out)
{
	bool oom = false;

	*out = labels_copy(a, ls, &oom);
	return !oom;
}

/* The entry of labels ls (copied in when copy is set) and a new piece on it. */
static struct qseries *
qset_get(struct qset *s, const struct series_labels *ls, bool copy)
{
	uint64_t h = mhead_labels_hash(ls);
	struct qseries *q;

	for (q = s->b[h & (s->nb - 1)]; q; q = q->next)
		if (q->hash == h && series_labels_cmp(&q->labels, ls) == 0)
			return q;
	if (s->n >= s->nb) {
		size_t nb = s->nb * 2;
		struct qseries **nt = ob_xcalloc(nb, sizeof *nt);
		for (size_t i = 0; i < s->n; i++) {
			struct qseries *e = s->order[i];
			e->next = nt[e->hash & (nb - 1)];
			nt[e->hash & (nb - 1)] = e;
		}
		free(s->b);
		s->b = nt;
		s->nb = nb;
	}
	q = ob_arena_alloc(s->a, sizeof *q);
	if (!q) {
		s->oom = true;
		return NULL;
	}
	memset(q, 0, sizeof *q);
	q->labels = copy ? labels_copy(s->a, ls, &s->oom) : *ls;
	q->hash = h;
	q->next = s->b[h & (s->nb - 1)];
	s->b[h & (s->nb - 1)] = q;
	if (s->n == s->aorder) {
		s->aorder = s->aorder ? s->aorder * 2 : 256;
		s->order = ob_xrealloc(s->order, s->aorder * sizeof *s->order);
	}
	s->order[s->n++] = q;
	return q;
}

static void
qset_piece(struct qset *s, struct qseries *q, const struct series_sample *f, size_t nf,
	   const struct series_histogram *h, size_t nh)
{
	struct piece *p;

	if (!q || (nf == 0 && nh == 0))
		return;
	if (!(p = ob_arena_alloc(s->a, sizeof *p))) {
		s->oom = true;
		return;
	}
	*p = (struct piece){f, nf, h, nh, NULL};
	if (q->last)
		q->last->next = p;
	else
		q->first = p;
	q->last = p;
	q->nf += nf;
	q->nh += nh;
	q->npieces++;
}

struct ref {
	int64_t t;
	uint32_t piece, idx;
};

static int
cmp_ref(const void *a, const void *b)
{
	const struct ref *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->piece < y->piece ? -1 : x->piece > y->piece;
}

static int
cmp_piece_first(const void *a, const void *b)
{
	const struct piece *x = *(struct piece *const *)a, *y = *(struct piece *const *)b;
	return x->f[0].t < y->f[0].t ? -1 : x->f[0].t > y->f[0].t;
}

/*
 * Float pieces that do not overlap in time (blocks of distinct ranges and
 * the head, the usual case) are concatenated in time order; returns false
 * when some overlap.
 */
static bool
concat_disjoint(struct piece **pv, size_t np, struct series_sample *out, size_t *nout)
{
	struct piece **v = ob_xmalloc((np + 1) * sizeof *v);
	size_t k = 0, n = 0;

	for (size_t i = 0; i < np; i++)
		if (pv[i]->nf)
			v[k++] = pv[i];
	qsort(v, k, sizeof *v, cmp_piece_first);
	for (size_t i = 1; i < k; i++)
		if (v[i]->f[0].t <= v[i - 1]->f[v[i - 1]->nf - 1].t) {
			free(v);
			return false;
		}
	for (size_t i = 0; i < k; i++) {
		memcpy(out + n, v[i]->f, v[i]->nf * sizeof *out);
		n += v[i]->nf;
	}
	*nout = n;
	free(v);
	return true;
}

/* Merge q's pieces into out (samples sorted, equal times once, first piece wins). */
static bool
qseries_merge(struct qset *s, struct qseries *q, struct series_data *out)
{
	struct piece *p, **pv;
	struct ref *r;
	size_t k, n, np = 0;

	out->labels = q->labels;
	out->f = NULL;
	out->h = NULL;
	out->nf = out->nh = 0;
	if (q->npieces == 1) {
		out->f = (struct series_sample *)q->first->f;
		out->nf = q->first->nf;
		out->h = (struct series_histogram *)q->first->h;
		out->nh = q->first->nh;
		return true;
	}
	pv = ob_xmalloc(q->npieces * sizeof *pv);
	for (p = q->first; p; p = p->next)
		pv[np++] = p;
	n = q->nf > q->nh ? q->nf : q->nh;
	r = ob_xmalloc((n + 1) * sizeof *r);
	if (q->nf) {
		out->f = ob_arena_alloc(s->a, q->nf * sizeof *out->f);
		if (!out->f)
			goto oom;
		if (!concat_disjoint(pv, np, out->f, &out->nf)) {
			k = 0;
			for (uint32_t pi = 0; pi < np; pi++)
				for (uint32_t i = 0; i < pv[pi]->nf; i++)
					r[k++] = (struct ref){pv[pi]->f[i].t, pi, i};
			qsort(r, k, sizeof *r, cmp_ref);
			for (size_t i = 0; i < k; i++)
				if (!out->nf || out->f[out->nf - 1].t != r[i].t)
					out->f[out->nf++] = pv[r[i].piece]->f[r[i].idx];
		}
	}
	if (q->nh) {
		out->h = ob_arena_alloc(s->a, q->nh * sizeof *out->h);
		if (!out->h)
			goto oom;
		k = 0;
		for (uint32_t pi = 0; pi < np; pi++)
			for (uint32_t i = 0; i < pv[pi]->nh; i++)
				r[k++] = (struct ref){pv[pi]->h[i].t, pi, i};
		qsort(r, k, sizeof *r, cmp_ref);
		for (size_t i = 0; i < k; i++)
			if (!out->nh || out->h[out->nh - 1].t != r[i].t)
				out->h[out->nh++] = pv[r[i].piece]->h[r[i].idx];
	}
	free(r);
	free(pv);
	return true;
oom:
	free(r);
	free(pv);
	return false;
}

/* --- the head --- */

static int
cmp_sample(const void *a, const void *b)
{
	const struct series_sample *x = a, *y = b;
	return x->t < y->t ? -1 : x->t > y->t;
}

/* Head refs to test: the smallest postings list of an equality matcher. */
static uint32_t *
head_candidates(struct mstore *m, const struct promql_matcher *mt, size_t nm, size_t *n,
		bool *all)
{
	uint32_t *best = NULL, *v;
	size_t nbest = 0, k;

	*all = true;
	for (size_t i = 0; i < nm; i++) {
		if (mt[i].op != PROMQL_MATCH_EQ || !mt[i].value || !*mt[i].value)
			continue;
		mhead_postings(m, mt[i].name, mt[i].value, &v, &k);
		if (*all || k < nbest) {
			free(best);
			best = v;
			nbest = k;
			*all = false;
		} else {
			free(v);
		}
	}
	*n = nbest;
	return best;
}

struct ccopy {
	uint8_t enc;
	uint8_t *data;
	size_t len, nsamples;
	int64_t mint, maxt;
};

/*
 * Copy what series s has in [mint, maxt] into the set (m->rw shared held).
 * With samples false only the label set is added (listing).
 */
static enum ob_err
head_series(struct mstore *m, struct mseries *s, int64_t mint, int64_t maxt, bool samples,
	    struct qset *set, char *errbuf)
{
	struct mstripe *st = mhead_stripe(m, s);
	struct ccopy *cc = NULL;
	struct series_sample *ooo = NULL;
	size_t ncc = 0, nooo = 0;
	bool any = false;
	enum ob_err err = OB_OK;

	pthread_mutex_lock(&st->lock);
	size_t nch = s->nfc + s->nhc;
	if (samples && nch)
		cc = ob_arena_alloc(set->a, nch * sizeof *cc);
	for (uint32_t pass = 0; pass < 2; pass++) {
		struct tsdb_chunk *ch = pass ? s->hc : s->fc;
		uint32_t n = pass ? s->nhc : s->nfc;
		for (uint32_t i = 0; i < n; i++) {
			if (!ch[i].nsamples || ch[i].maxt < mint || ch[i].mint > maxt)
				continue;
			any = true;
			if (!samples)
				break;
			if (!cc || !(cc[ncc].data = ob_arena_memdup(set->a, ch[i].data, ch[i].len))) {
				set->oom = true;
				break;
			}
			cc[ncc].enc = ch[i].enc;
			cc[ncc].len = ch[i].len;
			cc[ncc].mint = ch[i].mint;
			cc[ncc].maxt = ch[i].maxt;
			cc[ncc].nsamples = ch[i].nsamples;
			ncc++;
		}
	}
	size_t cap = s->nooo + s->nsealing;
	bool two_ooo = s->nooo && s->nsealing;
	if (cap && samples)
		ooo = ob_arena_alloc(set->a, cap * sizeof *ooo);
	for (uint32_t pass = 0; pass < 2; pass++) {
		const struct series_sample *x = pass ? s->sealing : s->ooo;
		uint32_t n = pass ? s->nsealing : s->nooo;
		for (uint32_t i = 0; i < n; i++)
			if (x[i].t >= mint && x[i].t <= maxt) {
				any = true;
				if (ooo)
					ooo[nooo++] = x[i];
			}
	}
	pthread_mutex_unlock(&st->lock);
	if (!any)
		return OB_OK;
	struct qseries *q = qset_get(set, &s->labels, true);
	if (!q || !samples)
		return OB_OK;
	/* in-order chunks: float and histogram chunks each time-ordered, disjoint */
	size_t capf = 0, caph = 0, nfa = 0, nha = 0;
	for (size_t i = 0; i < ncc; i++)
		*(cc[i].enc == TSDB_ENC_XOR ? &capf : &caph) += cc[i].nsamples;
	struct series_sample *fa = capf ? ob_arena_alloc(set->a, capf * sizeof *fa) : NULL;
	struct series_histogram *ha = caph ? ob_arena_alloc(set->a, caph * sizeof *ha) : NULL;
	if ((capf && !fa) || (caph && !ha)) {
		set->oom = true;
		return OB_OK;
	}
	for (size_t i = 0; i < ncc && !err; i++) {
		struct series_sample *f = NULL;
		struct series_histogram *h = NULL;
		size_t nf = 0, nh = 0;
		err = tsdb_chunk_decode(cc[i].enc, cc[i].data, cc[i].len, mint, maxt, set->a, &f, &nf,
					&h, &nh, errbuf);
		if (!err && (nfa + nf > capf || nha + nh > caph))
			err = ob_errf(errbuf, OB_EINTERNAL, "a head chunk holds more than it says");
		if (err)
			break;
		if (nf)
			memcpy(fa + nfa, f, nf * sizeof *fa);
		if (nh)
			memcpy(ha + nha, h, nh * sizeof *ha);
		nfa += nf;
		nha += nh;
	}
	if (err)
		return err;
	qset_piece(set, q, fa, nfa, ha, nha);
	if (nooo) {
		/* ooo and sealing are each sorted, and disjoint: sort the two together */
		if (two_ooo)
			qsort(ooo, nooo, sizeof *ooo, cmp_sample);
		qset_piece(set, q, ooo, nooo, NULL, 0);
	}
	return OB_OK;
}

/* Every head series matching q into set (m->rw shared held). */
static enum ob_err
head_collect(struct mstore *m, const struct promql_matcher *mt, const struct qm *q, size_t nm,
	     int64_t mint, int64_t maxt, bool samples, struct qset *set, char *errbuf)
{
	bool all;
	size_t n;
	uint32_t *refs = head_candidates(m, mt, nm, &n, &all);
	uint32_t top = atomic_load(&m->next_ref);
	enum ob_err err = OB_OK;

	for (size_t i = 0; !err && !set->oom && (all ? i < top : i < n); i++) {
		uint32_t ref = all ? (uint32_t)i : refs[i];
		if (all && (ref & ((1u << MREF_PAGE_BITS) - 1)) == 0 &&
		    !atomic_load(&m->ref_pages[ref >> MREF_PAGE_BITS])) {
			i += (1u << MREF_PAGE_BITS) - 1;        /* a page never used */
			continue;
		}
		struct mseries *s = ref ? mhead_by_ref(m, ref) : NULL;
		if (!s || s->ref != ref || !mq_matches(q, nm, &s->labels))
			continue;
		err = head_series(m, s, mint, maxt, samples, set, errbuf);
	}
	free(refs);
	return err;
}

static bool
overlaps(const struct mblock *b, int64_t mint, int64_t maxt)
{
	return b->meta.min_time <= maxt && b->meta.max_time > mint;
}

/* Head and blocks for one selector into set. */
static enum ob_err
collect(struct mstore *m, const struct promql_matcher *mt, size_t nm, int64_t mint,
	int64_t maxt, bool samples, struct qset *set, char *errbuf)
{
	struct qm *q = NULL;
	struct mblock **blocks;
	size_t nb;
	enum ob_err err;

	if ((err = mq_compile(mt, nm, &q, errbuf)))
		return err;
	pthread_rwlock_rdlock(&m->rw);
	err = head_collect(m, mt, q, nm, mint, maxt, samples, set, errbuf);
	blocks = mstore_blocks_get(m, &nb);
	pthread_rwlock_unlock(&m->rw);
	mq_free(q, nm);
	/* newest block first: its samples win a tie after the head's */
	for (size_t i = nb; i-- > 0;) {
		struct series_data *sd = NULL;
		size_t nsd = 0;
		if (!err && !set->oom && overlaps(blocks[i], mint, maxt)) {
			err = tsdb_block_select(blocks[i]->b, mt, nm, mint, maxt, set->a, &sd, &nsd,
						errbuf);
			for (size_t k = 0; !err && k < nsd; k++) {
				if (sd[k].nf == 0 && sd[k].nh == 0)
					continue;
				struct qseries *qs = qset_get(set, &sd[k].labels, false);
				if (samples)
					qset_piece(set, qs, sd[k].f, sd[k].nf, sd[k].h, sd[k].nh);
			}
		}
		mblock_put(blocks[i]);
	}
	free(blocks);
	if (!err && set->oom)
		err = ob_errf(errbuf, OB_ETOOBIG, "query needs more memory than its limit");
	return err;
}

enum ob_err
mstore_select(struct mstore *m, const struct promql_matcher *mt, size_t nm, int64_t mint,
	      int64_t maxt, struct ob_arena *arena, struct series_data **out, size_t *nout,
	      char *errbuf)
{
	struct qset set;
	struct series_data *v;
	enum ob_err err;
	size_t k = *nout;

	qset_init(&set, arena);
	if ((err = collect(m, mt, nm, mint, maxt, true, &set, errbuf)))
		goto out;
	v = ob_arena_alloc(arena, (k + set.n + 1) * sizeof *v);
	if (!v) {
		err = ob_errf(errbuf, OB_ETOOBIG, "query needs more memory than its limit");
		goto out;
	}
	if (k)
		memcpy(v, *out, k * sizeof *v);
	for (size_t i = 0; i < set.n; i++) {
		if (!qseries_merge(&set, set.order[i], &v[k])) {
			err = ob_errf(errbuf, OB_ETOOBIG, "query needs more memory than its limit");
			goto out;
		}
		if (v[k].nf || v[k].nh)
			k++;
	}
	*out = v;
	*nout = k;
out:
	qset_release(&set);
	return err;
}

static enum ob_err
source_select(void *ctx, const struct promql_matcher *m, size_t nm, int64_t mint, int64_t maxt,
	      struct ob_arena *arena, struct series_data **out, size_t *nout, char *errbuf)
{
	return mstore_select(ctx, m, nm, mint, maxt, arena, out, nout, errbuf);
}

static const struct series_meta *
source_meta(void *ctx, const char *family)
{
	struct mstore *m = ctx;
	const struct series_meta *r = NULL;

	pthread_mutex_lock(&m->meta_lock);
	for (struct mmeta *e = m->meta; e; e = e->next)
		if (!e->superseded && strcmp(e->m.family, family) == 0) {
			r = &e->m;
			break;
		}
	pthread_mutex_unlock(&m->meta_lock);
	return r;
}

void
mstore_source(struct mstore *m, struct promql_source *out)
{
	out->ctx = m;
	out->select = source_select;
	out->meta = source_meta;
}

/* --- listings --- */

static const struct promql_matcher every_series = {PROMQL_MATCH_NEQ, "__name__", "", NULL};

static enum ob_err
collect_all(struct mstore *m, const struct mstore_selector *sel, size_t nsel, int64_t mint,
	    int64_t maxt, struct qset *set, char *errbuf)
{
	enum ob_err err = OB_OK;

	if (nsel == 0)
		return collect(m, &every_series, 1, mint, maxt, false, set, errbuf);
	for (size_t i = 0; i < nsel && !err; i++)
		err = sel[i].n ? collect(m, sel[i].m, sel[i].n, mint, maxt, false, set, errbuf)
			       : collect(m, &every_series, 1, mint, maxt, false, set, errbuf);
	return err;
}

static int
cmp_labels_p(const void *a, const void *b)
{
	return series_labels_cmp(a, b);
}

enum ob_err
mstore_series(struct mstore *m, const struct mstore_selector *sel, size_t nsel, int64_t mint,
	      int64_t maxt, size_t limit, struct ob_arena *arena, struct series_labels **out,
	      size_t *nout, bool *truncated, char *errbuf)
{
	struct qset set;
	enum ob_err err;
	size_t n;

	*out = NULL;
	*nout = 0;
	*truncated = false;
	qset_init(&set, arena);
	if ((err = collect_all(m, sel, nsel, mint, maxt, &set, errbuf)))
		goto out;
	n = set.n;
	*out = ob_arena_alloc(arena, (n + 1) * sizeof **out);
	if (!*out) {
		err = ob_errf(errbuf, OB_ETOOBIG, "too many series for the query's memory limit");
		goto out;
	}
	for (size_t i = 0; i < n; i++)
		(*out)[i] = set.order[i]->labels;
	qsort(*out, n, sizeof **out, cmp_labels_p);
	if (limit && n > limit) {
		n = limit;
		*truncated = true;
	}
	*nout = n;
out:
	qset_release(&set);
	return err;
}

static int
cmp_str_p(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

static void
sort_uniq(const char **v, size_t *n)
{
	size_t k = 0;

	if (*n == 0)
		return;
	qsort(v, *n, sizeof *v, cmp_str_p);
	for (size_t i = 0; i < *n; i++)
		if (k == 0 || strcmp(v[k - 1], v[i]) != 0)
			v[k++] = v[i];
	*n = k;
}

struct strv {
	const char **v;
	size_t n, a;
};

static void
strv_add(struct strv *s, const char *x)
{
	if (s->n == s->a) {
		s->a = s->a ? s->a * 2 : 64;
		s->v = ob_xrealloc(s->v, s->a * sizeof *s->v);
	}
	s->v[s->n++] = x;
}

/*
 * Every label name (name NULL) or every value of name, from the head's
 * postings (when the head has data in the window) and the label indexes of
 * the blocks overlapping it.
 */
static enum ob_err
index_labels(struct mstore *m, const char *name, int64_t mint, int64_t maxt,
	     struct ob_arena *arena, struct strv *sv, char *errbuf)
{
	struct mblock **blocks;
	size_t nb;
	enum ob_err err = OB_OK;

	pthread_rwlock_rdlock(&m->rw);
	if (atomic_load(&m->head_maxt) >= mint && atomic_load(&m->head_mint) <= maxt) {
		pthread_mutex_lock(&m->post_lock);
		for (size_t b = 0; b < m->npost_buckets && !err; b++)
			for (struct mposting *p = m->post[b]; p && !err; p = p->next) {
				const char *x = name ? (strcmp(p->name, name) == 0 ? p->value : NULL)
						     : p->name;
				if (!x || !p->n)
					continue;
				if (!(x = ob_arena_memdup(arena, x, strlen(x) + 1)))
					err = ob_errf(errbuf, OB_ETOOBIG,
						      "too many labels for the query's memory limit");
				else
					strv_add(sv, x);
			}
		pthread_mutex_unlock(&m->post_lock);
	}
	blocks = mstore_blocks_get(m, &nb);
	pthread_rwlock_unlock(&m->rw);
	for (size_t i = 0; i < nb; i++) {
		const char **v = NULL;
		size_t n = 0;
		if (!err && overlaps(blocks[i], mint, maxt)) {
			err = name ? tsdb_block_label_values(blocks[i]->b, name, arena, &v, &n, errbuf)
				   : tsdb_block_label_names(blocks[i]->b, arena, &v, &n, errbuf);
			for (size_t k = 0; !err && k < n; k++)
				strv_add(sv, v[k]);
		}
		mblock_put(blocks[i]);
	}
	free(blocks);
	return err;
}

/* Names (name NULL) or the values of name, over sel's series, into arena. */
static enum ob_err
label_list(struct mstore *m, const char *name, const struct mstore_selector *sel, size_t nsel,
	   int64_t mint, int64_t maxt, struct ob_arena *arena, const char ***out, size_t *nout,
	   char *errbuf)
{
	struct qset set;
	struct strv sv = {0};
	enum ob_err err;

	*out = NULL;
	*nout = 0;
	qset_init(&set, arena);
	if (nsel == 0) {
		/* no selector: the indexes, not the series (Grafana asks often) */
		if ((err = index_labels(m, name, mint, maxt, arena, &sv, errbuf)))
			goto out;
	} else if ((err = collect_all(m, sel, nsel, mint, maxt, &set, errbuf))) {
		goto out;
	}
	for (size_t i = 0; i < set.n; i++) {
		const struct series_labels *ls = &set.order[i]->labels;
		if (!name) {
			for (size_t j = 0; j < ls->n; j++)
				strv_add(&sv, ls->v[j].name);
		} else {
			const char *v = series_label_get(ls, name);
			if (v && *v)
				strv_add(&sv, v);
		}
	}
	sort_uniq(sv.v, &sv.n);
	*out = ob_arena_alloc(arena, (sv.n + 1) * sizeof **out);
	if (!*out) {
		err = ob_errf(errbuf, OB_ETOOBIG, "too many labels for the query's memory limit");
		goto out;
	}
	if (sv.n)
		memcpy(*out, sv.v, sv.n * sizeof **out);
	*nout = sv.n;
out:
	free(sv.v);
	qset_release(&set);
	return err;
}

enum ob_err
mstore_label_names(struct mstore *m, const struct mstore_selector *sel, size_t nsel,
		   int64_t mint, int64_t maxt, struct ob_arena *arena, const char ***out,
		   size_t *nout, char *errbuf)
{
	return label_list(m, NULL, sel, nsel, mint, maxt, arena, out, nout, errbuf);
}

enum ob_err
mstore_label_values(struct mstore *m, const char *name, const struct mstore_selector *sel,
		    size_t nsel, int64_t mint, int64_t maxt, struct ob_arena *arena,
		    const char ***out, size_t *nout, char *errbuf)
{
	return label_list(m, name, sel, nsel, mint, maxt, arena, out, nout, errbuf);
}

static int
cmp_meta(const void *a, const void *b)
{
	return strcmp(((const struct series_meta *)a)->family,
		      ((const struct series_meta *)b)->family);
}

enum ob_err
mstore_metadata(struct mstore *m, const char *family, struct ob_arena *arena,
		struct series_meta **out, size_t *nout, char *errbuf)
{
	size_t n = 0, k = 0;

	pthread_mutex_lock(&m->meta_lock);
	for (struct mmeta *e = m->meta; e; e = e->next)
		n++;
	*out = ob_arena_alloc(arena, (n + 1) * sizeof **out);
	for (struct mmeta *e = m->meta; *out && e; e = e->next) {
		if (e->superseded || (family && strcmp(family, e->m.family) != 0))
			continue;
		struct series_meta *d = &(*out)[k++];
		d->type = e->m.type;
		d->family = ob_arena_memdup(arena, e->m.family, strlen(e->m.family) + 1);
		d->help = ob_arena_memdup(arena, e->m.help, strlen(e->m.help) + 1);
		d->unit = ob_arena_memdup(arena, e->m.unit, strlen(e->m.unit) + 1);
	}
	pthread_mutex_unlock(&m->meta_lock);
	if (!*out)
		return ob_errf(errbuf, OB_ETOOBIG, "metadata over the query's memory limit");
	qsort(*out, k, sizeof **out, cmp_meta);
	*nout = k;
	return OB_OK;
}
