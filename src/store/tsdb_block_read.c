/*
 * tsdb_block_read.c - reading a block directory (ours, Prometheus's,
 * Thanos's): meta.json parsed, index and chunk segments mapped read-only,
 * the index's TOC and tables checked at open (tsdb_index_read.c), and
 * each chunk's CRC when it is read.
 *
 * tsdb_block_select: the matching series ids from the postings
 * (tsdb_postings.c), then each series' chunks that overlap [mint, maxt]
 * decoded into one array per series in the caller's arena, less what the
 * tombstones file deletes.
 *
 * A block is immutable once open; readers share it from many threads.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "core/crc32c.h"
#include "core/endian.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/varint.h"
#include "store/tsdb.h"
#include "store/tsdb_int.h"

struct stone {                  /* samples deleted: mint <= t <= maxt */
	uint32_t ref;
	int64_t mint, maxt;
};

struct tsdb_block {
	char dir[PATH_MAX];
	struct stone *stones;   /* sorted by ref */
	size_t nstones;
	struct tsdb_block_meta meta;
	uint8_t *imap;
	size_t ilen;
	struct tsdb_index ix;
	uint8_t **seg;
	size_t *seglen;
	uint32_t nseg;
};

static enum ob_err map_file(const char *path, uint8_t **out, size_t *len, char *errbuf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat st;
	if (fd < 0 || fstat(fd, &st) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		return ob_errf(errbuf, e == ENOENT ? OB_ENOTFOUND : OB_EIO, "open %s: %s", path,
			       strerror(e));
	}
	*len = (size_t)st.st_size;
	*out = NULL;
	if (*len) {
		void *m = mmap(NULL, *len, PROT_READ, MAP_SHARED, fd, 0);
		if (m == MAP_FAILED) {
			close(fd);
			return ob_errf(errbuf, OB_EIO, "mmap %s: %s", path, strerror(errno));
		}
		*out = m;
	}
	close(fd);
	return OB_OK;
}

static int cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

/* The chunk segment files: names that are numbers, in order. */
static enum ob_err map_segments(struct tsdb_block *b, char *errbuf)
{
	char dir[PATH_MAX + 16];
	snprintf(dir, sizeof dir, "%s/chunks", b->dir);
	DIR *d = opendir(dir);
	if (!d)
		return ob_errf(errbuf, OB_ECORRUPT, "block %s: no chunks directory", b->dir);
	uint32_t *nums = NULL;
	size_t n = 0, cap = 0;
	struct dirent *e;
	while ((e = readdir(d))) {
		char *endp;
		unsigned long v = strtoul(e->d_name, &endp, 10);
		if (!e->d_name[0] || *endp || v == 0 || v > UINT32_MAX)
			continue;
		if (n == cap) {
			cap = cap ? cap * 2 : 8;
			nums = ob_xrealloc(nums, cap * sizeof *nums);
		}
		nums[n++] = (uint32_t)v;
	}
	closedir(d);
	if (n)
		qsort(nums, n, sizeof *nums, cmp_u32);
	b->seg = ob_xcalloc(n + 1, sizeof *b->seg);
	b->seglen = ob_xcalloc(n + 1, sizeof *b->seglen);
	enum ob_err err = OB_OK;
	for (size_t i = 0; i < n && !err; i++) {
		char path[PATH_MAX + 64];
		snprintf(path, sizeof path, "%s/%06u", dir, nums[i]);
		if ((err = map_file(path, &b->seg[i], &b->seglen[i], errbuf)))
			break;
		b->nseg++;
		if (b->seglen[i] < TSDB_CHUNKS_HEADER ||
		    ob_get_be32(b->seg[i]) != TSDB_CHUNKS_MAGIC || b->seg[i][4] != TSDB_CHUNKS_V1)
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: not a chunks file (magic or version)",
				      path);
	}
	free(nums);
	return err;
}

static int cmp_stone(const void *a, const void *b)
{
	const struct stone *x = a, *y = b;
	if (x->ref != y->ref)
		return x->ref < y->ref ? -1 : 1;
	return x->mint < y->mint ? -1 : x->mint > y->mint;
}

/*
 * The tombstones file (tombstones.md): magic 0x0130BA30 <4>, version 1
 * <1>, then (series id <uvarint>, mint <varint>, maxt <varint>)..., and a
 * CRC-32C <4> of the entries.  Absent: nothing deleted.
 */
static enum ob_err load_tombstones(struct tsdb_block *b, char *errbuf)
{
	char path[PATH_MAX + 16];
	uint8_t *data;
	size_t len, cap = 0;
	snprintf(path, sizeof path, "%s/tombstones", b->dir);
	if (ob_file_read(path, 256 << 20, &data, &len, NULL))
		return OB_OK;
	enum ob_err err = OB_OK;
	if (len < 9 || ob_get_be32(data) != TSDB_TOMBSTONES_MAGIC || data[4] != 1 ||
	    ob_crc32c(0, data + 5, len - 9) != ob_get_be32(data + len - 4)) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: not a tombstones file, or its CRC fails",
			      path);
		goto out;
	}
	const uint8_t *p = data + 5, *end = data + len - 4;
	while (p < end) {
		uint64_t ref;
		int64_t mint, maxt;
		size_t k1 = ob_get_uvarint(p, end, &ref), k2, k3;
		if (!k1 || !(k2 = ob_get_varint(p + k1, end, &mint)) ||
		    !(k3 = ob_get_varint(p + k1 + k2, end, &maxt)) || ref > UINT32_MAX) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: an entry does not decode", path);
			goto out;
		}
		p += k1 + k2 + k3;
		if (b->nstones == cap) {
			cap = cap ? cap * 2 : 16;
			b->stones = ob_xrealloc(b->stones, cap * sizeof *b->stones);
		}
		b->stones[b->nstones++] = (struct stone){(uint32_t)ref, mint, maxt};
	}
	if (b->nstones)
		qsort(b->stones, b->nstones, sizeof *b->stones, cmp_stone);
out:
	free(data);
	return err;
}

/* The first stone of series id, or NULL. */
static const struct stone *stones_of(const struct tsdb_block *b, uint32_t id)
{
	size_t lo = 0, hi = b->nstones;
	while (lo < hi) {
		size_t mid = (lo + hi) / 2;
		if (b->stones[mid].ref < id)
			lo = mid + 1;
		else
			hi = mid;
	}
	return lo < b->nstones && b->stones[lo].ref == id ? &b->stones[lo] : NULL;
}

static bool deleted(const struct tsdb_block *b, const struct stone *st, int64_t t)
{
	uint32_t ref = st->ref;
	for (; st < b->stones + b->nstones && st->ref == ref; st++)
		if (t >= st->mint && t <= st->maxt)
			return true;
	return false;
}

/* Drop from d the samples that tombstones of series id delete. */
static void apply_stones(const struct tsdb_block *b, uint32_t id, struct series_data *d)
{
	const struct stone *st = stones_of(b, id);
	if (!st)
		return;
	size_t k = 0;
	for (size_t i = 0; i < d->nf; i++)
		if (!deleted(b, st, d->f[i].t))
			d->f[k++] = d->f[i];
	d->nf = k;
	k = 0;
	for (size_t i = 0; i < d->nh; i++)
		if (!deleted(b, st, d->h[i].t))
			d->h[k++] = d->h[i];
	d->nh = k;
}

enum ob_err tsdb_block_open(const char *dir, struct tsdb_block **out, char *errbuf)
{
	enum ob_err err;
	char path[PATH_MAX + 16];
	uint8_t *json = NULL;
	size_t jlen;
	*out = NULL;
	struct tsdb_block *b = ob_xcalloc(1, sizeof *b);
	snprintf(b->dir, sizeof b->dir, "%s", dir);
	snprintf(path, sizeof path, "%s/meta.json", dir);
	if ((err = ob_file_read(path, 1 << 20, &json, &jlen, errbuf)) ||
	    (err = tsdb_meta_parse((const char *)json, jlen, &b->meta, errbuf)))
		goto out;
	snprintf(path, sizeof path, "%s/index", dir);
	if ((err = map_file(path, &b->imap, &b->ilen, errbuf)))
		goto out;
	if ((err = tsdb_index_parse(b->imap, b->ilen, &b->ix, errbuf))) {
		char inner[OB_ERRLEN];
		snprintf(inner, sizeof inner, "%s", errbuf ? errbuf : "");
		err = ob_errf(errbuf, err, "%s: %s", path, inner);
		goto out;
	}
	if ((err = map_segments(b, errbuf)) || (err = load_tombstones(b, errbuf)))
		goto out;
out:
	free(json);
	if (err) {
		tsdb_block_close(b);
		return err;
	}
	*out = b;
	return OB_OK;
}

void tsdb_block_close(struct tsdb_block *b)
{
	if (!b)
		return;
	tsdb_index_release(&b->ix);
	if (b->imap)
		munmap(b->imap, b->ilen);
	for (uint32_t i = 0; i < b->nseg; i++)
		if (b->seg[i])
			munmap(b->seg[i], b->seglen[i]);
	free(b->seg);
	free(b->seglen);
	free(b->stones);
	tsdb_meta_release(&b->meta);
	free(b);
}

const struct tsdb_block_meta *tsdb_block_meta_get(const struct tsdb_block *b)
{
	return &b->meta;
}

/* The chunk at ref: encoding and data, CRC checked when verify. */
static enum ob_err chunk_at(const struct tsdb_block *b, uint64_t ref, bool verify, uint8_t *enc,
			    const uint8_t **data, size_t *len, char *errbuf)
{
	uint32_t seq = (uint32_t)(ref >> 32);
	uint64_t off = (uint32_t)ref, l;
	if (seq >= b->nseg || off < TSDB_CHUNKS_HEADER || off >= b->seglen[seq])
		goto bad;
	const uint8_t *p = b->seg[seq] + off, *end = b->seg[seq] + b->seglen[seq];
	size_t k = ob_get_uvarint(p, end, &l);
	if (!k || l > (uint64_t)(end - p) || (uint64_t)(end - p) - k < l + 5)
		goto bad;
	p += k;
	if (verify && ob_crc32c(0, p, l + 1) != ob_get_be32(p + 1 + l))
		return ob_errf(errbuf, OB_ECORRUPT, "%s: chunk %llx fails its CRC", b->dir,
			       (unsigned long long)ref);
	*enc = p[0];
	*data = p + 1;
	*len = l;
	return OB_OK;
bad:
	return ob_errf(errbuf, OB_ECORRUPT, "%s: chunk reference %llx out of range", b->dir,
		       (unsigned long long)ref);
}

/* --- select --- */

/* Symbol i copied into the arena with a NUL. */
static const char *sym_str(const struct tsdb_block *b, uint32_t i, struct ob_arena *arena)
{
	const uint8_t *s;
	uint32_t n;
	if (!tsdb_index_symbol(&b->ix, i, &s, &n))
		return NULL;
	char *c = ob_arena_alloc(arena, (size_t)n + 1);
	if (c) {
		memcpy(c, s, n);
		c[n] = 0;
	}
	return c;
}

static enum ob_err series_labels(const struct tsdb_block *b, const struct tsdb_rseries *rs,
				 struct ob_arena *arena, struct series_labels *ls, char *errbuf)
{
	ls->n = rs->nlab;
	ls->v = ob_arena_alloc(arena, (rs->nlab + 1) * sizeof *ls->v);
	if (!ls->v)
		return ob_errf(errbuf, OB_ETOOBIG, "select: query memory cap");
	for (uint32_t i = 0; i < rs->nlab; i++) {
		ls->v[i].name = sym_str(b, rs->lab[2 * i], arena);
		ls->v[i].value = sym_str(b, rs->lab[2 * i + 1], arena);
		if (!ls->v[i].name || !ls->v[i].value)
			return arena->over ? ob_errf(errbuf, OB_ETOOBIG, "select: query memory cap")
					   : ob_errf(errbuf, OB_ECORRUPT, "%s: bad symbol", b->dir);
	}
	return OB_OK;
}

/* Decode the chunks of rs overlapping [mint, maxt] into d. */
static enum ob_err series_samples(const struct tsdb_block *b, const struct tsdb_rseries *rs,
				  int64_t mint, int64_t maxt, struct ob_arena *arena,
				  struct series_data *d, char *errbuf)
{
	enum ob_err err;
	size_t nf = 0, nh = 0;
	/* first pass: how many samples at most, by encoding */
	for (uint32_t c = 0; c < rs->nchunks; c++) {
		const struct tsdb_rchunk *ch = &rs->chunks[c];
		if (ch->maxt < mint || ch->mint > maxt)
			continue;
		uint8_t enc;
		const uint8_t *data;
		size_t len;
		if ((err = chunk_at(b, ch->ref, false, &enc, &data, &len, errbuf)))
			return err;
		size_t n = tsdb_chunk_count(data, len);
		if (enc == TSDB_ENC_XOR)
			nf += n < len * 4 + 2 ? n : len * 4 + 2;
		else
			nh += n < len * 2 + 2 ? n : len * 2 + 2;
	}
	d->f = nf ? ob_arena_alloc(arena, nf * sizeof *d->f) : NULL;
	d->h = nh ? ob_arena_alloc(arena, nh * sizeof *d->h) : NULL;
	if ((nf && !d->f) || (nh && !d->h))
		return ob_errf(errbuf, OB_ETOOBIG, "select: query memory cap");
	d->nf = d->nh = 0;
	for (uint32_t c = 0; c < rs->nchunks; c++) {
		const struct tsdb_rchunk *ch = &rs->chunks[c];
		if (ch->maxt < mint || ch->mint > maxt)
			continue;
		uint8_t enc;
		const uint8_t *data;
		size_t len;
		if ((err = chunk_at(b, ch->ref, true, &enc, &data, &len, errbuf)))
			return err;
		if (enc == TSDB_ENC_XOR)
			err = tsdb_xor_decode_into(data, len, mint, maxt, d->f, nf, &d->nf, errbuf);
		else if (enc == TSDB_ENC_HISTOGRAM || enc == TSDB_ENC_FLOAT_HISTOGRAM)
			err = tsdb_hist_decode_into(enc, data, len, mint, maxt, arena, d->h, nh,
						    &d->nh, errbuf);
		else
			err = ob_errf(errbuf, OB_EUNSUPPORTED, "%s: chunk encoding %u", b->dir, enc);
		if (err)
			return err;
	}
	return OB_OK;
}

struct scratch {
	uint32_t *lab;
	size_t labcap;
	struct tsdb_rchunk *chk;
	size_t chkcap;
};

enum ob_err tsdb_block_select(struct tsdb_block *b, const struct promql_matcher *m, size_t nm,
			      int64_t mint, int64_t maxt, struct ob_arena *arena,
			      struct series_data **out, size_t *nout, char *errbuf)
{
	enum ob_err err;
	struct tsdb_ids ids = {0};
	struct scratch sc = {0};
	struct series_data *res = NULL;
	size_t nres = 0, cap = 0;
	if (maxt < b->meta.min_time || mint >= b->meta.max_time)
		return OB_OK;
	if ((err = tsdb_ids_select(&b->ix, m, nm, &ids, errbuf)))
		goto out;
	for (size_t i = 0; i < ids.n; i++) {
		struct tsdb_rseries rs;
		if ((err = tsdb_index_series(&b->ix, ids.v[i], &rs, &sc.lab, &sc.labcap, &sc.chk,
					     &sc.chkcap, errbuf)))
			goto out;
		bool any = false;
		for (uint32_t c = 0; c < rs.nchunks && !any; c++)
			any = rs.chunks[c].maxt >= mint && rs.chunks[c].mint <= maxt;
		if (!any)
			continue;
		struct series_data d = {0};
		if ((err = series_samples(b, &rs, mint, maxt, arena, &d, errbuf)))
			goto out;
		apply_stones(b, ids.v[i], &d);
		if (!d.nf && !d.nh)
			continue;
		if ((err = series_labels(b, &rs, arena, &d.labels, errbuf)))
			goto out;
		if (nres == cap) {
			cap = cap ? cap * 2 : 64;
			res = ob_xrealloc(res, cap * sizeof *res);
		}
		res[nres++] = d;
	}
	if (nres) {
		struct series_data *all = ob_arena_alloc(arena, (*nout + nres) * sizeof *all);
		if (!all) {
			err = ob_errf(errbuf, OB_ETOOBIG, "select: query memory cap");
			goto out;
		}
		if (*nout)
			memcpy(all, *out, *nout * sizeof *all);
		memcpy(all + *nout, res, nres * sizeof *res);
		*out = all;
		*nout += nres;
	}
out:
	free(ids.v);
	free(sc.lab);
	free(sc.chk);
	free(res);
	return err;
}

static const char *bytes_str(const uint8_t *p, uint32_t n, struct ob_arena *arena)
{
	char *c = ob_arena_alloc(arena, (size_t)n + 1);
	if (c) {
		memcpy(c, p, n);
		c[n] = 0;
	}
	return c;
}

enum ob_err tsdb_block_label_names(struct tsdb_block *b, struct ob_arena *arena,
				   const char ***out, size_t *n, char *errbuf)
{
	const char **v = ob_arena_alloc(arena, (b->ix.nnames + 1) * sizeof *v);
	if (!v)
		return ob_errf(errbuf, OB_ETOOBIG, "label names: query memory cap");
	for (size_t i = 0; i < b->ix.nnames; i++)
		if (!(v[i] = bytes_str(b->ix.names[i].name, b->ix.names[i].nlen, arena)))
			return ob_errf(errbuf, OB_ETOOBIG, "label names: query memory cap");
	*out = v;
	*n = b->ix.nnames;
	return OB_OK;
}

enum ob_err tsdb_block_label_values(struct tsdb_block *b, const char *name,
				    struct ob_arena *arena, const char ***out, size_t *n,
				    char *errbuf)
{
	const struct tsdb_pname *pn = tsdb_index_name(&b->ix, name, strlen(name));
	*out = NULL;
	*n = 0;
	if (!pn)
		return OB_OK;
	const char **v = ob_arena_alloc(arena, ((size_t)pn->n + 1) * sizeof *v);
	if (!v)
		return ob_errf(errbuf, OB_ETOOBIG, "label values: query memory cap");
	for (uint32_t i = 0; i < pn->n; i++) {
		struct tsdb_pentry ent, *e = &ent;
		tsdb_index_entry(&b->ix, pn->first + i, e);
		if (!(v[i] = bytes_str(e->value, e->vlen, arena)))
			return ob_errf(errbuf, OB_ETOOBIG, "label values: query memory cap");
	}
	*out = v;
	*n = pn->n;
	return OB_OK;
}

enum ob_err tsdb_block_walk(struct tsdb_block *b, tsdb_series_fn fn, void *arg, char *errbuf)
{
	enum ob_err err = OB_OK;
	struct tsdb_ids ids = {0};
	struct scratch sc = {0};
	struct tsdb_raw_chunk *raw = NULL;
	size_t rawcap = 0;
	struct ob_arena arena;
	ob_arena_init(&arena, 0);
	if (b->nstones) {
		err = ob_errf(errbuf, OB_EUNSUPPORTED,
			      "%s: the block has deleted samples (tombstones); its raw chunks still "
			      "hold them, so it cannot be walked chunk by chunk",
			      b->dir);
		goto out;
	}
	if (b->ix.all_off && (err = tsdb_ids_load(&b->ix, b->ix.all_off, &ids, errbuf)))
		goto out;
	for (size_t i = 0; i < ids.n; i++) {
		struct tsdb_rseries rs;
		struct series_labels ls;
		ob_arena_reset(&arena);
		if ((err = tsdb_index_series(&b->ix, ids.v[i], &rs, &sc.lab, &sc.labcap, &sc.chk,
					     &sc.chkcap, errbuf)) ||
		    (err = series_labels(b, &rs, &arena, &ls, errbuf)))
			goto out;
		if (rs.nchunks + 1 > rawcap) {
			rawcap = rs.nchunks + 16;
			raw = ob_xrealloc(raw, rawcap * sizeof *raw);
		}
		for (uint32_t c = 0; c < rs.nchunks; c++) {
			raw[c].mint = rs.chunks[c].mint;
			raw[c].maxt = rs.chunks[c].maxt;
			if ((err = chunk_at(b, rs.chunks[c].ref, true, &raw[c].enc, &raw[c].data,
					    &raw[c].len, errbuf)))
				goto out;
		}
		if (fn(arg, &ls, raw, rs.nchunks))
			break;
	}
out:
	ob_arena_release(&arena);
	free(ids.v);
	free(sc.lab);
	free(sc.chk);
	free(raw);
	return err;
}

/* --- the walk as an iterator (compaction merges several blocks) --- */

struct tsdb_block_iter {
	struct tsdb_block *b;
	struct tsdb_ids ids;
	size_t next;
	struct scratch sc;
	struct tsdb_raw_chunk *raw;
	size_t rawcap;
	struct ob_arena arena;
};

enum ob_err tsdb_block_iter_new(struct tsdb_block *b, struct tsdb_block_iter **out,
				char *errbuf)
{
	enum ob_err err;
	*out = NULL;
	if (b->nstones)
		return ob_errf(errbuf, OB_EUNSUPPORTED,
			       "%s: the block has deleted samples (tombstones)", b->dir);
	struct tsdb_block_iter *it = ob_xcalloc(1, sizeof *it);
	it->b = b;
	ob_arena_init(&it->arena, 0);
	if (b->ix.all_off && (err = tsdb_ids_load(&b->ix, b->ix.all_off, &it->ids, errbuf))) {
		tsdb_block_iter_free(it);
		return err;
	}
	*out = it;
	return OB_OK;
}

enum ob_err tsdb_block_iter_next(struct tsdb_block_iter *it, struct series_labels *ls,
				 const struct tsdb_raw_chunk **chunks, size_t *nchunks,
				 char *errbuf)
{
	struct tsdb_rseries rs;
	enum ob_err err;
	if (it->next >= it->ids.n)
		return OB_ENOTFOUND;
	ob_arena_reset(&it->arena);
	if ((err = tsdb_index_series(&it->b->ix, it->ids.v[it->next++], &rs, &it->sc.lab,
				     &it->sc.labcap, &it->sc.chk, &it->sc.chkcap, errbuf)) ||
	    (err = series_labels(it->b, &rs, &it->arena, ls, errbuf)))
		return err;
	if (rs.nchunks + 1 > it->rawcap) {
		it->rawcap = rs.nchunks + 16;
		it->raw = ob_xrealloc(it->raw, it->rawcap * sizeof *it->raw);
	}
	for (uint32_t c = 0; c < rs.nchunks; c++) {
		it->raw[c].mint = rs.chunks[c].mint;
		it->raw[c].maxt = rs.chunks[c].maxt;
		if ((err = chunk_at(it->b, rs.chunks[c].ref, true, &it->raw[c].enc,
				    &it->raw[c].data, &it->raw[c].len, errbuf)))
			return err;
	}
	*chunks = it->raw;
	*nchunks = rs.nchunks;
	return OB_OK;
}

void tsdb_block_iter_free(struct tsdb_block_iter *it)
{
	if (!it)
		return;
	ob_arena_release(&it->arena);
	free(it->ids.v);
	free(it->sc.lab);
	free(it->sc.chk);
	free(it->raw);
	free(it);
}
