/*
 * metrics_compact_merge.c - writing one merged block from its parents,
 * series by series (the plan, the switch and the rules are in
 * metrics_compact.c).
 *
 * Each parent is read with a tsdb_block_iter (series in label order); a
 * k-way merge takes the smallest label set among the parents' current
 * series, gathers that series' chunks from every parent holding it, and
 * hands them to the block writer:
 *   - chunks of one kind (float, histogram) that do not overlap in time
 *     are copied as they are (no decoding: the common, horizontal case);
 *   - when some overlap (vertical compaction: out-of-order blocks, a
 *     block pulled or imported over another), that kind's samples are
 *     decoded, merged by time and written again in chunks of 120; at equal
 *     timestamps one sample is kept, that of the parent latest in the
 *     store's block list - the one a query over the parents shows (the
 *     newest block wins a tie), so answers are the same before and after.
 *
 * A parent that cannot be read (tombstones, a corrupt series or chunk) is
 * marked and left out of later plans; the merge is abandoned, nothing
 * changes.
 *
 * Memory: the iterators' series id lists (4 bytes per series per parent),
 * one series' chunk references per parent, the decoded samples of one
 * series when its chunks overlap, and what the writer keeps (labels
 * interned once, 32 bytes of metadata per chunk); chunk bytes stream to
 * the new block's files.
 */
#include <stdlib.h>
#include <string.h>

#include "core/mem.h"
#include "store/metrics_int.h"
#include "store/tsdb_int.h"

int
mcompact_labels_cmp(const struct series_labels *a, const struct series_labels *b)
{
	size_t n = a->n < b->n ? a->n : b->n;

	for (size_t i = 0; i < n; i++) {
		int c = strcmp(a->v[i].name, b->v[i].name);
		if (c)
			return c;
		if ((c = strcmp(a->v[i].value, b->v[i].value)))
			return c;
	}
	return a->n < b->n ? -1 : a->n > b->n;
}

struct piece {
	const struct tsdb_raw_chunk *c;
	int prio;                       /* parent's place in the list: higher wins a tie */
};

struct fsamp {
	int64_t t;
	double v;
	int prio;
};

struct hsamp {
	const struct series_histogram *h;
	int prio;
};

static int
cmp_piece(const void *a, const void *b)
{
	const struct piece *x = a, *y = b;

	if (x->c->mint != y->c->mint)
		return x->c->mint < y->c->mint ? -1 : 1;
	return x->prio < y->prio ? -1 : x->prio > y->prio;
}

static int
cmp_fsamp(const void *a, const void *b)
{
	const struct fsamp *x = a, *y = b;

	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->prio > y->prio ? -1 : x->prio < y->prio;
}

static int
cmp_hsamp(const void *a, const void *b)
{
	const struct hsamp *x = a, *y = b;

	if (x->h->t != y->h->t)
		return x->h->t < y->h->t ? -1 : 1;
	return x->prio > y->prio ? -1 : x->prio < y->prio;
}

struct chunks {
	struct tsdb_chunk *v;
	size_t n, a;
};

static struct tsdb_chunk *
chunks_push(struct chunks *cs)
{
	if (cs->n == cs->a) {
		cs->a = cs->a ? cs->a * 2 : 8;
		cs->v = ob_xrealloc(cs->v, cs->a * sizeof *cs->v);
	}
	memset(&cs->v[cs->n], 0, sizeof cs->v[0]);
	return &cs->v[cs->n++];
}

static void
copy_raw(struct chunks *out, const struct tsdb_raw_chunk *r)
{
	struct tsdb_chunk *c = chunks_push(out);

	c->enc = r->enc;
	c->data = ob_xmalloc(r->len ? r->len : 1);
	memcpy(c->data, r->data, r->len);
	c->len = c->alloc = r->len;
	c->nsamples = (uint16_t)tsdb_chunk_count(r->data, r->len);
	c->mint = r->mint;
	c->maxt = r->maxt;
}

static bool
overlapping(const struct piece *p, size_t n)
{
	int64_t maxt = INT64_MIN;

	for (size_t i = 0; i < n; i++) {
		if (i && p[i].c->mint <= maxt)
			return true;
		if (p[i].c->maxt > maxt)
			maxt = p[i].c->maxt;
	}
	return false;
}

/* Decode, merge and re-encode one kind's overlapping chunks. */
static enum ob_err
remerge(struct chunks *out, const struct piece *p, size_t n, bool hist, struct ob_arena *a,
	struct mcompact_stats *st, char *errbuf)
{
	struct fsamp *fs = NULL;
	struct hsamp *hs = NULL;
	size_t nf = 0, af = 0, nh = 0, ah = 0;
	enum ob_err err = OB_OK;

	for (size_t i = 0; i < n && !err; i++) {
		struct series_sample *f = NULL;
		struct series_histogram *h = NULL;
		size_t cf = 0, ch = 0;
		err = tsdb_chunk_decode(p[i].c->enc, p[i].c->data, p[i].c->len, INT64_MIN, INT64_MAX,
					a, &f, &cf, &h, &ch, errbuf);
		if (err)
			break;
		if (nf + cf > af) {
			af = (nf + cf) * 2;
			fs = ob_xrealloc(fs, af * sizeof *fs);
		}
		for (size_t k = 0; k < cf; k++)
			fs[nf++] = (struct fsamp){f[k].t, f[k].v, p[i].prio};
		if (nh + ch > ah) {
			ah = (nh + ch) * 2;
			hs = ob_xrealloc(hs, ah * sizeof *hs);
		}
		for (size_t k = 0; k < ch; k++)
			hs[nh++] = (struct hsamp){&h[k], p[i].prio};
	}
	if (err)
		goto out;
	if (!hist && nf) {
		qsort(fs, nf, sizeof *fs, cmp_fsamp);
		struct tsdb_chunk *c = NULL;
		for (size_t i = 0; i < nf; i++) {
			if (i && fs[i].t == fs[i - 1].t) {
				st->dropped++;
				continue;
			}
			if (!c || c->nsamples >= TSDB_SAMPLES_PER_CHUNK) {
				if (c)
					tsdb_chunk_seal(c);
				c = chunks_push(out);
				tsdb_chunk_init(c, TSDB_ENC_XOR);
			}
			tsdb_chunk_append(c, fs[i].t, fs[i].v);
		}
		if (c)
			tsdb_chunk_seal(c);
	}
	if (hist && nh) {
		qsort(hs, nh, sizeof *hs, cmp_hsamp);
		struct tsdb_chunk *c = NULL;
		for (size_t i = 0; i < nh; i++) {
			const struct series_histogram *h = hs[i].h;
			if (i && h->t == hs[i - 1].h->t) {
				st->dropped++;
				continue;
			}
			if (c && c->nsamples < TSDB_SAMPLES_PER_CHUNK && tsdb_chunk_append_hist(c, h))
				continue;
			if (c)
				tsdb_chunk_seal(c);
			c = chunks_push(out);
			tsdb_chunk_init(c, h->is_int ? TSDB_ENC_HISTOGRAM : TSDB_ENC_FLOAT_HISTOGRAM);
			if (!tsdb_chunk_append_hist(c, h)) {
				err = ob_errf(errbuf, OB_ECORRUPT,
					      "a histogram at %lld fits no chunk", (long long)h->t);
				break;
			}
		}
		if (c)
			tsdb_chunk_seal(c);
	}
	st->reencoded++;
out:
	free(fs);
	free(hs);
	return err;
}

static int
cmp_chunk(const void *a, const void *b)
{
	const struct tsdb_chunk *x = a, *y = b;

	return x->mint < y->mint ? -1 : x->mint > y->mint;
}

/* One series: its chunks from every parent that has it (in[k]), to w. */
static enum ob_err
merge_series(struct tsdb_block_writer *w, const struct series_labels *ls,
	     const struct mcompact_cur *cur, size_t np, struct ob_arena *a,
	     struct mcompact_stats *st, char *errbuf)
{
	struct piece *fp, *hp;
	size_t nfp = 0, nhp = 0, total = 0;
	struct chunks out = {0};
	enum ob_err err = OB_OK;

	for (size_t k = 0; k < np; k++)
		if (cur[k].in)
			total += cur[k].n;
	fp = ob_xmalloc((total + 1) * sizeof *fp);
	hp = ob_xmalloc((total + 1) * sizeof *hp);
	for (size_t k = 0; k < np; k++) {
		if (!cur[k].in)
			continue;
		for (size_t i = 0; i < cur[k].n; i++) {
			const struct tsdb_raw_chunk *c = &cur[k].ch[i];
			if (c->enc == TSDB_ENC_XOR)
				fp[nfp++] = (struct piece){c, (int)k};
			else
				hp[nhp++] = (struct piece){c, (int)k};
		}
	}
	qsort(fp, nfp, sizeof *fp, cmp_piece);
	qsort(hp, nhp, sizeof *hp, cmp_piece);
	if (overlapping(fp, nfp)) {
		err = remerge(&out, fp, nfp, false, a, st, errbuf);
	} else {
		for (size_t i = 0; i < nfp; i++)
			copy_raw(&out, fp[i].c);
	}
	if (!err && overlapping(hp, nhp)) {
		err = remerge(&out, hp, nhp, true, a, st, errbuf);
	} else if (!err) {
		for (size_t i = 0; i < nhp; i++)
			copy_raw(&out, hp[i].c);
	}
	free(fp);
	free(hp);
	if (err) {
		for (size_t i = 0; i < out.n; i++)
			tsdb_chunk_release(&out.v[i]);
		free(out.v);
		return err;
	}
	/* the writer wants every chunk in order of mint (a stable order of kinds) */
	qsort(out.v, out.n, sizeof *out.v, cmp_chunk);
	st->series++;
	if (out.n)
		err = tsdb_block_writer_add(w, ls, out.v, out.n, errbuf);
	free(out.v);
	return err;
}

enum ob_err
mcompact_write(struct mstore *m, struct mblock **parents, size_t np, const char *ulid,
	       struct mcompact_stats *st, char *errbuf)
{
	struct tsdb_block_writer *w = NULL;
	struct mcompact_cur *cur = ob_xcalloc(np, sizeof *cur);
	struct tsdb_block_meta meta = {0};
	struct ob_arena a;
	enum ob_err err = OB_OK;
	size_t nsrc = 0;

	ob_arena_init(&a, 0);
	memset(st, 0, sizeof *st);
	for (size_t k = 0; k < np && !err; k++) {
		if ((err = tsdb_block_iter_new(parents[k]->b, &cur[k].it, errbuf))) {
			parents[k]->skip_compact = true;
			break;
		}
		err = tsdb_block_iter_next(cur[k].it, &cur[k].ls, &cur[k].ch, &cur[k].n, errbuf);
		cur[k].live = err == OB_OK;
		if (err == OB_ENOTFOUND)
			err = OB_OK;
		else if (err == OB_ECORRUPT)
			parents[k]->skip_compact = true;
	}
	if (err || (err = tsdb_block_writer_new(m->dir, ulid, &w, errbuf)))
		goto out;
	for (;;) {
		const struct series_labels *min = NULL;
		for (size_t k = 0; k < np; k++)
			if (cur[k].live && (!min || mcompact_labels_cmp(&cur[k].ls, min) < 0))
				min = &cur[k].ls;
		if (!min)
			break;
		for (size_t k = 0; k < np; k++)
			cur[k].in = cur[k].live && mcompact_labels_cmp(&cur[k].ls, min) == 0;
		ob_arena_reset(&a);
		/* min points into an iterator: copy before the iterators move on */
		struct series_labels ls;
		if (!mq_labels_copy(&a, min, &ls)) {
			err = ob_errf(errbuf, OB_ETOOBIG, "labels too large");
			break;
		}
		if ((err = merge_series(w, &ls, cur, np, &a, st, errbuf)))
			break;
		if (atomic_load(&m->closing)) {
			err = ob_errf(errbuf, OB_ESHUTDOWN, "the store is closing");
			break;
		}
		for (size_t k = 0; k < np && !err; k++) {
			if (!cur[k].in)
				continue;
			err = tsdb_block_iter_next(cur[k].it, &cur[k].ls, &cur[k].ch, &cur[k].n,
						   errbuf);
			cur[k].live = err == OB_OK;
			if (err == OB_ENOTFOUND)
				err = OB_OK;
			else if (err == OB_ECORRUPT)
				parents[k]->skip_compact = true;    /* not tried again */
		}
		if (err)
			break;
	}
	if (err)
		goto out;

	/* meta.json: level, sources (the union of the parents'), parents */
	memcpy(meta.ulid, ulid, 27);
	meta.min_time = INT64_MAX;
	meta.max_time = INT64_MIN;
	for (size_t k = 0; k < np; k++)
		nsrc += parents[k]->nsrc;
	meta.sources = ob_xcalloc(nsrc + 1, sizeof *meta.sources);
	meta.parents = ob_xcalloc(np, sizeof *meta.parents);
	for (size_t k = 0; k < np; k++) {
		const struct mblock *p = parents[k];
		if (p->meta.level + 1 > meta.level)
			meta.level = p->meta.level + 1;
		if (p->meta.min_time < meta.min_time)
			meta.min_time = p->meta.min_time;
		if (p->meta.max_time > meta.max_time)
			meta.max_time = p->meta.max_time;
		for (size_t i = 0; i < p->nsrc; i++)
			memcpy(meta.sources[meta.nsources++], p->src[i], 27);
		memcpy(meta.parents[k].ulid, p->meta.ulid, 27);
		meta.parents[k].min_time = p->meta.min_time;
		meta.parents[k].max_time = p->meta.max_time;
	}
	meta.nparents = np;
	qsort(meta.sources, meta.nsources, sizeof *meta.sources,
	      (int (*)(const void *, const void *))strcmp);
	size_t u = 0;
	for (size_t i = 0; i < meta.nsources; i++)
		if (u == 0 || strcmp(meta.sources[u - 1], meta.sources[i]) != 0)
			memmove(meta.sources[u++], meta.sources[i], 27);
	meta.nsources = u;
	err = tsdb_block_writer_finish(w, &meta, errbuf);
	w = NULL;
out:
	if (w)
		tsdb_block_writer_abort(w);
	for (size_t k = 0; k < np; k++)
		tsdb_block_iter_free(cur[k].it);
	free(cur);
	free(meta.sources);
	free(meta.parents);
	ob_arena_release(&a);
	return err;
}
