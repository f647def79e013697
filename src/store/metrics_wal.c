/*
 * metrics_wal.c - the metrics write-ahead log: its format, segments,
 * group commit, checkpoints (replay is in metrics_replay.c).
 *
 * Files (metrics/obwal/):
 *	00000001, 00000002 ...   segments, appended to, cut past wal_segment_bytes
 *	                         and at every seal
 *	checkpoint.N             written after a seal: a SEAL record (the floor,
 *	                         no blocks), SERIES records of every live series,
 *	                         one EXEMPLARS record of the ring; segments < N
 *	                         hold nothing below its floor that is not in a
 *	                         block
 *
 * A segment (and a checkpoint) is an 8-byte header "OBMWAL1\n" then records:
 *
 *	offset  size  field
 *	0       4     n: length of type + payload (LE uint32, at most 64 MiB)
 *	4       4     CRC-32C of bytes 8 .. 8+n (type and payload)
 *	8       1     type
 *	9       n-1   payload
 *
 * Payloads (uvarint / varint (zig-zag) as in Go; f64 is 8 bytes LE IEEE;
 * str is uvarint length + bytes):
 *
 *	1 SERIES   { ref uvarint, nlabels uvarint, { name str, value str }* }*
 *	2 SAMPLES  base_t varint, { ref_delta varint, t - base_t varint, v f64 }*
 *	           (ref_delta against the previous sample's ref, first against 0)
 *	3 HISTS    { ref uvarint, t varint, schema varint, flags u8 (1 is_int),
 *	             reset_hint u8, zero_threshold f64, zero_count f64, count f64,
 *	             sum f64, npos_spans uvarint, { offset varint, length uvarint }*,
 *	             npos uvarint, f64*, nneg_spans ..., nneg ..., ncustom uvarint,
 *	             f64* }*
 *	4 META     family str, type u8, help str, unit str
 *	5 SEAL     floor varint, nblocks uvarint, { ulid 26 bytes, mint varint,
 *	           maxt varint (exclusive), flags u8 (1 out of order) }*
 *	6 EXEMPLARS { ref uvarint, t varint, v f64, nlabels uvarint,
 *	             { name str, value str }* }*
 *
 * A type with the bit 0x80 set has a compressed payload: raw length
 * uvarint, then one zstd frame (level 1) of the payload above.  Samples
 * records of 512 bytes or more are compressed.
 *
 * A float sample costs about 11 bytes before compression (1 ref delta, 1-2
 * time delta, 8 value), 1-3 after (zstd finds the repeated times, refs
 * and values of a scrape); a series is logged once (when created, and in
 * each checkpoint).
 *
 * Group commit: callers queue framed records (mwal_enqueue, a memcpy under
 * the lock) and wait (mwal_wait); the first waiter finding no write in
 * progress takes everything queued, writes it with one write(2) (plus
 * fdatasync with opt.fsync) and wakes the others.  A failed write (disk
 * full) is cut off the segment, its waiters fail with OB_EIO, and its
 * bytes stay queued for the next write, so the log never has a hole or a
 * torn record in the middle; only when the cut fails too is the log
 * broken (every later wait fails).
 *
 * Replay is in metrics_replay.c.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <zstd.h>

#include "core/crc32c.h"
#include "core/fault.h"
#include "core/endian.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/varint.h"
#include "store/metrics_int.h"


/* --- encoding --- */

void
mwal_put_uvarint(struct ob_buf *b, uint64_t v)
{
	uint8_t *p;

	if (ob_buf_reserve(b, OB_VARINT_MAX, &p) == OB_OK)
		b->len += ob_put_uvarint(p, v);
}

void
mwal_put_varint(struct ob_buf *b, int64_t v)
{
	uint8_t *p;

	if (ob_buf_reserve(b, OB_VARINT_MAX, &p) == OB_OK)
		b->len += ob_put_varint(p, v);
}

void
mwal_put_f64(struct ob_buf *b, double v)
{
	uint8_t p[8];
	uint64_t bits;

	memcpy(&bits, &v, 8);
	ob_put_le64(p, bits);
	ob_buf_add(b, p, 8);
}

void
mwal_put_str(struct ob_buf *b, const char *s)
{
	size_t n = s ? strlen(s) : 0;

	mwal_put_uvarint(b, n);
	ob_buf_add(b, s ? s : "", n);
}

size_t
mwal_begin(struct ob_buf *b, uint8_t type)
{
	uint8_t hdr[REC_HDR + 1] = {0};
	size_t start = b->len;

	hdr[REC_HDR] = type;
	ob_buf_add(b, hdr, sizeof hdr);
	return start;
}

void
mwal_end(struct ob_buf *b, size_t start)
{
	uint8_t *p = b->data + start;
	size_t n = b->len - start - REC_HDR;

	ob_put_le32(p, (uint32_t)n);
	ob_put_le32(p + 4, ob_crc32c(0, p + REC_HDR, n));
}

#define COMPRESS_MIN 512

/* One compression context per appending thread, freed when the thread ends. */
static pthread_key_t cctx_key;
static pthread_once_t cctx_once = PTHREAD_ONCE_INIT;

static void
cctx_free(void *p)
{
	ZSTD_freeCCtx(p);
}

static void
cctx_key_init(void)
{
	pthread_key_create(&cctx_key, cctx_free);
}

void
mwal_compress(struct ob_buf *b, size_t start)
{
	ZSTD_CCtx *cctx;
	size_t raw = b->len - start - REC_HDR - 1, bound, got;
	uint8_t *tmp, *p;
	struct ob_buf out;

	if (raw < COMPRESS_MIN)
		return;
	pthread_once(&cctx_once, cctx_key_init);
	if (!(cctx = pthread_getspecific(cctx_key))) {
		if (!(cctx = ZSTD_createCCtx()))
			return;
		pthread_setspecific(cctx_key, cctx);
	}
	bound = ZSTD_compressBound(raw);
	tmp = ob_xmalloc(bound);
	got = ZSTD_compressCCtx(cctx, tmp, bound, b->data + start + REC_HDR + 1, raw, 1);
	if (ZSTD_isError(got) || got + OB_VARINT_MAX >= raw) {
		free(tmp);
		return;
	}
	ob_buf_init(&out, 0);
	ob_buf_reserve(&out, OB_VARINT_MAX, &p);
	out.len = ob_put_uvarint(p, raw);
	ob_buf_add(&out, tmp, got);
	free(tmp);
	b->data[start + REC_HDR] |= MWAL_ZSTD;
	b->len = start + REC_HDR + 1;
	ob_buf_add(b, out.data, out.len);
	ob_buf_release(&out);
	mwal_end(b, start);
}

void
mwal_encode_series(struct ob_buf *b, const struct mseries *s)
{
	mwal_put_uvarint(b, s->ref);
	mwal_put_uvarint(b, s->labels.n);
	for (size_t i = 0; i < s->labels.n; i++) {
		mwal_put_str(b, s->labels.v[i].name);
		mwal_put_str(b, s->labels.v[i].value);
	}
}

void
mwal_encode_meta(struct ob_buf *b, const struct series_meta *sm)
{
	mwal_put_str(b, sm->family);
	ob_buf_add(b, &sm->type, 1);
	mwal_put_str(b, sm->help);
	mwal_put_str(b, sm->unit);
}

static void
put_spans(struct ob_buf *b, const struct series_span *sp, size_t n)
{
	mwal_put_uvarint(b, n);
	for (size_t i = 0; i < n; i++) {
		mwal_put_varint(b, sp[i].offset);
		mwal_put_uvarint(b, sp[i].length);
	}
}

static void
put_f64s(struct ob_buf *b, const double *v, size_t n)
{
	mwal_put_uvarint(b, n);
	for (size_t i = 0; i < n; i++)
		mwal_put_f64(b, v[i]);
}

void
mwal_encode_hist(struct ob_buf *b, uint32_t ref, const struct series_histogram *h)
{
	uint8_t fl[2] = {h->is_int ? 1 : 0, h->reset_hint};

	mwal_put_uvarint(b, ref);
	mwal_put_varint(b, h->t);
	mwal_put_varint(b, h->schema);
	ob_buf_add(b, fl, 2);
	mwal_put_f64(b, h->zero_threshold);
	mwal_put_f64(b, h->zero_count);
	mwal_put_f64(b, h->count);
	mwal_put_f64(b, h->sum);
	put_spans(b, h->pos_spans, h->npos_spans);
	put_f64s(b, h->pos, h->npos);
	put_spans(b, h->neg_spans, h->nneg_spans);
	put_f64s(b, h->neg, h->nneg);
	put_f64s(b, h->custom_values, h->ncustom);
}

/* --- segments and group commit --- */

char *
mwal_seg_path(const struct mwal *w, uint32_t n)
{
	return ob_xasprintf("%s/%08u", w->dir, n);
}

static bool
write_all(int fd, const uint8_t *p, size_t n)
{
	while (n) {
		ssize_t k = write(fd, p, n);
		if (k < 0 && errno == EINTR)
			continue;
		if (k <= 0)
			return false;
		p += k;
		n -= (size_t)k;
	}
	return true;
}

static void
fsync_dir(const char *dir)
{
	int fd = open(dir, O_RDONLY | O_DIRECTORY);

	if (fd >= 0) {
		fsync(fd);
		close(fd);
	}
}

/* Close the current segment and start seg+1 (lock held, no write in flight). */
bool
mwal_cut_locked(struct mwal *w)
{
	char *path;
	int fd;

	if (w->fd >= 0) {
		if (w->fsync)
			fdatasync(w->fd);
		close(w->fd);
		w->fd = -1;
		if (w->nclosed == w->aclosed) {
			w->aclosed = w->aclosed ? w->aclosed * 2 : 16;
			w->closed = ob_xrealloc(w->closed, w->aclosed * sizeof *w->closed);
		}
		w->closed[w->nclosed++] =
			(struct mwal_seg){.n = w->seg, .maxt = w->seg_maxt, .bytes = w->seg_bytes};
	}
	w->seg++;
	path = mwal_seg_path(w, w->seg);
	/* O_APPEND: after a failed write is cut off, the next one follows on */
	fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || !write_all(fd, (const uint8_t *)WAL_MAGIC, WAL_HDR)) {
		ob_error("metrics wal: cannot start %s: %s", path, strerror(errno));
		if (fd >= 0)
			close(fd);
		free(path);
		w->broken = true;
		return false;
	}
	free(path);
	if (w->fsync)
		fsync_dir(w->dir);
	w->fd = fd;
	w->seg_bytes = WAL_HDR;
	w->seg_maxt = INT64_MIN;
	return true;
}

void
mwal_enqueue(struct mwal *w, const void *p, size_t n, int64_t maxt, uint64_t *seq)
{
	pthread_mutex_lock(&w->lock);
	if (n)
		ob_buf_add(&w->pending, p, n);
	w->queued += n;
	*seq = w->queued;
	if (maxt > w->pending_maxt)
		w->pending_maxt = maxt;
	pthread_mutex_unlock(&w->lock);
}

/* Write everything queued, as the leader (lock held; dropped meanwhile). */
static void
flush_locked(struct mwal *w)
{
	struct ob_buf b = w->pending;
	int64_t maxt = w->pending_maxt;
	uint64_t target = w->queued;
	bool ok;

	w->flushing = true;
	w->pending = w->spare;
	w->pending_maxt = INT64_MIN;
	pthread_mutex_unlock(&w->lock);
	ok = w->fd >= 0 && write_all(w->fd, b.data, b.len);
	if (ok && w->fsync) {
		ok = fdatasync(w->fd) == 0;
		w->syncs++;
	}
	if (ok)
		ob_fault("mwal.synced");
	int e = errno;
	pthread_mutex_lock(&w->lock);
	w->writes++;
	if (ok) {
		if (w->fail_err == OB_ENOSPC)
			ob_info("metrics wal: there is room on the disk again: taking samples");
		w->fail_err = OB_OK;
		w->seg_bytes += b.len;
		w->written = target;
		if (maxt > w->seg_maxt)
			w->seg_maxt = maxt;
		ob_buf_reset(&b);
		w->spare = b;
		if (w->seg_bytes >= w->seg_max)
			mwal_cut_locked(w);
	} else if (w->fd >= 0 && ftruncate(w->fd, (off_t)w->seg_bytes) == 0) {
		/*
		 * (disk full, say) cut what was half written, keep the bytes queued
		 * in front of what came meanwhile, and fail this round's waiters:
		 * the next write tries again, so the log stays whole.
		 */
		if (ob_err_of_errno(e) != OB_ENOSPC)
			ob_error("metrics wal: write to segment %08u failed: %s; appends fail until"
				 " it works again", w->seg, strerror(e));
		else if (w->fail_err != OB_ENOSPC)
			ob_error("metrics wal: the disk is full (segment %08u): samples are refused"
				 " with 503 and Retry-After until there is room; nothing"
				 " acknowledged is lost", w->seg);
		w->fail_err = ob_err_of_errno(e);
		if (w->pending.len)
			ob_buf_add(&b, w->pending.data, w->pending.len);
		ob_buf_reset(&w->pending);
		w->spare = w->pending;
		w->pending = b;
		if (maxt > w->pending_maxt)
			w->pending_maxt = maxt;
		w->fail_upto = target;
	} else {
		ob_error("metrics wal: write to segment %08u failed: %s; appends fail from now on",
			 w->seg, strerror(e));
		ob_buf_reset(&b);
		w->spare = b;
		w->broken = true;
	}
	w->flushing = false;
	pthread_cond_broadcast(&w->cond);
}

enum ob_err
mwal_wait(struct mwal *w, uint64_t seq, char *errbuf)
{
	enum ob_err err = OB_OK;

	pthread_mutex_lock(&w->lock);
	while (w->written < seq && !w->broken && seq > w->fail_upto) {
		if (w->flushing)
			pthread_cond_wait(&w->cond, &w->lock);
		else
			flush_locked(w);
	}
	if (w->written < seq && w->fail_err == OB_ENOSPC && !w->broken)
		err = ob_errf(errbuf, OB_ENOSPC, "the disk is full: the metrics write-ahead log"
			      " cannot be written; try again when there is room");
	else if (w->written < seq)
		err = ob_errf(errbuf, OB_EIO, "metrics write-ahead log cannot be written (see log)");
	pthread_mutex_unlock(&w->lock);
	return err;
}

enum ob_err
mwal_cut(struct mwal *w, const void *rec, size_t n, uint32_t *new_seg, char *errbuf)
{
	enum ob_err err = OB_OK;

	pthread_mutex_lock(&w->lock);
	while ((w->flushing || w->pending.len) && !w->broken) {
		if (w->flushing)
			pthread_cond_wait(&w->cond, &w->lock);
		else
			flush_locked(w);
	}
	if (w->broken || !mwal_cut_locked(w)) {
		err = ob_errf(errbuf, OB_EIO, "metrics write-ahead log cannot be written (see log)");
		goto out;
	}
	if (rec && n) {
		if (!write_all(w->fd, rec, n) || (w->fsync && fdatasync(w->fd))) {
			w->broken = true;
			err = ob_errf(errbuf, OB_EIO, "metrics wal: writing a seal record: %s",
				      strerror(errno));
			goto out;
		}
		w->seg_bytes += n;
	}
	*new_seg = w->seg;
out:
	pthread_mutex_unlock(&w->lock);
	return err;
}

/* --- checkpoints --- */

void
mwal_start_file(struct ob_buf *b)
{
	ob_buf_add(b, WAL_MAGIC, WAL_HDR);
}

enum ob_err
mwal_write_file(const char *path, const uint8_t *p, size_t n, char *errbuf)
{
	char *tmp = ob_xasprintf("%s.tmp", path);
	int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
	enum ob_err err = OB_OK;

	if (fd < 0 || !write_all(fd, p, n) || fsync(fd) != 0) {
		err = ob_errf(errbuf, OB_EIO, "%s: %s", tmp, strerror(errno));
		if (fd >= 0)
			close(fd);
		unlink(tmp);
		goto out;
	}
	close(fd);
	if (rename(tmp, path) != 0) {
		err = ob_errf(errbuf, OB_EIO, "rename %s: %s", tmp, strerror(errno));
		unlink(tmp);
	}
out:
	free(tmp);
	return err;
}

enum ob_err
mwal_truncate(struct mstore *m, uint32_t upto, int64_t floor, char *errbuf)
{
	struct mwal *w = &m->wal;
	struct ob_buf b;
	enum ob_err err;
	size_t start, j = 0;
	char *path;
	DIR *d;
	struct dirent *de;

	ob_buf_init(&b, 0);
	mwal_start_file(&b);
	start = mwal_begin(&b, MWAL_SEAL);
	mwal_put_varint(&b, floor);
	mwal_put_uvarint(&b, 0);
	mwal_end(&b, start);
	for (size_t k = 0; k < MSTRIPES; k++) {
		struct mstripe *st = &m->stripes[k];
		pthread_mutex_lock(&st->lock);
		start = mwal_begin(&b, MWAL_SERIES);
		for (size_t i = 0; i < st->nbuckets; i++)
			for (struct mseries *s = st->buckets[i]; s; s = s->next)
				mwal_encode_series(&b, s);
		if (b.len > start + 9)
			mwal_end(&b, start);
		else
			b.len = start;  /* no series in this stripe */
		pthread_mutex_unlock(&st->lock);
	}
	mex_checkpoint(m, &b);
	path = ob_xasprintf("%s/checkpoint.%08u", w->dir, upto);
	err = mwal_write_file(path, b.data, b.len, errbuf);
	free(path);
	ob_buf_release(&b);
	if (err)
		return err;
	fsync_dir(w->dir);
	/* older checkpoints, then the segments whose samples are all in blocks */
	if ((d = opendir(w->dir))) {
		while ((de = readdir(d))) {
			unsigned n;
			if (sscanf(de->d_name, "checkpoint.%8u", &n) == 1 && n < upto &&
			    strlen(de->d_name) == 19) {
				path = ob_xasprintf("%s/%s", w->dir, de->d_name);
				unlink(path);
				free(path);
			}
		}
		closedir(d);
	}
	pthread_mutex_lock(&w->lock);
	for (size_t i = 0; i < w->nclosed; i++) {
		if (w->closed[i].n < upto && w->closed[i].maxt < floor) {
			path = mwal_seg_path(w, w->closed[i].n);
			unlink(path);
			free(path);
		} else {
			w->closed[j++] = w->closed[i];
		}
	}
	w->nclosed = j;
	pthread_mutex_unlock(&w->lock);
	return OB_OK;
}

