/*
 * block.c - writing and reading sealed block files (format in block.h).
 *
 * The writer gathers traces into a frame buffer and compresses it as one
 * zstd frame when it passes BLOCK_FRAME_TARGET: large frames compress
 * several times better than per-trace frames, and the per-trace index
 * keeps a lookup to one frame's decompression.  The file is written under
 * its final name with O_EXCL and fsynced before the database records it;
 * a crash before that leaves an orphan that store_open removes.
 */
#include "store/block.h"

#include <errno.h>
#include <stdbool.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <openssl/evp.h>
#include <zstd.h>

#include "core/endian.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/varint.h"

#define SKIP_SUMMARY 0x184D2A5Du
#define SKIP_INDEX 0x184D2A5Eu
#define SKIP_FOOTER 0x184D2A5Fu
#define TRACE_ENTRY 48
#define FRAME_ENTRY 16

struct block_writer {
	int fd;
	char *path;
	int level;
	ZSTD_CCtx *cctx;
	struct ob_buf frame;     /* uncompressed frame being filled */
	struct ob_buf out;       /* compressed frame */
	uint64_t file_off;
	struct block_index ix;
	size_t traces_alloc, frames_alloc;
	EVP_MD_CTX *sha;
	/* summaries (block_writer_summary), encoded in the order added */
	struct ob_buf sum;
	struct sum_ref {
		uint8_t id[16];
		uint32_t off, len;
	} *refs;
	size_t nrefs, refs_alloc;
	char **names;
	size_t nnames;
	bool sum_bad;            /* a trace without one: no summary frame */
};

void
block_index_release(struct block_index *ix)
{
	free(ix->frames);
	free(ix->traces);
	memset(ix, 0, sizeof *ix);
}

static enum ob_err
write_all(struct block_writer *w, const void *p, size_t n, char *errbuf)
{
	const uint8_t *b = p;

	EVP_DigestUpdate(w->sha, p, n);
	while (n) {
		ssize_t r = write(w->fd, b, n);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0)
			return ob_errf(errbuf, ob_err_of_errno(errno), "writing block %s: %s", w->path,
				       strerror(errno));
		b += r;
		n -= (size_t)r;
		w->file_off += (uint64_t)r;
	}
	return OB_OK;
}

enum ob_err
block_writer_new(const char *path, const char *origin, int level, struct block_writer **out,
		 char *errbuf)
{
	struct block_writer *w = ob_xcalloc(1, sizeof *w);

	w->fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0644);
	if (w->fd < 0) {
		enum ob_err err = ob_errf(errbuf, ob_err_of_errno(errno), "creating block %s: %s", path,
					  strerror(errno));
		free(w);
		return err;
	}
	w->path = ob_xstrdup(path);
	w->level = level;
	w->cctx = ZSTD_createCCtx();
	ob_buf_init(&w->frame, 0);
	ob_buf_init(&w->out, 0);
	snprintf(w->ix.origin, sizeof w->ix.origin, "%s", origin ? origin : "");
	w->ix.min_ns = UINT64_MAX;
	w->sha = EVP_MD_CTX_new();
	EVP_DigestInit_ex(w->sha, EVP_sha256(), NULL);
	ob_buf_init(&w->sum, 0);
	*out = w;
	return OB_OK;
}

static enum ob_err
flush_frame(struct block_writer *w, char *errbuf)
{
	size_t bound, n;
	uint8_t *dst;
	struct block_frame *f;
	enum ob_err err;

	if (w->frame.len == 0)
		return OB_OK;
	bound = ZSTD_compressBound(w->frame.len);
	ob_buf_reset(&w->out);
	ob_buf_reserve(&w->out, bound, &dst);
	n = ZSTD_compressCCtx(w->cctx, dst, bound, w->frame.data, w->frame.len, w->level);
	if (ZSTD_isError(n))
		return ob_errf(errbuf, OB_EINTERNAL, "zstd: %s", ZSTD_getErrorName(n));
	if (w->ix.nframes == w->frames_alloc) {
		w->frames_alloc = w->frames_alloc ? 2 * w->frames_alloc : 16;
		w->ix.frames = ob_xrealloc(w->ix.frames, w->frames_alloc * sizeof *w->ix.frames);
	}
	f = &w->ix.frames[w->ix.nframes++];
	f->file_off = w->file_off;
	f->comp_len = (uint32_t)n;
	f->raw_len = (uint32_t)w->frame.len;
	if ((err = write_all(w, dst, n, errbuf)))
		return err;
	ob_buf_reset(&w->frame);
	return OB_OK;
}

enum ob_err
block_writer_add(struct block_writer *w, const uint8_t trace_id[16], const uint8_t *data,
		 size_t len, uint32_t nspans, uint64_t start_ns, uint64_t end_ns, char *errbuf)
{
	struct block_trace *t;
	enum ob_err err;

	if (len > UINT32_MAX / 2)
		return ob_errf(errbuf, OB_ETOOBIG, "trace of %zu bytes is too big for a block", len);
	if (w->frame.len && w->frame.len + len > BLOCK_FRAME_TARGET &&
	    (err = flush_frame(w, errbuf)))
		return err;
	if (w->ix.ntraces == w->traces_alloc) {
		w->traces_alloc = w->traces_alloc ? 2 * w->traces_alloc : 256;
		w->ix.traces = ob_xrealloc(w->ix.traces, w->traces_alloc * sizeof *w->ix.traces);
	}
	t = &w->ix.traces[w->ix.ntraces++];
	memcpy(t->trace_id, trace_id, 16);
	t->frame = (uint32_t)w->ix.nframes;
	t->offset = (uint32_t)w->frame.len;
	t->length = (uint32_t)len;
	t->nspans = nspans;
	t->start_ns = start_ns;
	t->end_ns = end_ns;
	if (start_ns < w->ix.min_ns)
		w->ix.min_ns = start_ns;
	if (end_ns > w->ix.max_ns)
		w->ix.max_ns = end_ns;
	w->ix.nspans += nspans;
	ob_buf_add(&w->frame, data, len);
	return OB_OK;
}

void
block_writer_summary(struct block_writer *w, uint32_t nerrors, const struct block_service *sv,
		     size_t n)
{
	uint8_t tmp[3 * OB_VARINT_MAX], *p;
	struct sum_ref *r;
	size_t i, k;

	if (w->sum_bad || w->ix.ntraces != w->nrefs + 1) {
		w->sum_bad = true;   /* not the trace added last: give up on the frame */
		return;
	}
	if (w->nrefs == w->refs_alloc) {
		w->refs_alloc = w->refs_alloc ? 2 * w->refs_alloc : 256;
		w->refs = ob_xrealloc(w->refs, w->refs_alloc * sizeof *w->refs);
	}
	r = &w->refs[w->nrefs++];
	memcpy(r->id, w->ix.traces[w->ix.ntraces - 1].trace_id, 16);
	r->off = (uint32_t)w->sum.len;
	p = tmp;
	p += ob_put_uvarint(p, nerrors);
	p += ob_put_uvarint(p, n);
	ob_buf_add(&w->sum, tmp, (size_t)(p - tmp));
	for (i = 0; i < n; i++) {
		const char *name = sv[i].service ? sv[i].service : "";

		for (k = 0; k < w->nnames; k++)
			if (strcmp(w->names[k], name) == 0)
				break;
		if (k == w->nnames) {
			if (strlen(name) > UINT16_MAX) {
				w->sum_bad = true;
				return;
			}
			w->names = ob_xrealloc(w->names, (w->nnames + 1) * sizeof *w->names);
			w->names[w->nnames++] = ob_xstrdup(name);
		}
		p = tmp;
		p += ob_put_uvarint(p, k);
		p += ob_put_uvarint(p, sv[i].max_duration_ns);
		p += ob_put_uvarint(p, sv[i].errors);
		ob_buf_add(&w->sum, tmp, (size_t)(p - tmp));
	}
	r->len = (uint32_t)(w->sum.len - r->off);
	if (w->sum.len > BLOCK_MAX_INDEX)
		w->sum_bad = true;
}

static int
cmp_ref(const void *a, const void *b)
{
	return memcmp(((const struct sum_ref *)a)->id, ((const struct sum_ref *)b)->id, 16);
}

/* The summary frame (layout in block.h), if every trace has a summary. */
static enum ob_err
write_summaries(struct block_writer *w, char *errbuf)
{
	struct ob_buf raw, b;
	uint8_t *p;
	size_t i, need = 0, bound, n;
	enum ob_err err;

	if (w->sum_bad || w->nrefs != w->ix.ntraces || w->ix.ntraces == 0)
		return OB_OK;
	for (i = 0; i < w->nnames; i++)
		need += 2 + strlen(w->names[i]);
	if (need + w->sum.len > BLOCK_MAX_INDEX)
		return OB_OK;
	qsort(w->refs, w->nrefs, sizeof *w->refs, cmp_ref);
	/* the payload: names, then the entries in index order */
	ob_buf_init(&raw, 0);
	ob_buf_reserve(&raw, need + w->sum.len, &p);
	for (i = 0; i < w->nnames; i++) {
		size_t l = strlen(w->names[i]);

		ob_put_le16(p, (uint16_t)l);
		memcpy(p + 2, w->names[i], l);
		p += 2 + l;
	}
	for (i = 0; i < w->nrefs; i++) {
		memcpy(p, w->sum.data + w->refs[i].off, w->refs[i].len);
		p += w->refs[i].len;
	}
	raw.len = (size_t)(p - raw.data);
	bound = ZSTD_compressBound(raw.len);
	ob_buf_init(&b, 0);
	ob_buf_reserve(&b, 28 + bound, &p);
	n = ZSTD_compressCCtx(w->cctx, p + 28, bound, raw.data, raw.len, w->level);
	if (ZSTD_isError(n)) {
		ob_buf_release(&raw);
		ob_buf_release(&b);
		return ob_errf(errbuf, OB_EINTERNAL, "zstd: %s", ZSTD_getErrorName(n));
	}
	ob_put_le32(p, SKIP_SUMMARY);
	ob_put_le32(p + 4, (uint32_t)(20 + n));
	memcpy(p + 8, "OBXS", 4);
	ob_put_le32(p + 12, 2);
	ob_put_le32(p + 16, (uint32_t)w->ix.ntraces);
	ob_put_le32(p + 20, (uint32_t)w->nnames);
	ob_put_le32(p + 24, (uint32_t)raw.len);
	b.len = 28 + n;
	err = write_all(w, b.data, b.len, errbuf);
	ob_buf_release(&raw);
	ob_buf_release(&b);
	return err;
}

static int
cmp_trace(const void *a, const void *b)
{
	return memcmp(((const struct block_trace *)a)->trace_id,
		      ((const struct block_trace *)b)->trace_id, 16);
}

static void
writer_free(struct block_writer *w)
{
	if (w->fd >= 0)
		close(w->fd);
	ZSTD_freeCCtx(w->cctx);
	ob_buf_release(&w->frame);
	ob_buf_release(&w->out);
	EVP_MD_CTX_free(w->sha);
	ob_buf_release(&w->sum);
	free(w->refs);
	for (size_t i = 0; i < w->nnames; i++)
		free(w->names[i]);
	free(w->names);
	free(w->path);
	free(w);
}

enum ob_err
block_writer_finish(struct block_writer *w, struct block_index *ix, char sha256_hex[65],
		    uint64_t *file_bytes, char *errbuf)
{
	struct ob_buf b;
	size_t olen = strlen(w->ix.origin), i;
	uint8_t *p, footer[16], digest[32];
	uint64_t index_off;
	unsigned dlen = 0;
	enum ob_err err;

	if ((err = flush_frame(w, errbuf)))
		goto fail;
	if (w->ix.ntraces == 0)
		w->ix.min_ns = 0;
	if ((err = write_summaries(w, errbuf)))
		goto fail;
	qsort(w->ix.traces, w->ix.ntraces, sizeof *w->ix.traces, cmp_trace);
	ob_buf_init(&b, 0);
	ob_buf_reserve(&b, 50 + olen + FRAME_ENTRY * w->ix.nframes + TRACE_ENTRY * w->ix.ntraces, &p);
	ob_put_le32(p, SKIP_INDEX);
	/* length filled below */
	memcpy(p + 8, "OBXI", 4);
	ob_put_le32(p + 12, BLOCK_VERSION);
	ob_put_le32(p + 16, (uint32_t)w->ix.nframes);
	ob_put_le32(p + 20, (uint32_t)w->ix.ntraces);
	ob_put_le64(p + 24, w->ix.min_ns);
	ob_put_le64(p + 32, w->ix.max_ns);
	ob_put_le64(p + 40, w->ix.nspans);
	ob_put_le16(p + 48, (uint16_t)olen);
	memcpy(p + 50, w->ix.origin, olen);
	p += 50 + olen;
	for (i = 0; i < w->ix.nframes; i++, p += FRAME_ENTRY) {
		ob_put_le64(p, w->ix.frames[i].file_off);
		ob_put_le32(p + 8, w->ix.frames[i].comp_len);
		ob_put_le32(p + 12, w->ix.frames[i].raw_len);
	}
	for (i = 0; i < w->ix.ntraces; i++, p += TRACE_ENTRY) {
		const struct block_trace *t = &w->ix.traces[i];

		memcpy(p, t->trace_id, 16);
		ob_put_le32(p + 16, t->frame);
		ob_put_le32(p + 20, t->offset);
		ob_put_le32(p + 24, t->length);
		ob_put_le32(p + 28, t->nspans);
		ob_put_le64(p + 32, t->start_ns);
		ob_put_le64(p + 40, t->end_ns);
	}
	b.len = (size_t)(p - b.data);
	ob_put_le32(b.data + 4, (uint32_t)(b.len - 8));
	index_off = w->file_off;
	err = write_all(w, b.data, b.len, errbuf);
	ob_buf_release(&b);
	if (err)
		goto fail;
	ob_put_le32(footer, SKIP_FOOTER);
	ob_put_le32(footer + 4, 8);
	ob_put_le64(footer + 8, index_off);
	if ((err = write_all(w, footer, sizeof footer, errbuf)))
		goto fail;
	if (fsync(w->fd) != 0) {
		err = ob_errf(errbuf, ob_err_of_errno(errno), "fsync %s: %s", w->path, strerror(errno));
		goto fail;
	}
	EVP_DigestFinal_ex(w->sha, digest, &dlen);
	ob_hex_encode(digest, 32, sha256_hex);
	*file_bytes = w->file_off;
	*ix = w->ix;
	memset(&w->ix, 0, sizeof w->ix);
	writer_free(w);
	return OB_OK;
fail:
	block_writer_abort(w);
	return err;
}

void
block_writer_abort(struct block_writer *w)
{
	if (w == NULL)
		return;
	unlink(w->path);
	block_index_release(&w->ix);
	writer_free(w);
}

static enum ob_err
pread_all(int fd, void *p, size_t n, uint64_t off)
{
	uint8_t *b = p;

	while (n) {
		ssize_t r = pread(fd, b, n, (off_t)off);

		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return r == 0 ? OB_ECORRUPT : OB_EIO;
		b += r;
		n -= (size_t)r;
		off += (uint64_t)r;
	}
	return OB_OK;
}

enum ob_err
block_index_read(const char *path, struct block_index *ix, char *errbuf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	uint8_t footer[16], *b = NULL, *p, *end;
	uint64_t size, index_off;
	uint32_t len, nframes, ntraces, i;
	struct stat st;
	enum ob_err err = OB_OK;
	size_t olen;

	memset(ix, 0, sizeof *ix);
	if (fd < 0)
		return ob_errf(errbuf, errno == ENOENT ? OB_ENOTFOUND : OB_EIO, "%s: %s", path,
			       strerror(errno));
	if (fstat(fd, &st) != 0 || st.st_size < 16 + 58) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: too short to be a block", path);
		goto out;
	}
	size = (uint64_t)st.st_size;
	if (pread_all(fd, footer, 16, size - 16) || ob_get_le32(footer) != SKIP_FOOTER ||
	    ob_get_le32(footer + 4) != 8) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: no block footer", path);
		goto out;
	}
	index_off = ob_get_le64(footer + 8);
	if (index_off > size - 16 - 58 || size - 16 - index_off > BLOCK_MAX_INDEX) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: bad index offset", path);
		goto out;
	}
	len = (uint32_t)(size - 16 - index_off);
	b = ob_xmalloc(len);
	if (pread_all(fd, b, len, index_off) || ob_get_le32(b) != SKIP_INDEX ||
	    ob_get_le32(b + 4) != len - 8 || memcmp(b + 8, "OBXI", 4) != 0) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: bad index frame", path);
		goto out;
	}
	if (ob_get_le32(b + 12) != BLOCK_VERSION) {
		err = ob_errf(errbuf, OB_EUNSUPPORTED, "%s: block format version %u is not %d",
			      path, ob_get_le32(b + 12), BLOCK_VERSION);
		goto out;
	}
	nframes = ob_get_le32(b + 16);
	ntraces = ob_get_le32(b + 20);
	ix->min_ns = ob_get_le64(b + 24);
	ix->max_ns = ob_get_le64(b + 32);
	ix->nspans = ob_get_le64(b + 40);
	olen = ob_get_le16(b + 48);
	end = b + len;
	if (olen >= sizeof ix->origin || 50 + olen > len ||
	    (uint64_t)nframes * FRAME_ENTRY + (uint64_t)ntraces * TRACE_ENTRY != len - 50 - olen) {
		err = ob_errf(errbuf, OB_ECORRUPT, "%s: index sizes do not add up", path);
		goto out;
	}
	memcpy(ix->origin, b + 50, olen);
	ix->origin[olen] = 0;
	p = b + 50 + olen;
	ix->nframes = nframes;
	ix->ntraces = ntraces;
	ix->frames = ob_xcalloc(nframes, sizeof *ix->frames);
	ix->traces = ob_xcalloc(ntraces, sizeof *ix->traces);
	for (i = 0; i < nframes; i++, p += FRAME_ENTRY) {
		struct block_frame *f = &ix->frames[i];

		f->file_off = ob_get_le64(p);
		f->comp_len = ob_get_le32(p + 8);
		f->raw_len = ob_get_le32(p + 12);
		if (f->file_off > index_off || f->comp_len > index_off - f->file_off) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: frame %u out of bounds", path, i);
			goto out;
		}
		/* blocks come from other machines too: never trust a size into a malloc */
		if (f->raw_len > BLOCK_MAX_FRAME) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: frame %u claims %u bytes", path, i,
				      f->raw_len);
			goto out;
		}
	}
	for (i = 0; i < ntraces; i++, p += TRACE_ENTRY) {
		struct block_trace *t = &ix->traces[i];

		memcpy(t->trace_id, p, 16);
		t->frame = ob_get_le32(p + 16);
		t->offset = ob_get_le32(p + 20);
		t->length = ob_get_le32(p + 24);
		t->nspans = ob_get_le32(p + 28);
		t->start_ns = ob_get_le64(p + 32);
		t->end_ns = ob_get_le64(p + 40);
		if (t->frame >= nframes || t->offset > ix->frames[t->frame].raw_len ||
		    t->length > ix->frames[t->frame].raw_len - t->offset) {
			err = ob_errf(errbuf, OB_ECORRUPT, "%s: trace %u out of bounds", path, i);
			goto out;
		}
	}
	(void)end;
out:
	if (err)
		block_index_release(ix);
	free(b);
	close(fd);
	return err;
}

enum ob_err
block_frame_read(int fd, const struct block_frame *f, struct ob_buf *out, char *errbuf)
{
	uint8_t *comp = ob_xmalloc(f->comp_len ? f->comp_len : 1), *dst;
	size_t n;
	enum ob_err err;

	ob_buf_reset(out);
	if ((err = pread_all(fd, comp, f->comp_len, f->file_off))) {
		free(comp);
		return ob_errf(errbuf, err, "reading a block frame failed");
	}
	if ((err = ob_buf_reserve(out, f->raw_len, &dst))) {
		free(comp);
		return ob_errf(errbuf, err, "block frame too big");
	}
	n = ZSTD_decompress(dst, f->raw_len, comp, f->comp_len);
	free(comp);
	if (ZSTD_isError(n) || n != f->raw_len)
		return ob_errf(errbuf, OB_ECORRUPT, "block frame does not decompress: %s",
			       ZSTD_isError(n) ? ZSTD_getErrorName(n) : "wrong length");
	out->len = n;
	out->data[n] = 0;
	return OB_OK;
}

enum ob_err
block_file_sha256(const char *path, char hex[65], char *errbuf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	EVP_MD_CTX *ctx;
	uint8_t buf[65536], digest[32];
	unsigned dlen;
	ssize_t r;

	if (fd < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	ctx = EVP_MD_CTX_new();
	EVP_DigestInit_ex(ctx, EVP_sha256(), NULL);
	while ((r = read(fd, buf, sizeof buf)) > 0)
		EVP_DigestUpdate(ctx, buf, (size_t)r);
	close(fd);
	EVP_DigestFinal_ex(ctx, digest, &dlen);
	EVP_MD_CTX_free(ctx);
	if (r < 0)
		return ob_errf(errbuf, OB_EIO, "%s: %s", path, strerror(errno));
	ob_hex_encode(digest, 32, hex);
	return OB_OK;
}
