/*
 * metrics_head.c - the metrics head in memory: series, their chunks and
 * out-of-order samples, series removal, metadata.
 *
 * Series live in MSTRIPES stripes chosen by the top bits of their label
 * hash; each stripe has a mutex, a chained hash table and owns the samples
 * of its series, so appenders to different series rarely meet.  A series
 * has a ref (1, 2, ... never reused in one process) through which the WAL
 * and the postings name it; m->ref_pages maps refs to series.
 *
 * Samples: in-order floats in XOR chunks of at most 120 samples, cut also
 * where t crosses a block range boundary (so a sealed range takes whole
 * chunks); histograms likewise in histogram chunks; out-of-order samples
 * in a sorted array (16 bytes a sample) until they are sealed.  A full
 * chunk is sealed (its encoder freed, its bytes trimmed).
 *
 * Label strings are interned and indexed by postings (metrics_index.c).
 *
 * Memory accounting (m->head_bytes): chunk bytes allocated, a fixed cost
 * per series, per chunk and per label, interned strings, OOO arrays.
 */
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "store/metrics_int.h"

#define CHUNK_COST 64               /* struct + encoder state, accounted per chunk */

uint64_t
mhead_hash_bytes(const void *p, size_t n, uint64_t h)
{
	const uint8_t *b = p;
	uint64_t x;

	while (n >= 8) {
		memcpy(&x, b, 8);
		h = (h ^ x) * 0x9e3779b97f4a7c15ull;
		h ^= h >> 32;
		b += 8;
		n -= 8;
	}
	x = 0;
	memcpy(&x, b, n);
	h = (h ^ x ^ ((uint64_t)n << 56)) * 0xff51afd7ed558ccdull;
	return h ^ (h >> 29);
}

uint64_t
mhead_labels_hash(const struct series_labels *ls)
{
	uint64_t h = 0x243f6a8885a308d3ull;

	for (size_t i = 0; i < ls->n; i++) {
		h = mhead_hash_bytes(ls->v[i].name, strlen(ls->v[i].name), h);
		h = mhead_hash_bytes(ls->v[i].value, strlen(ls->v[i].value), h + 1);
	}
	return h ? h : 1;
}

char *
mhead_labels_string(const struct series_labels *ls, char *out, size_t outlen)
{
	size_t o = 0;
	int n;

	out[0] = 0;
	n = snprintf(out, outlen, "{");
	o = (size_t)n;
	for (size_t i = 0; i < ls->n && o < outlen; i++) {
		n = snprintf(out + o, outlen - o, "%s%s=\"%s\"", i ? ", " : "", ls->v[i].name,
			     ls->v[i].value);
		o += (size_t)n;
	}
	if (o < outlen)
		snprintf(out + o, outlen - o, "}");
	if (o + 1 >= outlen && outlen > 4)
		memcpy(out + outlen - 4, "...", 4);
	return out;
}

void
mhead_account(struct mstore *m, int64_t delta)
{
	atomic_fetch_add(&m->head_bytes, delta);
}

/* --- series --- */

struct mstripe *
mhead_stripe(struct mstore *m, const struct mseries *s)
{
	return &m->stripes[s->hash >> 58];
}

struct mseries *
mhead_by_ref(struct mstore *m, uint32_t ref)
{
	struct mseries **page;

	if (ref >= MREF_MAX)
		return NULL;
	page = atomic_load(&m->ref_pages[ref >> MREF_PAGE_BITS]);
	return page ? page[ref & ((1u << MREF_PAGE_BITS) - 1)] : NULL;
}

static void
set_ref_locked(struct mstore *m, uint32_t ref, struct mseries *s)
{
	size_t pi = ref >> MREF_PAGE_BITS;
	struct mseries **page = atomic_load(&m->ref_pages[pi]);

	if (!page) {
		page = ob_xcalloc((size_t)1 << MREF_PAGE_BITS, sizeof *page);
		atomic_store(&m->ref_pages[pi], page);
		mhead_account(m, (int64_t)(sizeof *page << MREF_PAGE_BITS));
	}
	page[ref & ((1u << MREF_PAGE_BITS) - 1)] = s;
}

static bool
utf8_valid(const char *s)
{
	const uint8_t *p = (const uint8_t *)s;

	while (*p) {
		uint32_t c = *p;
		int n;
		if (c < 0x80) {
			p++;
			continue;
		}
		if (c >= 0xc2 && c <= 0xdf)
			n = 1;
		else if (c >= 0xe0 && c <= 0xef)
			n = 2;
		else if (c >= 0xf0 && c <= 0xf4)
			n = 3;
		else
			return false;
		uint32_t cp = c & (0x3f >> n);
		for (int i = 1; i <= n; i++) {
			if ((p[i] & 0xc0) != 0x80)
				return false;
			cp = cp << 6 | (p[i] & 0x3f);
		}
		if ((n == 2 && (cp < 0x800 || (cp >= 0xd800 && cp <= 0xdfff))) ||
		    (n == 3 && (cp < 0x10000 || cp > 0x10ffff)))
			return false;
		p += n + 1;
	}
	return true;
}

static const char *
labels_invalid(const struct series_labels *ls)
{
	bool named = false;

	if (ls->n == 0)
		return "empty label set";
	for (size_t i = 0; i < ls->n; i++) {
		const char *n = ls->v[i].name, *v = ls->v[i].value;
		if (!n || !*n)
			return "empty label name";
		if (!v || !*v)
			return "empty label value";
		if (i && strcmp(ls->v[i - 1].name, n) >= 0)
			return strcmp(ls->v[i - 1].name, n) ? "labels not sorted by name"
							    : "duplicate label name";
		if (!utf8_valid(n) || !utf8_valid(v))
			return "label not valid UTF-8";
		if (strcmp(n, "__name__") == 0)
			named = true;
	}
	return named ? NULL : "no metric name (__name__)";
}

static struct mseries *
stripe_find(struct mstripe *st, const struct series_labels *ls, uint64_t hash)
{
	struct mseries *s;

	if (!st->nbuckets)
		return NULL;
	for (s = st->buckets[hash & (st->nbuckets - 1)]; s; s = s->next)
		if (s->hash == hash && series_labels_cmp(&s->labels, ls) == 0)
			return s;
	return NULL;
}

static void
stripe_insert(struct mstripe *st, struct mseries *s)
{
	if (st->count >= st->nbuckets) {
		size_t nb = st->nbuckets ? st->nbuckets * 2 : 256;
		struct mseries **nt = ob_xcalloc(nb, sizeof *nt), *e;
		for (size_t i = 0; i < st->nbuckets; i++)
			while ((e = st->buckets[i])) {
				st->buckets[i] = e->next;
				e->next = nt[e->hash & (nb - 1)];
				nt[e->hash & (nb - 1)] = e;
			}
		free(st->buckets);
		st->buckets = nt;
		st->nbuckets = nb;
	}
	s->next = st->buckets[s->hash & (st->nbuckets - 1)];
	st->buckets[s->hash & (st->nbuckets - 1)] = s;
	st->count++;
}

/* A new series with labels interned, registered under ref; stripe lock held. */
static struct mseries *
series_new_locked(struct mstore *m, struct mstripe *st, const struct series_labels *ls,
		  uint64_t hash, uint32_t ref)
{
	struct mseries *s = ob_xcalloc(1, sizeof *s);

	s->ref = ref;
	s->hash = hash;
	s->maxt = INT64_MIN;
	s->last_ex_t = INT64_MIN;
	s->labels.n = ls->n;
	s->labels.v = ob_xmalloc(ls->n * sizeof *s->labels.v);
	pthread_mutex_lock(&m->intern_lock);
	for (size_t i = 0; i < ls->n; i++) {
		s->labels.v[i].name = mindex_intern_locked(m, ls->v[i].name, true);
		s->labels.v[i].value = mindex_intern_locked(m, ls->v[i].value, true);
	}
	pthread_mutex_unlock(&m->intern_lock);
	mhead_account(m, (int64_t)(MSERIES_COST + ls->n * sizeof *s->labels.v));
	pthread_mutex_lock(&m->post_lock);
	set_ref_locked(m, ref, s);
	for (size_t i = 0; i < ls->n; i++)
		mindex_post_add_locked(m, s->labels.v[i].name, s->labels.v[i].value, ref);
	pthread_mutex_unlock(&m->post_lock);
	stripe_insert(st, s);
	atomic_fetch_add(&m->nseries, 1);
	return s;
}

struct mseries *
mhead_lookup_locked(struct mstore *m, struct mstripe *st, const struct series_labels *ls,
		    uint64_t hash)
{
	(void)m;
	return stripe_find(st, ls, hash);
}

struct mseries *
mhead_create_locked(struct mstore *m, struct mstripe *st, const struct series_labels *ls,
		    uint64_t hash, const char **why)
{
	struct mseries *s;
	struct ob_buf b;
	size_t start;
	uint64_t seq;

	if ((*why = labels_invalid(ls)))
		return NULL;
	if (atomic_load(&m->next_ref) >= MREF_MAX - 1) {
		*why = "too many series created since the store was opened (restart obstui)";
		return NULL;
	}
	s = series_new_locked(m, st, ls, hash, atomic_fetch_add(&m->next_ref, 1));
	if (!m->opt.read_only) {
		/* logged before any sample that names it can be queued */
		ob_buf_init(&b, 0);
		start = mwal_begin(&b, MWAL_SERIES);
		mwal_encode_series(&b, s);
		mwal_end(&b, start);
		mwal_enqueue(&m->wal, b.data, b.len, INT64_MIN, &seq);
		ob_buf_release(&b);
	}
	return s;
}

struct mseries *
mhead_create_ref(struct mstore *m, uint32_t ref, const struct series_labels *ls)
{
	uint64_t hash = mhead_labels_hash(ls);
	struct mstripe *st = &m->stripes[hash >> 58];
	struct mseries *s;

	if (ref == 0 || ref >= MREF_MAX || labels_invalid(ls))
		return NULL;
	if ((s = mhead_by_ref(m, ref)))
		return s;
	pthread_mutex_lock(&st->lock);
	s = stripe_find(st, ls, hash);
	if (s) {
		/* the same labels under an older ref (replay): alias it */
		pthread_mutex_lock(&m->post_lock);
		set_ref_locked(m, ref, s);
		pthread_mutex_unlock(&m->post_lock);
	} else {
		s = series_new_locked(m, st, ls, hash, ref);
	}
	pthread_mutex_unlock(&st->lock);
	if (ref >= atomic_load(&m->next_ref))
		atomic_store(&m->next_ref, ref + 1);
	return s;
}

/* --- samples (stripe lock held) --- */

static int64_t
range_of(const struct mstore *m, int64_t t)
{
	int64_t r = t / m->opt.block_ms;

	return (t < 0 && t % m->opt.block_ms) ? r - 1 : r;
}

static void
chunk_close(struct mstore *m, struct tsdb_chunk *c)
{
	size_t before = c->alloc;

	tsdb_chunk_seal(c);
	mhead_account(m, (int64_t)c->alloc - (int64_t)before);
}

static struct tsdb_chunk *
chunk_new(struct mstore *m, struct tsdb_chunk **arr, uint32_t *n, uint32_t *alloc,
	  enum tsdb_encoding enc)
{
	struct tsdb_chunk *c;

	if (*n == *alloc) {
		*alloc = *alloc ? *alloc * 2 : 2;
		*arr = ob_xrealloc(*arr, *alloc * sizeof **arr);
	}
	c = &(*arr)[(*n)++];
	tsdb_chunk_init(c, enc);
	mhead_account(m, (int64_t)(CHUNK_COST + c->alloc));
	return c;
}

void
mhead_append_float(struct mstore *m, struct mseries *s, int64_t t, double v)
{
	struct tsdb_chunk *c = s->nfc ? &s->fc[s->nfc - 1] : NULL;
	size_t before;

	if (!c || !c->appender || c->nsamples >= TSDB_SAMPLES_PER_CHUNK ||
	    range_of(m, t) != range_of(m, c->mint)) {
		if (c && c->appender)
			chunk_close(m, c);
		c = chunk_new(m, &s->fc, &s->nfc, &s->afc, TSDB_ENC_XOR);
	}
	before = c->alloc;
	tsdb_chunk_append(c, t, v);
	if (c->alloc != before)
		mhead_account(m, (int64_t)c->alloc - (int64_t)before);
	if (c->nsamples == 1)
		c->mint = t;
	s->maxt = t;
	s->last_v = v;
	s->last_kind = 1;
}

bool
mhead_append_hist(struct mstore *m, struct mseries *s, const struct series_histogram *h)
{
	enum tsdb_encoding enc = h->is_int ? TSDB_ENC_HISTOGRAM : TSDB_ENC_FLOAT_HISTOGRAM;
	struct tsdb_chunk *c = s->nhc ? &s->hc[s->nhc - 1] : NULL;
	size_t before;

	for (int attempt = 0; attempt < 2; attempt++) {
		if (!c || !c->appender || c->enc != enc ||
		    c->nsamples >= TSDB_SAMPLES_PER_CHUNK ||
		    range_of(m, h->t) != range_of(m, c->mint)) {
			if (c && c->appender)
				chunk_close(m, c);
			c = chunk_new(m, &s->hc, &s->nhc, &s->ahc, enc);
		}
		before = c->alloc;
		if (tsdb_chunk_append_hist(c, h)) {
			if (c->alloc != before)
				mhead_account(m, (int64_t)c->alloc - (int64_t)before);
			if (c->nsamples == 1)
				c->mint = h->t;
			c->maxt = h->t;
			s->maxt = h->t;
			s->last_hcount = h->count;
			s->last_hsum = h->sum;
			s->last_kind = 2;
			return true;
		}
		if (c->nsamples == 0) {
			/* a new chunk refused it: drop the empty chunk */
			mhead_account(m, -(int64_t)(CHUNK_COST + c->alloc));
			tsdb_chunk_release(c);
			s->nhc--;
			return false;
		}
		chunk_close(m, c);
		c = NULL;
	}
	return false;
}

static bool
find_sorted(const struct series_sample *a, uint32_t n, int64_t t, uint32_t *pos)
{
	uint32_t lo = 0, hi = n;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;
		if (a[mid].t < t)
			lo = mid + 1;
		else
			hi = mid;
	}
	*pos = lo;
	return lo < n && a[lo].t == t;
}

bool
mhead_ooo_find(const struct mseries *s, int64_t t, double *v)
{
	uint32_t pos;

	if (find_sorted(s->ooo, s->nooo, t, &pos)) {
		*v = s->ooo[pos].v;
		return true;
	}
	if (find_sorted(s->sealing, s->nsealing, t, &pos)) {
		*v = s->sealing[pos].v;
		return true;
	}
	return false;
}

void
mhead_insert_ooo(struct mstore *m, struct mseries *s, int64_t t, double v)
{
	uint32_t pos;

	if (find_sorted(s->ooo, s->nooo, t, &pos))
		return;
	if (s->nooo == s->aooo) {
		uint32_t na = s->aooo ? s->aooo * 2 : 8;
		s->ooo = ob_xrealloc(s->ooo, na * sizeof *s->ooo);
		mhead_account(m, (int64_t)((na - s->aooo) * sizeof *s->ooo));
		s->aooo = na;
	}
	memmove(&s->ooo[pos + 1], &s->ooo[pos], (s->nooo - pos) * sizeof *s->ooo);
	s->ooo[pos].t = t;
	s->ooo[pos].v = v;
	s->nooo++;
}

void
mhead_free_chunks_before(struct mstore *m, struct mseries *s, int64_t before)
{
	uint32_t k = 0, i;

	for (i = 0; i < s->nfc && s->fc[i].maxt < before && !s->fc[i].appender; i++) {
		mhead_account(m, -(int64_t)(CHUNK_COST + s->fc[i].alloc));
		tsdb_chunk_release(&s->fc[i]);
		k++;
	}
	if (k) {
		memmove(s->fc, s->fc + k, (s->nfc - k) * sizeof *s->fc);
		s->nfc -= k;
	}
	k = 0;
	for (i = 0; i < s->nhc && s->hc[i].maxt < before && !s->hc[i].appender; i++) {
		mhead_account(m, -(int64_t)(CHUNK_COST + s->hc[i].alloc));
		tsdb_chunk_release(&s->hc[i]);
		k++;
	}
	if (k) {
		memmove(s->hc, s->hc + k, (s->nhc - k) * sizeof *s->hc);
		s->nhc -= k;
	}
}

static void
series_free(struct mstore *m, struct mseries *s)
{
	for (uint32_t i = 0; i < s->nfc; i++) {
		mhead_account(m, -(int64_t)(CHUNK_COST + s->fc[i].alloc));
		tsdb_chunk_release(&s->fc[i]);
	}
	for (uint32_t i = 0; i < s->nhc; i++) {
		mhead_account(m, -(int64_t)(CHUNK_COST + s->hc[i].alloc));
		tsdb_chunk_release(&s->hc[i]);
	}
	free(s->fc);
	free(s->hc);
	mhead_account(m, -(int64_t)(s->aooo * sizeof *s->ooo));
	free(s->ooo);
	free(s->sealing);
	pthread_mutex_lock(&m->intern_lock);
	for (size_t i = 0; i < s->labels.n; i++) {
		mindex_intern_put_locked(m, s->labels.v[i].name);
		mindex_intern_put_locked(m, s->labels.v[i].value);
	}
	pthread_mutex_unlock(&m->intern_lock);
	mhead_account(m, -(int64_t)(MSERIES_COST + s->labels.n * sizeof *s->labels.v));
	free(s->labels.v);
	free(s);
}

/*
 * Remove series that hold no sample and whose newest is before `before`
 * (m->rw held exclusive, so no appender or query holds one).  Postings are
 * rebuilt without the dead refs in one pass.
 */
size_t
mhead_gc(struct mstore *m, int64_t before)
{
	size_t dead = 0;

	for (size_t k = 0; k < MSTRIPES; k++) {
		struct mstripe *st = &m->stripes[k];
		pthread_mutex_lock(&st->lock);
		for (size_t b = 0; b < st->nbuckets; b++) {
			struct mseries **pp = &st->buckets[b], *s;
			while ((s = *pp)) {
				/* a series with recent exemplars stays, so checkpoints keep them */
				if (s->nfc || s->nhc || s->nooo || s->nsealing || s->maxt >= before ||
				    (s->last_ex_t != INT64_MIN &&
				     s->last_ex_t >= before - m->opt.block_ms)) {
					pp = &s->next;
					continue;
				}
				*pp = s->next;
				st->count--;
				pthread_mutex_lock(&m->post_lock);
				set_ref_locked(m, s->ref, NULL);
				pthread_mutex_unlock(&m->post_lock);
				series_free(m, s);
				atomic_fetch_sub(&m->nseries, 1);
				dead++;
			}
		}
		pthread_mutex_unlock(&st->lock);
	}
	if (!dead)
		return 0;
	pthread_mutex_lock(&m->post_lock);
	for (size_t b = 0; b < m->npost_buckets; b++) {
		struct mposting **pp = &m->post[b], *p;
		while ((p = *pp)) {
			uint32_t j = 0;
			for (uint32_t i = 0; i < p->n; i++)
				if (mhead_by_ref(m, p->refs[i]))
					p->refs[j++] = p->refs[i];
			p->n = j;
			if (j == 0) {
				*pp = p->next;
				mhead_account(m, -(int64_t)(p->alloc * sizeof *p->refs));
				free(p->refs);
				free(p);
				m->npost--;
				continue;
			}
			pp = &p->next;
		}
	}
	pthread_mutex_unlock(&m->post_lock);
	return dead;
}

/* --- metadata --- */

static bool
streq(const char *a, const char *b)
{
	return strcmp(a ? a : "", b ? b : "") == 0;
}

void
mhead_meta_set(struct mstore *m, const struct series_meta *sm, bool log)
{
	struct mmeta *e, *n;

	if (!sm->family || !*sm->family)
		return;
	pthread_mutex_lock(&m->meta_lock);
	for (e = m->meta; e; e = e->next)
		if (!e->superseded && strcmp(e->m.family, sm->family) == 0)
			break;
	if (e && e->m.type == sm->type && streq(e->m.help, sm->help) &&
	    streq(e->m.unit, sm->unit)) {
		pthread_mutex_unlock(&m->meta_lock);
		return;
	}
	/* a new entry: pointers handed out by mstore_meta stay valid until close */
	if (e)
		e->superseded = true;
	n = ob_xcalloc(1, sizeof *n);
	n->m.family = ob_xstrdup(sm->family);
	n->m.type = sm->type;
	n->m.help = ob_xstrdup(sm->help ? sm->help : "");
	n->m.unit = ob_xstrdup(sm->unit ? sm->unit : "");
	n->next = m->meta;
	m->meta = n;
	if (log && !m->opt.read_only) {
		struct ob_buf b;
		uint64_t seq;
		size_t start;
		ob_buf_init(&b, 0);
		start = mwal_begin(&b, MWAL_META);
		mwal_encode_meta(&b, &n->m);
		mwal_end(&b, start);
		mwal_enqueue(&m->wal, b.data, b.len, INT64_MIN, &seq);
		ob_buf_release(&b);
	}
	pthread_mutex_unlock(&m->meta_lock);
}

/* --- life --- */

void
mhead_init(struct mstore *m)
{
	for (size_t i = 0; i < MSTRIPES; i++)
		pthread_mutex_init(&m->stripes[i].lock, NULL);
	pthread_mutex_init(&m->post_lock, NULL);
	pthread_mutex_init(&m->intern_lock, NULL);
	pthread_mutex_init(&m->meta_lock, NULL);
	m->npost_buckets = 1024;
	m->post = ob_xcalloc(m->npost_buckets, sizeof *m->post);
	m->nintern_buckets = 1024;
	m->intern = ob_xcalloc(m->nintern_buckets, sizeof *m->intern);
	atomic_store(&m->next_ref, 1);
}

void
mhead_release(struct mstore *m)
{
	for (size_t k = 0; k < MSTRIPES; k++) {
		struct mstripe *st = &m->stripes[k];
		for (size_t b = 0; b < st->nbuckets; b++) {
			struct mseries *s, *next;
			for (s = st->buckets[b]; s; s = next) {
				next = s->next;
				series_free(m, s);
			}
		}
		free(st->buckets);
		pthread_mutex_destroy(&st->lock);
	}
	for (size_t b = 0; b < m->npost_buckets; b++) {
		struct mposting *p, *next;
		for (p = m->post[b]; p; p = next) {
			next = p->next;
			free(p->refs);
			free(p);
		}
	}
	free(m->post);
	free(m->intern);
	for (size_t i = 0; i < MREF_PAGES; i++)
		free(atomic_load(&m->ref_pages[i]));
	while (m->meta) {
		struct mmeta *e = m->meta;
		m->meta = e->next;
		free((char *)e->m.family);
		free((char *)e->m.help);
		free((char *)e->m.unit);
		free(e);
	}
	pthread_mutex_destroy(&m->post_lock);
	pthread_mutex_destroy(&m->intern_lock);
	pthread_mutex_destroy(&m->meta_lock);
}
