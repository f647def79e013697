/*
 * tsdb_index_write.c - writing a block's index file, Prometheus's index
 * format 2 (tsdb/docs/format/index.md; facts checked against
 * tsdb/index/index.go of v2.42, which promtool reads with).  All integers
 * of fixed size are big-endian; every CRC is CRC-32C over the section's
 * `len` bytes that follow its length field.
 *
 *	magic 0xBAAAD700 <4>, version 2 <1>
 *	symbols      len <4>, #symbols <4>, (len <uvarint>, bytes)..., CRC <4>
 *	             every label name and value once, sorted bytewise; a symbol
 *	             reference is its position in this list
 *	series       each padded to a 16-byte boundary; its id is offset / 16:
 *	             len <uvarint>, then #labels <uvarint>, (name ref, value ref
 *	             <uvarint>)..., #chunks <uvarint>, chunk 0: mint <varint>,
 *	             maxt - mint <uvarint>, ref <uvarint>; chunk i: mint -
 *	             previous maxt <uvarint>, maxt - mint <uvarint>, ref -
 *	             previous ref <varint>; CRC <4>.  Series sorted by labels.
 *	label index  per label name, padded to 4: len <4>, #names = 1 <4>,
 *	             #values <4>, value symbol refs <4 each>, CRC <4>
 *	             (Prometheus no longer reads them; it still writes them)
 *	postings     padded to 4: len <4>, #refs <4>, series ids <4 each>, CRC;
 *	             first the list of all series (label "" = ""), then one per
 *	             label pair in name, value order
 *	label offset table     len <4>, #entries <4>, (1 <uvarint>, name
 *	             <uvarint len + bytes>, offset <uvarint>)..., CRC
 *	postings offset table  len <4>, #entries <4>, (2 <uvarint>, name,
 *	             value <uvarint len + bytes each>, offset <uvarint>)..., CRC
 *	TOC          offsets <8 each> of symbols, series, label indices, label
 *	             offset table, postings, postings offset table; CRC <4>
 *
 * Postings are built in two passes over the sorted series: count each
 * label pair (a hash of name and value symbol numbers), then fill the
 * lists in series order, so every list comes out sorted with no sort.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/varint.h"
#include "store/tsdb_int.h"

/* --- interned strings --- */

static uint64_t str_hash(const char *s)
{
	uint64_t h = 1469598103934665603ull;
	for (; *s; s++)
		h = (h ^ (uint8_t)*s) * 1099511628211ull;
	return h ^ h >> 29;
}

void tsdb_strtab_init(struct tsdb_strtab *t)
{
	memset(t, 0, sizeof *t);
	ob_arena_init(&t->arena, 0);
	t->nslots = 1024;
	t->slot = ob_xcalloc(t->nslots, sizeof *t->slot);
}

void tsdb_strtab_release(struct tsdb_strtab *t)
{
	free(t->str);
	free(t->slot);
	ob_arena_release(&t->arena);
	memset(t, 0, sizeof *t);
}

static void strtab_grow(struct tsdb_strtab *t)
{
	size_t n = t->nslots * 2;
	uint32_t *slot = ob_xcalloc(n, sizeof *slot);
	for (uint32_t id = 0; id < t->n; id++) {
		size_t i = str_hash(t->str[id]) & (n - 1);
		while (slot[i])
			i = (i + 1) & (n - 1);
		slot[i] = id + 1;
	}
	free(t->slot);
	t->slot = slot;
	t->nslots = n;
}

uint32_t tsdb_strtab_intern(struct tsdb_strtab *t, const char *s)
{
	if ((t->n + 1) * 2 > t->nslots)
		strtab_grow(t);
	size_t i = str_hash(s) & (t->nslots - 1);
	while (t->slot[i]) {
		uint32_t id = t->slot[i] - 1;
		if (strcmp(t->str[id], s) == 0)
			return id;
		i = (i + 1) & (t->nslots - 1);
	}
	if (t->n == t->alloc) {
		t->alloc = t->alloc ? t->alloc * 2 : 256;
		t->str = ob_xrealloc(t->str, t->alloc * sizeof *t->str);
	}
	size_t len = strlen(s);
	char *copy = ob_arena_alloc(&t->arena, len + 1);
	if (!copy)
		abort(); /* unbounded arena: only out of memory */
	memcpy(copy, s, len + 1);
	t->str[t->n] = copy;
	t->slot[i] = ++t->n;
	return t->n - 1;
}

/* --- a buffered file writer that knows its position --- */

struct iw {
	int fd;
	uint8_t *buf;
	size_t blen, bcap;
	uint64_t pos;
	bool failed;
	int err;
};

static void iw_flush(struct iw *w)
{
	size_t off = 0;
	while (!w->failed && off < w->blen) {
		ssize_t n = write(w->fd, w->buf + off, w->blen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0) {
			w->failed = true;
			w->err = n < 0 ? errno : EIO;
			break;
		}
		off += (size_t)n;
	}
	w->blen = 0;
}

static void iw_write(struct iw *w, const void *p, size_t n)
{
	w->pos += n;
	if (w->blen + n > w->bcap) {
		iw_flush(w);
		if (n > w->bcap) {
			const uint8_t *q = p;
			while (n && !w->failed) {
				size_t k = n < w->bcap ? n : w->bcap;
				memcpy(w->buf, q, k);
				w->blen = k;
				iw_flush(w);
				q += k;
				n -= k;
			}
			return;
		}
	}
	memcpy(w->buf + w->blen, p, n);
	w->blen += n;
}

static void iw_be32(struct iw *w, uint32_t v)
{
	uint8_t b[4];
	ob_put_be32(b, v);
	iw_write(w, b, 4);
}

static void iw_pad(struct iw *w, unsigned align)
{
	static const uint8_t zeros[16];
	unsigned r = (unsigned)(w->pos % align);
	if (r)
		iw_write(w, zeros, align - r);
}

/* A growable scratch buffer for one section's body. */
struct sb {
	uint8_t *p;
	size_t len, cap;
};

static void sb_need(struct sb *b, size_t n)
{
	if (b->len + n <= b->cap)
		return;
	size_t c = b->cap ? b->cap * 2 : 4096;
	while (c < b->len + n)
		c *= 2;
	b->p = ob_xrealloc(b->p, c);
	b->cap = c;
}

static void sb_uvarint(struct sb *b, uint64_t v)
{
	sb_need(b, OB_VARINT_MAX);
	b->len += ob_put_uvarint(b->p + b->len, v);
}

static void sb_varint(struct sb *b, int64_t v)
{
	sb_need(b, OB_VARINT_MAX);
	b->len += ob_put_varint(b->p + b->len, v);
}

static void sb_be32(struct sb *b, uint32_t v)
{
	sb_need(b, 4);
	ob_put_be32(b->p + b->len, v);
	b->len += 4;
}

static void sb_str(struct sb *b, const char *s)
{
	size_t n = strlen(s);
	sb_uvarint(b, n);
	sb_need(b, n);
	memcpy(b->p + b->len, s, n);
	b->len += n;
}

/* len <4>, body, CRC <4> */
static void iw_section(struct iw *w, const struct sb *body)
{
	iw_be32(w, (uint32_t)body->len);
	iw_write(w, body->p, body->len);
	iw_be32(w, ob_crc32c(0, body->p, body->len));
}

/* --- the index --- */

struct pair {
	uint64_t key;           /* name symbol << 32 | value symbol */
	uint32_t count, fill;
	uint64_t start;         /* into refs */
	uint64_t off;           /* of its postings list */
};

static int cmp_ids(const void *a, const void *b, void *arg)
{
	const struct tsdb_strtab *tab = arg;
	return strcmp(tab->str[*(const uint32_t *)a], tab->str[*(const uint32_t *)b]);
}

static int cmp_pairs(const void *a, const void *b)
{
	uint64_t x = ((const struct pair *)a)->key, y = ((const struct pair *)b)->key;
	return x < y ? -1 : x > y;
}

static uint64_t pair_hash(uint64_t k)
{
	k ^= k >> 33;
	k *= 0xff51afd7ed558ccdull;
	k ^= k >> 33;
	return k;
}

enum ob_err tsdb_index_write(const char *path, const struct tsdb_strtab *tab,
			     struct tsdb_wseries *const *series, size_t nseries, char *errbuf)
{
	enum ob_err err = OB_OK;
	struct iw w = {.fd = -1};
	struct sb body = {0};
	uint32_t *order = NULL, *sym = NULL, *refs = NULL, *pslot = NULL, *sids = NULL;
	struct pair *pairs = NULL;
	uint64_t *prefs = NULL;
	size_t npairs = 0, pcap = 0, nslots = 0;
	uint64_t toc[6];

	w.fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (w.fd < 0)
		return ob_errf(errbuf, OB_EIO, "create %s: %s", path, strerror(errno));
	w.bcap = 1 << 20;
	w.buf = ob_xmalloc(w.bcap);

	/* symbols: sort the interned strings; sym[id] is the reference */
	order = ob_xmalloc((tab->n + 1) * sizeof *order);
	sym = ob_xmalloc((tab->n + 1) * sizeof *sym);
	for (uint32_t i = 0; i < tab->n; i++)
		order[i] = i;
	qsort_r(order, tab->n, sizeof *order, cmp_ids, (void *)tab);
	for (uint32_t i = 0; i < tab->n; i++)
		sym[order[i]] = i;

	uint8_t head[5];
	ob_put_be32(head, TSDB_INDEX_MAGIC);
	head[4] = TSDB_INDEX_V2;
	iw_write(&w, head, 5);

	toc[0] = w.pos;
	sb_be32(&body, tab->n);
	for (uint32_t i = 0; i < tab->n; i++)
		sb_str(&body, tab->str[order[i]]);
	iw_section(&w, &body);

	/* series */
	toc[1] = w.pos;
	sids = ob_xmalloc((nseries + 1) * sizeof *sids);
	for (size_t s = 0; s < nseries; s++) {
		const struct tsdb_wseries *ws = series[s];
		iw_pad(&w, 16);
		if (w.pos / 16 > UINT32_MAX) {
			err = ob_errf(errbuf, OB_ETOOBIG, "index %s: series section past 64 GiB", path);
			goto out;
		}
		sids[s] = (uint32_t)(w.pos / 16);
		body.len = 0;
		sb_uvarint(&body, ws->nlab);
		for (uint32_t l = 0; l < ws->nlab; l++) {
			sb_uvarint(&body, sym[ws->lab[2 * l]]);
			sb_uvarint(&body, sym[ws->lab[2 * l + 1]]);
		}
		sb_uvarint(&body, ws->nchunks);
		for (uint32_t c = 0; c < ws->nchunks; c++) {
			const struct tsdb_wchunk *ch = &ws->chunks[c];
			if (c == 0) {
				sb_varint(&body, ch->mint);
				sb_uvarint(&body, (uint64_t)(ch->maxt - ch->mint));
				sb_uvarint(&body, ch->ref);
			} else {
				const struct tsdb_wchunk *pr = &ws->chunks[c - 1];
				sb_uvarint(&body, (uint64_t)(ch->mint - pr->maxt));
				sb_uvarint(&body, (uint64_t)(ch->maxt - ch->mint));
				sb_varint(&body, (int64_t)(ch->ref - pr->ref));
			}
		}
		uint8_t lb[OB_VARINT_MAX];
		iw_write(&w, lb, ob_put_uvarint(lb, body.len));
		iw_write(&w, body.p, body.len);
		iw_be32(&w, ob_crc32c(0, body.p, body.len));
	}

	/* postings pass 1: count each label pair */
	nslots = 1024;
	pslot = ob_xcalloc(nslots, sizeof *pslot);
	for (size_t s = 0; s < nseries; s++) {
		const struct tsdb_wseries *ws = series[s];
		for (uint32_t l = 0; l < ws->nlab; l++) {
			uint64_t key = (uint64_t)sym[ws->lab[2 * l]] << 32 | sym[ws->lab[2 * l + 1]];
			if ((npairs + 1) * 2 > nslots) {
				size_t n2 = nslots * 2;
				uint32_t *ns = ob_xcalloc(n2, sizeof *ns);
				for (size_t p = 0; p < npairs; p++) {
					size_t i = pair_hash(pairs[p].key) & (n2 - 1);
					while (ns[i])
						i = (i + 1) & (n2 - 1);
					ns[i] = (uint32_t)p + 1;
				}
				free(pslot);
				pslot = ns;
				nslots = n2;
			}
			size_t i = pair_hash(key) & (nslots - 1);
			while (pslot[i] && pairs[pslot[i] - 1].key != key)
				i = (i + 1) & (nslots - 1);
			if (!pslot[i]) {
				if (npairs == pcap) {
					pcap = pcap ? pcap * 2 : 1024;
					pairs = ob_xrealloc(pairs, pcap * sizeof *pairs);
				}
				pairs[npairs] = (struct pair){.key = key};
				pslot[i] = (uint32_t)++npairs;
			}
			pairs[pslot[i] - 1].count++;
		}
	}
	/* pass 2: sort the pairs, lay out their lists, fill in series order */
	if (npairs)
		qsort(pairs, npairs, sizeof *pairs, cmp_pairs);
	memset(pslot, 0, nslots * sizeof *pslot);
	uint64_t total = 0;
	for (size_t p = 0; p < npairs; p++) {
		pairs[p].start = total;
		total += pairs[p].count;
		size_t i = pair_hash(pairs[p].key) & (nslots - 1);
		while (pslot[i])
			i = (i + 1) & (nslots - 1);
		pslot[i] = (uint32_t)p + 1;
	}
	refs = ob_xmalloc((total + 1) * sizeof *refs);
	for (size_t s = 0; s < nseries; s++) {
		const struct tsdb_wseries *ws = series[s];
		for (uint32_t l = 0; l < ws->nlab; l++) {
			uint64_t key = (uint64_t)sym[ws->lab[2 * l]] << 32 | sym[ws->lab[2 * l + 1]];
			size_t i = pair_hash(key) & (nslots - 1);
			while (pairs[pslot[i] - 1].key != key)
				i = (i + 1) & (nslots - 1);
			struct pair *pp = &pairs[pslot[i] - 1];
			refs[pp->start + pp->fill++] = sids[s];
		}
	}

	/* label indices: one per name, its values' symbol refs */
	toc[2] = w.pos;
	struct sb lot = {0};
	uint32_t nlot = 0;
	for (size_t p = 0; p < npairs;) {
		uint32_t name = (uint32_t)(pairs[p].key >> 32);
		size_t q = p;
		while (q < npairs && (uint32_t)(pairs[q].key >> 32) == name)
			q++;
		iw_pad(&w, 4);
		sb_uvarint(&lot, 1);
		sb_str(&lot, tab->str[order[name]]);
		sb_uvarint(&lot, w.pos);
		nlot++;
		body.len = 0;
		sb_be32(&body, 1);
		sb_be32(&body, (uint32_t)(q - p));
		for (size_t k = p; k < q; k++)
			sb_be32(&body, (uint32_t)pairs[k].key);
		iw_section(&w, &body);
		p = q;
	}

	/* postings: all series first, then every pair */
	toc[4] = w.pos;
	iw_pad(&w, 4);
	uint64_t all_off = w.pos;
	body.len = 0;
	sb_be32(&body, (uint32_t)nseries);
	for (size_t s = 0; s < nseries; s++)
		sb_be32(&body, sids[s]);
	iw_section(&w, &body);
	for (size_t p = 0; p < npairs; p++) {
		iw_pad(&w, 4);
		pairs[p].off = w.pos;
		body.len = 0;
		sb_be32(&body, pairs[p].count);
		for (uint32_t k = 0; k < pairs[p].count; k++)
			sb_be32(&body, refs[pairs[p].start + k]);
		iw_section(&w, &body);
	}

	/* label offset table */
	toc[3] = w.pos;
	body.len = 0;
	sb_be32(&body, nlot);
	sb_need(&body, lot.len);
	if (lot.len)
		memcpy(body.p + body.len, lot.p, lot.len);
	body.len += lot.len;
	free(lot.p);
	iw_section(&w, &body);

	/* postings offset table */
	toc[5] = w.pos;
	body.len = 0;
	sb_be32(&body, (uint32_t)(npairs + 1));
	sb_uvarint(&body, 2);
	sb_str(&body, "");
	sb_str(&body, "");
	sb_uvarint(&body, all_off);
	for (size_t p = 0; p < npairs; p++) {
		sb_uvarint(&body, 2);
		sb_str(&body, tab->str[order[pairs[p].key >> 32]]);
		sb_str(&body, tab->str[order[(uint32_t)pairs[p].key]]);
		sb_uvarint(&body, pairs[p].off);
	}
	iw_section(&w, &body);

	uint8_t tb[TSDB_TOC_LEN];
	for (int i = 0; i < 6; i++) {
		ob_put_be32(tb + 8 * i, (uint32_t)(toc[i] >> 32));
		ob_put_be32(tb + 8 * i + 4, (uint32_t)toc[i]);
	}
	ob_put_be32(tb + 48, ob_crc32c(0, tb, 48));
	iw_write(&w, tb, sizeof tb);
	iw_flush(&w);
	if (w.failed) {
		err = ob_errf(errbuf, OB_EIO, "write %s: %s", path, strerror(w.err));
		goto out;
	}
	if (fsync(w.fd) != 0) {
		err = ob_errf(errbuf, OB_EIO, "fsync %s: %s", path, strerror(errno));
		goto out;
	}
out:
	if (w.fd >= 0 && close(w.fd) != 0 && !err)
		err = ob_errf(errbuf, OB_EIO, "close %s: %s", path, strerror(errno));
	free(w.buf);
	free(body.p);
	free(order);
	free(sym);
	free(refs);
	free(pslot);
	free(sids);
	free(pairs);
	free(prefs);
	return err;
}
