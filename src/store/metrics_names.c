/*
 * metrics_names.c - how many series each metric name has in a time window
 * (mstore_name_counts), for the Metrics view's list, without listing the
 * series' labels.
 *
 * Sources, each read from its index alone (no chunk is decoded):
 *   - the head: every live series once (refs 1..next_ref), kept when one
 *     of its chunks or out-of-order samples falls in [mint, maxt]; its
 *     __name__ and its label-set hash (mseries.hash) are noted;
 *   - each block overlapping the window: the values of __name__ in the
 *     index's postings offset table, each with the length of its postings
 *     list.
 *
 * Counting once per name.  A name that one source alone has is counted
 * from it: the head's kept series, or the postings length of a block that
 * lies wholly inside the window (its every series has a sample there).  A
 * name several sources have (the usual case: the head and the last blocks
 * hold the same series), or a block only partly inside the window, is
 * counted exactly as a union: the series entries of the name's postings
 * are decoded (labels and chunk ranges, no samples), a series kept when a
 * chunk overlaps the window, and its label set hashed as the head hashes
 * it (mhead_labels_hash over the symbols' bytes); the distinct hashes of
 * all sources are counted in a hash set.  So a call costs about 0.3 µs per
 * series per source that holds a name another source holds too (a store
 * whose last blocks repeat the head's series: the head's series times the
 * blocks in the window).  Two label sets with
 * one 64-bit hash would count once (about 1 in 10^9 at 100,000 series).
 *
 * The window is tested per chunk, as the head's listing does (a chunk
 * reaching into the window counts even when no sample of it is inside).
 * A block with a tombstones file is read through tsdb_block_select (its
 * samples decoded) so that deleted series are not counted.
 */
#include <stdlib.h>
#include <string.h>

#include "core/endian.h"
#include "core/mem.h"
#include "store/metrics_int.h"
#include "store/tsdb_int.h"

struct nrow {
	const char *name;               /* head: interned (copied out at the end); block: bytes */
	uint32_t nlen;
	uint32_t nsrc;                  /* sources that have the name */
	uint32_t head;                  /* head series kept */
	uint32_t first;                 /* first contribution + 1; 0 none */
	uint64_t direct;                /* count when one block source covers it whole */
	bool need_union;
};

struct contrib {                        /* one block's postings list of one name */
	uint32_t row, block, n, next;   /* next: + 1, 0 ends */
	uint64_t off;
};

struct ntab {
	struct nrow *rows;
	size_t n, cap;
	uint32_t *slot;                 /* row + 1, 0 empty */
	size_t nslots;
};

struct hhash {                          /* a series kept: its name's row, its hash */
	uint32_t row;
	uint64_t hash;
};

struct hvec {
	struct hhash *v;
	size_t n, cap;
};

static void
hvec_add(struct hvec *h, uint32_t row, uint64_t hash)
{
	if (h->n == h->cap) {
		h->cap = h->cap ? h->cap * 2 : 4096;
		h->v = ob_xrealloc(h->v, h->cap * sizeof *h->v);
	}
	h->v[h->n++] = (struct hhash){ row, hash };
}

static uint64_t
name_hash(const char *s, size_t n)
{
	return mhead_hash_bytes(s, n, 0x51afd7ed558ccd1dull);
}

/* The row of name s (n bytes), added when new (*created; s is then the row's). */
static uint32_t
ntab_get(struct ntab *t, const char *s, size_t n, bool *created)
{
	uint64_t h = name_hash(s, n);
	size_t i;

	if ((t->n + 1) * 2 > t->nslots) {
		size_t ns = t->nslots ? t->nslots * 2 : 256;
		uint32_t *nv = ob_xcalloc(ns, sizeof *nv);

		for (size_t k = 0; k < t->n; k++) {
			size_t j = name_hash(t->rows[k].name, t->rows[k].nlen) & (ns - 1);
			while (nv[j])
				j = (j + 1) & (ns - 1);
			nv[j] = (uint32_t)k + 1;
		}
		free(t->slot);
		t->slot = nv;
		t->nslots = ns;
	}
	for (i = h & (t->nslots - 1); t->slot[i]; i = (i + 1) & (t->nslots - 1)) {
		struct nrow *r = &t->rows[t->slot[i] - 1];
		if (r->nlen == n && memcmp(r->name, s, n) == 0) {
			*created = false;
			return t->slot[i] - 1;
		}
	}
	*created = true;
	if (t->n == t->cap) {
		t->cap = t->cap ? t->cap * 2 : 256;
		t->rows = ob_xrealloc(t->rows, t->cap * sizeof *t->rows);
	}
	t->rows[t->n] = (struct nrow){ .name = s, .nlen = (uint32_t)n };
	t->slot[i] = (uint32_t)++t->n;
	return (uint32_t)t->n - 1;
}

/*
 * Does head series s have a chunk or an out-of-order sample in the window?
 * A window open to the future (maxt INT64_MAX, the view's usual one) takes
 * a series whose newest sample is in it and not below the seal floor at
 * once: that sample's chunk cannot have been freed (chunks are freed below
 * the floor only), and reading the series alone spares a cache miss on its
 * chunk array, most of the head's cost.  m->rw is held.
 */
static bool
head_in_window(struct mstore *m, struct mseries *s, int64_t mint, int64_t maxt)
{
	struct mstripe *st = mhead_stripe(m, s);
	bool any = false;

	pthread_mutex_lock(&st->lock);
	if (maxt == INT64_MAX && s->last_kind && s->maxt >= mint && s->maxt >= m->floor) {
		pthread_mutex_unlock(&st->lock);
		return true;
	}
	for (uint32_t pass = 0; pass < 2 && !any; pass++) {
		const struct tsdb_chunk *ch = pass ? s->hc : s->fc;
		uint32_t n = pass ? s->nhc : s->nfc;
		for (uint32_t i = 0; i < n && !any; i++)
			any = ch[i].nsamples && ch[i].maxt >= mint && ch[i].mint <= maxt;
	}
	for (uint32_t pass = 0; pass < 2 && !any; pass++) {
		const struct series_sample *x = pass ? s->sealing : s->ooo;
		uint32_t n = pass ? s->nsealing : s->nooo;
		for (uint32_t i = 0; i < n && !any; i++)
			any = x[i].t >= mint && x[i].t <= maxt;
	}
	pthread_mutex_unlock(&st->lock);
	return any;
}

/* Every live head series in the window into t and *hh (m->rw shared held). */
static bool
scan_head(struct mstore *m, int64_t mint, int64_t maxt, struct ob_arena *arena, struct ntab *t,
	  struct hvec *hh)
{
	uint32_t top = atomic_load(&m->next_ref);
	const char *last = NULL;
	uint32_t last_row = 0;

	for (uint32_t ref = 1; ref < top; ref++) {
		if ((ref & ((1u << MREF_PAGE_BITS) - 1)) == 0 &&
		    !atomic_load(&m->ref_pages[ref >> MREF_PAGE_BITS])) {
			ref += (1u << MREF_PAGE_BITS) - 1;      /* a page never used */
			continue;
		}
		struct mseries *s = mhead_by_ref(m, ref);
		if (!s || s->ref != ref || !head_in_window(m, s, mint, maxt))
			continue;
		const char *name = series_label_get(&s->labels, "__name__");
		if (!name)
			continue;
		if (name != last) {     /* interned: one pointer per distinct name */
			size_t len = strlen(name);
			bool created;

			last_row = ntab_get(t, name, len, &created);
			last = name;
			/* interned strings may go once m->rw is released */
			if (created && !(t->rows[last_row].name = ob_arena_memdup(arena, name, len + 1)))
				return false;
		}
		t->rows[last_row].head++;
		hvec_add(hh, last_row, s->hash);
	}
	return true;
}

/* The hash after a postings list's first label pair (the same for its every series, mostly). */
struct first_pair {
	uint32_t name, value;           /* symbol refs */
	uint64_t h;
	bool ok;
};

/* A block's label set hashed as mhead_labels_hash hashes the head's. */
static bool
block_hash(const struct tsdb_index *ix, const struct tsdb_rseries *rs, struct first_pair *fp,
	   uint64_t *out)
{
	uint64_t h = 0x243f6a8885a308d3ull;
	uint32_t i = 0;

	if (rs->nlab && fp->ok && fp->name == rs->lab[0] && fp->value == rs->lab[1]) {
		h = fp->h;
		i = 1;
	}
	for (; i < rs->nlab; i++) {
		const uint8_t *n, *v;
		uint32_t nl, vl;

		if (!tsdb_index_symbol(ix, rs->lab[2 * i], &n, &nl) ||
		    !tsdb_index_symbol(ix, rs->lab[2 * i + 1], &v, &vl))
			return false;
		h = mhead_hash_bytes(n, nl, h);
		h = mhead_hash_bytes(v, vl, h + 1);
		if (i == 0)
			*fp = (struct first_pair){ rs->lab[0], rs->lab[1], h, true };
	}
	*out = h ? h : 1;
	return true;
}

struct scratch {
	uint64_t *v;
	size_t n, cap;
	uint64_t *set;                  /* open addressing over v's hashes (never 0) */
	size_t setcap;
	uint32_t *lab;
	size_t labcap;
	struct tsdb_rchunk *chk;
	size_t chkcap;
};

static void
scratch_add(struct scratch *sc, uint64_t h)
{
	if (sc->n == sc->cap) {
		sc->cap = sc->cap ? sc->cap * 2 : 1024;
		sc->v = ob_xrealloc(sc->v, sc->cap * sizeof *sc->v);
	}
	sc->v[sc->n++] = h;
}

/* The hashes of one postings list's series with a chunk in the window. */
static enum ob_err
block_hashes(const struct tsdb_index *ix, const struct contrib *c, int64_t mint, int64_t maxt,
	     struct scratch *sc, char *errbuf)
{
	const uint8_t *refs;
	struct first_pair fp = { 0 };
	uint32_t n;
	enum ob_err err;

	if (!tsdb_index_postings(ix, c->off, &refs, &n))
		return ob_errf(errbuf, OB_ECORRUPT, "index: a postings list of __name__ is bad");
	for (uint32_t i = 0; i < n; i++) {
		struct tsdb_rseries rs;
		uint64_t h;
		bool in = false;

		if ((err = tsdb_index_series(ix, ob_get_be32(refs + 4 * i), &rs, &sc->lab,
					     &sc->labcap, &sc->chk, &sc->chkcap, errbuf)))
			return err;
		for (uint32_t k = 0; k < rs.nchunks && !in; k++)
			in = rs.chunks[k].maxt >= mint && rs.chunks[k].mint <= maxt;
		if (!in)
			continue;
		if (!block_hash(ix, &rs, &fp, &h))
			return ob_errf(errbuf, OB_ECORRUPT, "index: a series names a bad symbol");
		scratch_add(sc, h);
	}
	return OB_OK;
}

/* How many distinct hashes sc->v holds (a hash set: a sort cost a fifth of the time). */
static uint64_t
distinct(struct scratch *sc)
{
	size_t cap = 16, mask;
	uint64_t k = 0;

	while (cap < sc->n * 2)
		cap <<= 1;
	if (cap > sc->setcap) {
		free(sc->set);
		sc->set = ob_xmalloc(cap * sizeof *sc->set);
		sc->setcap = cap;
	}
	memset(sc->set, 0, cap * sizeof *sc->set);
	mask = cap - 1;
	for (size_t i = 0; i < sc->n; i++) {
		uint64_t h = sc->v[i] ? sc->v[i] : 1;
		size_t j = (size_t)((h * 0x9e3779b97f4a7c15ull) >> 17) & mask;

		while (sc->set[j] && sc->set[j] != h)
			j = (j + 1) & mask;
		if (!sc->set[j]) {
			sc->set[j] = h;
			k++;
		}
	}
	return k;
}

static int
cmp_count(const void *a, const void *b)
{
	return strcmp(((const struct mstore_name_count *)a)->name,
		      ((const struct mstore_name_count *)b)->name);
}

/* The row of a name from a block or a select (bytes that will go): copied when new. */
static bool
row_of(struct ntab *t, struct ob_arena *arena, const char *s, size_t n, uint32_t *row)
{
	bool created;
	char *c;

	*row = ntab_get(t, s, n, &created);
	if (!created)
		return true;
	if (!(c = ob_arena_alloc(arena, n + 1)))
		return false;
	memcpy(c, s, n);
	c[n] = 0;
	t->rows[*row].name = c;
	return true;
}

/*
 * A block with tombstones: its series read through tsdb_block_select, which
 * leaves deleted samples out (slow, but obstui writes no tombstones).
 */
static enum ob_err
scan_stoned_block(struct tsdb_block *b, int64_t mint, int64_t maxt, struct ob_arena *arena,
		  struct ntab *t, struct hvec *hh, char *errbuf)
{
	static const struct promql_matcher any = { PROMQL_MATCH_NEQ, "__name__", "", NULL };
	struct ob_arena a;
	struct series_data *sd = NULL;
	size_t nsd = 0;
	enum ob_err err;

	ob_arena_init(&a, 1u << 30);
	if ((err = tsdb_block_select(b, &any, 1, mint, maxt, &a, &sd, &nsd, errbuf)))
		goto out;
	for (size_t i = 0; i < nsd; i++) {
		const char *name = series_label_get(&sd[i].labels, "__name__");
		uint32_t row;

		if ((!sd[i].nf && !sd[i].nh) || !name)
			continue;
		if (!row_of(t, arena, name, strlen(name), &row)) {
			err = ob_errf(errbuf, OB_ETOOBIG, "too many metric names for the memory limit");
			goto out;
		}
		t->rows[row].need_union = true;
		hvec_add(hh, row, mhead_labels_hash(&sd[i].labels));
	}
out:
	ob_arena_release(&a);
	return err;
}

/* Each __name__ value of a block's index: its postings list as a contribution. */
static enum ob_err
scan_block(const struct mblock *mb, uint32_t bi, int64_t mint, int64_t maxt,
	   struct ob_arena *arena, struct ntab *t, struct contrib **cv, size_t *nc, size_t *ccap,
	   char *errbuf)
{
	const struct tsdb_index *ix = tsdb_block_index(mb->b, NULL);
	const struct tsdb_pname *pn = tsdb_index_name(ix, "__name__", 8);
	bool whole = mb->meta.min_time >= mint && mb->meta.max_time - 1 <= maxt;

	for (uint32_t j = 0; pn && j < pn->n; j++) {
		struct tsdb_pentry e;
		const uint8_t *refs;
		uint32_t n, row;

		tsdb_index_entry(ix, pn->first + j, &e);
		if (!tsdb_index_postings(ix, e.off, &refs, &n))
			return ob_errf(errbuf, OB_ECORRUPT, "block %s: a postings list of __name__ is bad",
				       mb->meta.ulid);
		if (n == 0 || e.vlen == 0)
			continue;
		if (!row_of(t, arena, (const char *)e.value, e.vlen, &row))
			return ob_errf(errbuf, OB_ETOOBIG, "too many metric names for the memory limit");
		struct nrow *r = &t->rows[row];
		if (*nc == *ccap) {
			*ccap = *ccap ? *ccap * 2 : 256;
			*cv = ob_xrealloc(*cv, *ccap * sizeof **cv);
		}
		(*cv)[*nc] = (struct contrib){ row, bi, n, r->first, e.off };
		r->first = (uint32_t)++*nc;
		r->nsrc++;
		r->direct = n;
		if (!whole)
			r->need_union = true;
	}
	return OB_OK;
}

static bool
overlaps(const struct mblock *b, int64_t mint, int64_t maxt)
{
	return b->meta.min_time <= maxt && b->meta.max_time > mint;
}

/* Distinct series of a row that needs a union of its sources' hashes. */
static enum ob_err
row_union(const struct nrow *r, const struct hhash *hv, size_t nh, const struct contrib *cv,
	  struct mblock *const *blocks, int64_t mint, int64_t maxt, struct scratch *sc,
	  uint64_t *count, char *errbuf)
{
	enum ob_err err;

	sc->n = 0;
	for (size_t i = 0; i < nh; i++)
		scratch_add(sc, hv[i].hash);
	for (uint32_t c = r->first; c; c = cv[c - 1].next)
		if ((err = block_hashes(tsdb_block_index(blocks[cv[c - 1].block]->b, NULL), &cv[c - 1],
					mint, maxt, sc, errbuf)))
			return err;
	*count = distinct(sc);
	return OB_OK;
}

enum ob_err
mstore_name_counts(struct mstore *m, int64_t mint, int64_t maxt, struct ob_arena *arena,
		   struct mstore_name_count **out, size_t *nout, char *errbuf)
{
	struct ntab t = { 0 };
	struct hvec hh = { 0 };
	struct hhash *sorted = NULL;
	struct contrib *cv = NULL;
	struct mblock **blocks;
	struct scratch sc = { 0 };
	size_t nb, nc = 0, ccap = 0, k = 0, *at = NULL;
	enum ob_err err = OB_OK;
	bool ok;

	*out = NULL;
	*nout = 0;
	pthread_rwlock_rdlock(&m->rw);
	ok = scan_head(m, mint, maxt, arena, &t, &hh);
	blocks = mstore_blocks_get(m, &nb);
	pthread_rwlock_unlock(&m->rw);
	if (!ok) {
		err = ob_errf(errbuf, OB_ETOOBIG, "too many metric names for the memory limit");
		goto out;
	}
	for (size_t i = 0; i < t.n; i++)
		t.rows[i].nsrc = t.rows[i].head ? 1 : 0;
	for (size_t b = 0; b < nb && !err; b++) {
		bool stones;

		if (!overlaps(blocks[b], mint, maxt))
			continue;
		tsdb_block_index(blocks[b]->b, &stones);
		err = stones ? scan_stoned_block(blocks[b]->b, mint, maxt, arena, &t, &hh, errbuf)
			     : scan_block(blocks[b], (uint32_t)b, mint, maxt, arena, &t, &cv, &nc,
					  &ccap, errbuf);
	}
	if (err)
		goto out;
	/* the kept series' hashes grouped by row (a counting sort) */
	at = ob_xcalloc(t.n + 1, sizeof *at);
	for (size_t i = 0; i < hh.n; i++)
		at[hh.v[i].row + 1]++;
	for (size_t i = 0; i < t.n; i++)
		at[i + 1] += at[i];
	sorted = ob_xmalloc((hh.n + 1) * sizeof *sorted);
	for (size_t i = 0; i < hh.n; i++)
		sorted[at[hh.v[i].row]++] = hh.v[i];
	for (size_t i = t.n; i > 0; i--)    /* at[i] was moved to the end of row i */
		at[i] = at[i - 1];
	at[0] = 0;
	if (!(*out = ob_arena_alloc(arena, (t.n + 1) * sizeof **out))) {
		err = ob_errf(errbuf, OB_ETOOBIG, "too many metric names for the memory limit");
		goto out;
	}
	for (size_t i = 0; i < t.n; i++) {
		struct nrow *r = &t.rows[i];
		uint64_t count = r->head ? r->head : r->direct;

		if ((r->need_union || r->nsrc > 1) &&
		    (err = row_union(r, sorted + at[i], at[i + 1] - at[i], cv, blocks, mint, maxt,
				     &sc, &count, errbuf)))
			goto out;
		if (count)
			(*out)[k++] = (struct mstore_name_count){ r->name, count };
	}
	qsort(*out, k, sizeof **out, cmp_count);
	*nout = k;
out:
	for (size_t b = 0; b < nb; b++)
		mblock_put(blocks[b]);
	free(blocks);
	free(t.rows);
	free(t.slot);
	free(hh.v);
	free(sorted);
	free(at);
	free(cv);
	free(sc.v);
	free(sc.set);
	free(sc.lab);
	free(sc.chk);
	if (err)
		*out = NULL;
	return err;
}
