/*
 * tsdb_block_write.c - writing a block directory (Prometheus layout):
 *
 *	parent/ULID.tmp/chunks/000001 ...   written as series are added
 *	parent/ULID.tmp/index               at finish (tsdb_index_write.c)
 *	parent/ULID.tmp/meta.json, tombstones
 *	fsync every file and directory, rename ULID.tmp -> ULID, fsync parent
 *
 * Chunks segment file (tsdb/docs/format/chunks.md):
 *
 *	magic 0x85BD40DD <4 BE>, version 1 <1>, padding <3 zero bytes>
 *	chunks: len <uvarint, of data>, encoding <1>, data <len>,
 *	        CRC-32C of encoding and data <4 BE>
 *	a segment holds at most 512 MiB; a chunk's reference is
 *	(segment number from 0) << 32 | offset in its file
 *
 * Tombstones (tombstones.md): magic 0x0130BA30 <4>, version 1 <1>, no
 * entries, CRC-32C of the (empty) entries <4> - nine bytes.
 *
 * Chunks go to disk as they are added, so memory holds labels and chunk
 * metadata only.  A series' chunks come in order of mint; chunks of one
 * kind (float, histogram) must not overlap in time.  A float chunk may
 * overlap a histogram chunk (a series that switched kinds back and forth
 * in obstui's head, which keeps the two apart): the index then holds a
 * negative mint delta, which wraps as a uvarint and decodes right in Go's
 * reader and ours, though the format asks for no overlap at all.  The index wants series sorted by labels and chunk
 * references increasing with them; when series were added out of order
 * (or one series twice) finish copies the chunks into new segments in
 * label order first.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
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

struct segw {
	int fd;
	uint32_t seq;           /* number of the open segment, from 0 */
	uint64_t pos;
	uint8_t *buf;
	size_t blen;
	char dir[PATH_MAX + 64];
};

struct tsdb_block_writer {
	char parent[PATH_MAX], tmp[PATH_MAX + 64];
	char id[27];
	struct tsdb_strtab tab;
	struct ob_arena arena;          /* series, label ids, chunk metas */
	struct tsdb_wseries **series;
	size_t nseries, cap;
	struct segw seg;
	bool unsorted;
	uint64_t nsamples, nchunks;
	int64_t mint, maxt;
};

#define SEG_BUF (1u << 20)

uint64_t tsdb_segment_max = TSDB_SEGMENT_MAX;

static enum ob_err seg_flush(struct segw *s, char *errbuf)
{
	size_t off = 0;
	while (off < s->blen) {
		ssize_t n = write(s->fd, s->buf + off, s->blen - off);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			return ob_errf(errbuf, OB_EIO, "write chunks in %s: %s", s->dir,
				       strerror(n < 0 ? errno : EIO));
		off += (size_t)n;
	}
	s->blen = 0;
	return OB_OK;
}

static enum ob_err seg_close(struct segw *s, char *errbuf)
{
	enum ob_err err = OB_OK;
	if (s->fd < 0)
		return OB_OK;
	if (!(err = seg_flush(s, errbuf)) && fsync(s->fd) != 0)
		err = ob_errf(errbuf, OB_EIO, "fsync chunks in %s: %s", s->dir, strerror(errno));
	close(s->fd);
	s->fd = -1;
	s->seq++;
	return err;
}

static enum ob_err seg_open(struct segw *s, char *errbuf)
{
	char path[PATH_MAX + 96];
	snprintf(path, sizeof path, "%s/%06u", s->dir, s->seq + 1);
	s->fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (s->fd < 0)
		return ob_errf(errbuf, OB_EIO, "create %s: %s", path, strerror(errno));
	uint8_t head[TSDB_CHUNKS_HEADER] = {0};
	ob_put_be32(head, TSDB_CHUNKS_MAGIC);
	head[4] = TSDB_CHUNKS_V1;
	memcpy(s->buf, head, sizeof head);
	s->blen = sizeof head;
	s->pos = sizeof head;
	return OB_OK;
}

static void seg_init(struct segw *s, const char *dir)
{
	memset(s, 0, sizeof *s);
	s->fd = -1;
	s->buf = ob_xmalloc(SEG_BUF);
	size_t n = strlen(dir);
	if (n >= sizeof s->dir)
		n = sizeof s->dir - 1;
	memcpy(s->dir, dir, n);
	s->dir[n] = 0;
}

/* Append one chunk record; *ref gets its reference. */
static enum ob_err seg_put(struct segw *s, uint8_t enc, const uint8_t *data, size_t len,
			   uint64_t *ref, char *errbuf)
{
	enum ob_err err;
	uint8_t pre[OB_VARINT_MAX + 1];
	size_t np = ob_put_uvarint(pre, len);
	pre[np++] = enc;
	uint64_t need = np + len + 4;
	if (s->fd >= 0 && s->pos > TSDB_CHUNKS_HEADER && s->pos + need > tsdb_segment_max &&
	    (err = seg_close(s, errbuf)))
		return err;
	if (s->fd < 0 && (err = seg_open(s, errbuf)))
		return err;
	*ref = (uint64_t)s->seq << 32 | s->pos;
	uint8_t crc[4];
	ob_put_be32(crc, ob_crc32c(ob_crc32c(0, &enc, 1), data, len));
	const uint8_t *parts[3] = {pre, data, crc};
	size_t lens[3] = {np, len, 4};
	for (int i = 0; i < 3; i++) {
		const uint8_t *p = parts[i];
		size_t n = lens[i];
		while (n) {
			if (s->blen == SEG_BUF && (err = seg_flush(s, errbuf)))
				return err;
			size_t k = SEG_BUF - s->blen < n ? SEG_BUF - s->blen : n;
			memcpy(s->buf + s->blen, p, k);
			s->blen += k;
			p += k;
			n -= k;
		}
	}
	s->pos += need;
	return OB_OK;
}

static int rm_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
	(void)st;
	(void)flag;
	(void)ftw;
	remove(path);
	return 0;
}

static void rm_tree(const char *dir)
{
	nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
}

static enum ob_err fsync_path(const char *path, char *errbuf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return ob_errf(errbuf, OB_EIO, "open %s: %s", path, strerror(errno));
	int rc = fsync(fd);
	int e = errno;
	close(fd);
	if (rc != 0)
		return ob_errf(errbuf, OB_EIO, "fsync %s: %s", path, strerror(e));
	return OB_OK;
}

enum ob_err tsdb_block_writer_new(const char *parent_dir, const char *id,
				  struct tsdb_block_writer **out, char *errbuf)
{
	enum ob_err err;
	*out = NULL;
	if (strlen(id) != 26 || !ob_ulid_ns(id))
		return ob_errf(errbuf, OB_EINVAL, "block id %s is not a ULID", id);
	if ((err = ob_mkdirs(parent_dir, errbuf)))
		return err;
	struct tsdb_block_writer *w = ob_xcalloc(1, sizeof *w);
	snprintf(w->parent, sizeof w->parent, "%s", parent_dir);
	memcpy(w->id, id, 27);
	snprintf(w->tmp, sizeof w->tmp, "%s/%s.tmp", parent_dir, id);
	char final[PATH_MAX + 32], chunks[PATH_MAX + 80];
	snprintf(final, sizeof final, "%s/%s", parent_dir, id);
	struct stat st;
	if (stat(final, &st) == 0) {
		free(w);
		return ob_errf(errbuf, OB_EINVAL, "block %s exists already", final);
	}
	rm_tree(w->tmp); /* what a crash left */
	snprintf(chunks, sizeof chunks, "%s/chunks", w->tmp);
	if (mkdir(w->tmp, 0755) != 0 || mkdir(chunks, 0755) != 0) {
		err = ob_errf(errbuf, OB_EIO, "create %s: %s", chunks, strerror(errno));
		rm_tree(w->tmp);
		free(w);
		return err;
	}
	tsdb_strtab_init(&w->tab);
	ob_arena_init(&w->arena, 0);
	seg_init(&w->seg, chunks);
	w->mint = INT64_MAX;
	w->maxt = INT64_MIN;
	*out = w;
	return OB_OK;
}

void tsdb_block_writer_abort(struct tsdb_block_writer *w)
{
	if (!w)
		return;
	if (w->seg.fd >= 0)
		close(w->seg.fd);
	free(w->seg.buf);
	rm_tree(w->tmp);
	tsdb_strtab_release(&w->tab);
	ob_arena_release(&w->arena);
	free(w->series);
	free(w);
}

/* Prometheus's order of label sets: pair by pair, name then value; shorter first. */
static int cmp_series(const struct tsdb_strtab *t, const struct tsdb_wseries *a,
		      const struct tsdb_wseries *b)
{
	uint32_t n = a->nlab < b->nlab ? a->nlab : b->nlab;
	for (uint32_t i = 0; i < 2 * n; i++) {
		if (a->lab[i] == b->lab[i])
			continue;
		int c = strcmp(t->str[a->lab[i]], t->str[b->lab[i]]);
		if (c)
			return c;
	}
	return a->nlab < b->nlab ? -1 : a->nlab > b->nlab;
}

static int cmp_series_r(const void *a, const void *b, void *arg)
{
	return cmp_series(arg, *(struct tsdb_wseries *const *)a, *(struct tsdb_wseries *const *)b);
}

enum ob_err tsdb_block_writer_add(struct tsdb_block_writer *w, const struct series_labels *ls,
				  struct tsdb_chunk *chunks, size_t nchunks, char *errbuf)
{
	enum ob_err err = OB_OK;
	struct tsdb_wseries *s = ob_arena_alloc(&w->arena, sizeof *s);
	uint32_t *lab = ob_arena_alloc(&w->arena, (2 * ls->n + 1) * sizeof *lab);
	struct tsdb_wchunk *wc = ob_arena_alloc(&w->arena, (nchunks + 1) * sizeof *wc);
	if (!s || !lab || !wc)
		abort(); /* unbounded arena: out of memory */
	/* labels: drop empty values, keep them sorted by name */
	uint32_t n = 0;
	for (size_t i = 0; i < ls->n; i++) {
		if (!ls->v[i].value || !*ls->v[i].value)
			continue;
		const char *name = ls->v[i].name;
		uint32_t j = n;
		while (j > 0 && strcmp(w->tab.str[lab[2 * (j - 1)]], name) > 0) {
			lab[2 * j] = lab[2 * (j - 1)];
			lab[2 * j + 1] = lab[2 * (j - 1) + 1];
			j--;
		}
		lab[2 * j] = tsdb_strtab_intern(&w->tab, name);
		lab[2 * j + 1] = tsdb_strtab_intern(&w->tab, ls->v[i].value);
		n++;
	}
	s->lab = lab;
	s->nlab = n;
	s->chunks = wc;
	s->nchunks = 0;
	int64_t last[2] = {INT64_MIN, INT64_MIN}; /* float, histogram */
	for (size_t i = 0; i < nchunks; i++) {
		struct tsdb_chunk *c = &chunks[i];
		if (c->nsamples == 0)
			continue;
		int kind = c->enc != TSDB_ENC_XOR;
		if (c->mint <= last[kind] || (s->nchunks && c->mint < wc[s->nchunks - 1].mint)) {
			err = ob_errf(errbuf, OB_EINVAL,
				      "series chunks overlap or are out of order (%lld after %lld)",
				      (long long)c->mint, (long long)last[kind]);
			break;
		}
		last[kind] = c->maxt;
		struct tsdb_wchunk *m = &wc[s->nchunks];
		if ((err = seg_put(&w->seg, c->enc, c->data, c->len, &m->ref, errbuf)))
			break;
		m->mint = c->mint;
		m->maxt = c->maxt;
		m->nsamples = c->nsamples;
		m->enc = c->enc;
		s->nchunks++;
		w->nsamples += c->nsamples;
		w->nchunks++;
		if (c->mint < w->mint)
			w->mint = c->mint;
		if (c->maxt > w->maxt)
			w->maxt = c->maxt;
	}
	for (size_t i = 0; i < nchunks; i++)
		tsdb_chunk_release(&chunks[i]);
	if (err)
		return err;
	if (w->nseries && cmp_series(&w->tab, w->series[w->nseries - 1], s) >= 0)
		w->unsorted = true;
	if (w->nseries == w->cap) {
		w->cap = w->cap ? w->cap * 2 : 1024;
		w->series = ob_xrealloc(w->series, w->cap * sizeof *w->series);
	}
	w->series[w->nseries++] = s;
	return OB_OK;
}

static int cmp_wchunk(const void *a, const void *b)
{
	int64_t x = ((const struct tsdb_wchunk *)a)->mint, y = ((const struct tsdb_wchunk *)b)->mint;
	return x < y ? -1 : x > y;
}

/* Sort the series; fold a series added twice into one. */
static enum ob_err sort_series(struct tsdb_block_writer *w, char *errbuf)
{
	if (!w->unsorted)
		return OB_OK;
	qsort_r(w->series, w->nseries, sizeof *w->series, cmp_series_r, &w->tab);
	size_t k = 0;
	for (size_t i = 0; i < w->nseries; i++) {
		struct tsdb_wseries *s = w->series[i];
		if (k && cmp_series(&w->tab, w->series[k - 1], s) == 0) {
			struct tsdb_wseries *d = w->series[k - 1];
			struct tsdb_wchunk *m = ob_arena_alloc(
				&w->arena, (d->nchunks + s->nchunks + 1) * sizeof *m);
			if (!m)
				abort();
			memcpy(m, d->chunks, d->nchunks * sizeof *m);
			memcpy(m + d->nchunks, s->chunks, s->nchunks * sizeof *m);
			d->nchunks += s->nchunks;
			d->chunks = m;
			qsort(m, d->nchunks, sizeof *m, cmp_wchunk);
			int64_t last[2] = {INT64_MIN, INT64_MIN};
			for (uint32_t c = 0; c < d->nchunks; c++) {
				int kind = m[c].enc != TSDB_ENC_XOR;
				if (m[c].mint <= last[kind])
					return ob_errf(errbuf, OB_EINVAL,
						       "a series added twice with overlapping chunks");
				last[kind] = m[c].maxt;
			}
			continue;
		}
		w->series[k++] = s;
	}
	w->nseries = k;
	return OB_OK;
}

/* Copy every chunk into new segments in series order (chunks.old -> chunks). */
static enum ob_err rewrite_chunks(struct tsdb_block_writer *w, char *errbuf)
{
	enum ob_err err = OB_OK;
	char old[PATH_MAX + 128];
	snprintf(old, sizeof old, "%s/chunks.old", w->tmp);
	if (rename(w->seg.dir, old) != 0 || mkdir(w->seg.dir, 0755) != 0)
		return ob_errf(errbuf, OB_EIO, "rename %s: %s", w->seg.dir, strerror(errno));
	uint32_t nseg = w->seg.seq;
	const uint8_t **maps = ob_xcalloc(nseg + 1, sizeof *maps);
	size_t *sizes = ob_xcalloc(nseg + 1, sizeof *sizes);
	for (uint32_t i = 0; i < nseg && !err; i++) {
		char path[PATH_MAX + 160];
		snprintf(path, sizeof path, "%s/%06u", old, i + 1);
		int fd = open(path, O_RDONLY | O_CLOEXEC);
		struct stat st;
		if (fd < 0 || fstat(fd, &st) != 0) {
			err = ob_errf(errbuf, OB_EIO, "open %s: %s", path, strerror(errno));
		} else {
			sizes[i] = (size_t)st.st_size;
			void *m = mmap(NULL, sizes[i], PROT_READ, MAP_PRIVATE, fd, 0);
			if (m == MAP_FAILED)
				err = ob_errf(errbuf, OB_EIO, "mmap %s: %s", path, strerror(errno));
			else
				maps[i] = m;
		}
		if (fd >= 0)
			close(fd);
	}
	struct segw ns;
	seg_init(&ns, w->seg.dir);
	for (size_t i = 0; i < w->nseries && !err; i++) {
		struct tsdb_wseries *s = w->series[i];
		for (uint32_t c = 0; c < s->nchunks && !err; c++) {
			uint32_t seq = (uint32_t)(s->chunks[c].ref >> 32);
			uint64_t off = (uint32_t)s->chunks[c].ref;
			uint64_t len = 0;
			const uint8_t *p = maps[seq] + off;
			size_t n = ob_get_uvarint(p, maps[seq] + sizes[seq], &len);
			err = seg_put(&ns, p[n], p + n + 1, len, &s->chunks[c].ref, errbuf);
		}
	}
	if (!err)
		err = seg_close(&ns, errbuf);
	else if (ns.fd >= 0)
		close(ns.fd);
	free(ns.buf);
	for (uint32_t i = 0; i < nseg; i++)
		if (maps[i])
			munmap((void *)maps[i], sizes[i]);
	free(maps);
	free(sizes);
	rm_tree(old);
	return err;
}

static enum ob_err write_file(const char *path, const void *p, size_t n, char *errbuf)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	if (fd < 0)
		return ob_errf(errbuf, OB_EIO, "create %s: %s", path, strerror(errno));
	ssize_t k = write(fd, p, n);
	int e = errno;
	if (k != (ssize_t)n || fsync(fd) != 0) {
		close(fd);
		return ob_errf(errbuf, OB_EIO, "write %s: %s", path, strerror(k < 0 ? e : errno));
	}
	if (close(fd) != 0)
		return ob_errf(errbuf, OB_EIO, "close %s: %s", path, strerror(errno));
	return OB_OK;
}

enum ob_err tsdb_block_writer_finish(struct tsdb_block_writer *w,
				     const struct tsdb_block_meta *meta, char *errbuf)
{
	enum ob_err err;
	char path[PATH_MAX + 128];
	char *json = NULL;
	if ((err = seg_close(&w->seg, errbuf)) || (err = sort_series(w, errbuf)))
		goto out;
	if (w->unsorted && (err = rewrite_chunks(w, errbuf)))
		goto out;
	snprintf(path, sizeof path, "%s/index", w->tmp);
	if ((err = tsdb_index_write(path, &w->tab, w->series, w->nseries, errbuf)))
		goto out;

	struct tsdb_block_meta m = {0};
	if (meta)
		m = *meta;
	memcpy(m.ulid, w->id, 27);
	if (m.min_time == 0 && m.max_time == 0) {
		m.min_time = w->nchunks ? w->mint : 0;
		m.max_time = w->nchunks ? w->maxt + 1 : 0;
	}
	m.num_series = w->nseries;
	m.num_chunks = w->nchunks;
	m.num_samples = w->nsamples;
	if (m.level <= 0)
		m.level = 1;
	if (!(json = tsdb_meta_format(&m, errbuf))) {
		err = OB_EINVAL;
		goto out;
	}
	snprintf(path, sizeof path, "%s/meta.json", w->tmp);
	if ((err = write_file(path, json, strlen(json), errbuf)))
		goto out;
	uint8_t tomb[9] = {0};
	ob_put_be32(tomb, TSDB_TOMBSTONES_MAGIC);
	tomb[4] = 1;
	snprintf(path, sizeof path, "%s/tombstones", w->tmp);
	if ((err = write_file(path, tomb, sizeof tomb, errbuf)) ||
	    (err = fsync_path(w->seg.dir, errbuf)) || (err = fsync_path(w->tmp, errbuf)))
		goto out;
	snprintf(path, sizeof path, "%s/%s", w->parent, w->id);
	if (rename(w->tmp, path) != 0) {
		err = ob_errf(errbuf, OB_EIO, "rename %s to %s: %s", w->tmp, path, strerror(errno));
		goto out;
	}
	err = fsync_path(w->parent, errbuf);
out:
	free(json);
	tsdb_block_writer_abort(w); /* frees; the tmp dir is gone or renamed */
	return err;
}
