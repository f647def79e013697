/*
 * metrics_replay.c - reading the metrics WAL back at open (the format is
 * the byte table at the top of metrics_wal.c).
 *
 * Order: the newest checkpoint, then every segment in order (samples
 * below the checkpoint's floor skipped in segments older than it).
 * Replay never rejects: what the log holds was acknowledged.  SEAL records
 * drop from the head what went into blocks that exist.  A record that runs
 * past the end of the last segment, or fails its CRC as the file's last
 * record, is a torn tail: cut.  Anything else that fails is corruption:
 * replay stops there (see mstore_open).
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
#include "core/endian.h"
#include "core/log.h"
#include "core/mem.h"
#include "core/util.h"
#include "core/varint.h"
#include "store/metrics_int.h"

struct rd {
	const uint8_t *p, *end;
	bool bad;
};

static uint64_t
rd_uvarint(struct rd *r)
{
	uint64_t v = 0;
	size_t n = r->bad ? 0 : ob_get_uvarint(r->p, r->end, &v);

	if (!n)
		r->bad = true;
	r->p += n;
	return v;
}

static int64_t
rd_varint(struct rd *r)
{
	int64_t v = 0;
	size_t n = r->bad ? 0 : ob_get_varint(r->p, r->end, &v);

	if (!n)
		r->bad = true;
	r->p += n;
	return v;
}

static double
rd_f64(struct rd *r)
{
	uint64_t bits;
	double d;

	if (r->bad || r->end - r->p < 8) {
		r->bad = true;
		return 0;
	}
	bits = ob_get_le64(r->p);
	r->p += 8;
	memcpy(&d, &bits, 8);
	return d;
}

static uint8_t
rd_u8(struct rd *r)
{
	if (r->bad || r->p >= r->end) {
		r->bad = true;
		return 0;
	}
	return *r->p++;
}

/* A string copied into arena (NUL-terminated); NULL when bad. */
static char *
rd_str(struct rd *r, struct ob_arena *a)
{
	uint64_t n = rd_uvarint(r);
	char *s;

	if (r->bad || n > (uint64_t)(r->end - r->p)) {
		r->bad = true;
		return NULL;
	}
	s = ob_arena_alloc(a, n + 1);
	if (!s) {
		r->bad = true;
		return NULL;
	}
	memcpy(s, r->p, n);
	s[n] = 0;
	r->p += n;
	return s;
}

static double *
rd_f64s(struct rd *r, struct ob_arena *a, size_t *n)
{
	uint64_t k = rd_uvarint(r);
	double *v;

	if (r->bad || k > (uint64_t)(r->end - r->p) / 8) {
		r->bad = true;
		return NULL;
	}
	*n = k;
	v = ob_arena_alloc(a, k * sizeof *v + 1);
	for (size_t i = 0; v && i < k; i++)
		v[i] = rd_f64(r);
	return v;
}

static struct series_span *
rd_spans(struct rd *r, struct ob_arena *a, size_t *n)
{
	uint64_t k = rd_uvarint(r);
	struct series_span *v;

	if (r->bad || k > (uint64_t)(r->end - r->p) / 2) {
		r->bad = true;
		return NULL;
	}
	*n = k;
	v = ob_arena_alloc(a, k * sizeof *v + 1);
	for (size_t i = 0; v && i < k; i++) {
		v[i].offset = (int32_t)rd_varint(r);
		v[i].length = (uint32_t)rd_uvarint(r);
	}
	return v;
}

/* A compressed payload (raw length uvarint, zstd frame) into raw; r reads it. */
static bool
unzstd(struct rd *r, struct ob_buf *raw)
{
	uint64_t n = rd_uvarint(r);
	uint8_t *dst;

	if (r->bad || n == 0 || n > REC_MAX)
		return false;
	ob_buf_reset(raw);
	if (ob_buf_reserve(raw, n, &dst) != OB_OK)
		return false;
	size_t got = ZSTD_decompress(dst, n, r->p, (size_t)(r->end - r->p));
	if (ZSTD_isError(got) || got != n)
		return false;
	r->p = dst;
	r->end = dst + n;
	return true;
}

/* Apply one replayed float sample: never rejected. */
static void
replay_float(struct mstore *m, struct mseries *s, int64_t t, double v)
{
	struct mstripe *st = mhead_stripe(m, s);

	pthread_mutex_lock(&st->lock);
	if (t > s->maxt && t >= m->floor) {
		mhead_append_float(m, s, t, v);
		if (t > atomic_load(&m->head_maxt))
			atomic_store(&m->head_maxt, t);
		if (t < atomic_load(&m->head_mint))
			atomic_store(&m->head_mint, t);
	} else if (t != s->maxt) {
		mhead_insert_ooo(m, s, t, v);
	}
	pthread_mutex_unlock(&st->lock);
}

static bool
replay_record(struct mstore *m, uint8_t type, struct rd *r, int64_t skip_below, int64_t *maxt,
	      struct ob_arena *a)
{
	switch (type) {
	case MWAL_SERIES:
		while (r->p < r->end && !r->bad) {
			uint64_t ref = rd_uvarint(r), n = rd_uvarint(r);
			struct series_labels ls;
			if (r->bad || n > (uint64_t)(r->end - r->p) / 2 || ref >= MREF_MAX)
				return false;
			ob_arena_reset(a);
			ls.n = n;
			ls.v = ob_arena_alloc(a, n * sizeof *ls.v + 1);
			for (size_t i = 0; ls.v && i < n; i++) {
				ls.v[i].name = rd_str(r, a);
				ls.v[i].value = rd_str(r, a);
			}
			if (r->bad || !ls.v)
				return false;
			if (!mhead_create_ref(m, (uint32_t)ref, &ls))
				return false;
		}
		return !r->bad;
	case MWAL_SAMPLES: {
		int64_t base = rd_varint(r), ref = 0;
		while (r->p < r->end && !r->bad) {
			int64_t t;
			double v;
			ref += rd_varint(r);
			t = base + rd_varint(r);
			v = rd_f64(r);
			if (r->bad || ref <= 0 || ref >= MREF_MAX)
				return false;
			if (t > *maxt)
				*maxt = t;
			struct mseries *s = mhead_by_ref(m, (uint32_t)ref);
			if (s && t >= skip_below)
				replay_float(m, s, t, v);
		}
		return !r->bad;
	}
	case MWAL_HISTS:
		while (r->p < r->end && !r->bad) {
			struct series_histogram h = {0};
			uint64_t ref = rd_uvarint(r);
			ob_arena_reset(a);
			h.t = rd_varint(r);
			h.schema = (int32_t)rd_varint(r);
			h.is_int = rd_u8(r) & 1;
			h.reset_hint = rd_u8(r);
			h.zero_threshold = rd_f64(r);
			h.zero_count = rd_f64(r);
			h.count = rd_f64(r);
			h.sum = rd_f64(r);
			h.pos_spans = rd_spans(r, a, &h.npos_spans);
			h.pos = rd_f64s(r, a, &h.npos);
			h.neg_spans = rd_spans(r, a, &h.nneg_spans);
			h.neg = rd_f64s(r, a, &h.nneg);
			h.custom_values = rd_f64s(r, a, &h.ncustom);
			if (r->bad || ref == 0 || ref >= MREF_MAX)
				return false;
			if (h.t > *maxt)
				*maxt = h.t;
			struct mseries *s = mhead_by_ref(m, (uint32_t)ref);
			if (!s || h.t < skip_below)
				continue;
			struct mstripe *st = mhead_stripe(m, s);
			pthread_mutex_lock(&st->lock);
			if (h.t > s->maxt && h.t >= m->floor && mhead_append_hist(m, s, &h) &&
			    h.t > atomic_load(&m->head_maxt))
				atomic_store(&m->head_maxt, h.t);
			pthread_mutex_unlock(&st->lock);
		}
		return !r->bad;
	case MWAL_EXEMPLARS:
		while (r->p < r->end && !r->bad) {
			struct series_exemplar e = {0};
			uint64_t ref = rd_uvarint(r);
			int64_t t = rd_varint(r);
			uint64_t n;
			ob_arena_reset(a);
			e.v = rd_f64(r);
			n = rd_uvarint(r);
			if (r->bad || ref == 0 || ref >= MREF_MAX || n > (uint64_t)(r->end - r->p) / 2)
				return false;
			e.labels.n = n;
			e.labels.v = ob_arena_alloc(a, n * sizeof *e.labels.v + 1);
			for (size_t i = 0; e.labels.v && i < n; i++) {
				e.labels.v[i].name = rd_str(r, a);
				e.labels.v[i].value = rd_str(r, a);
			}
			if (r->bad || !e.labels.v)
				return false;
			struct mseries *s = mhead_by_ref(m, (uint32_t)ref);
			if (!s)
				continue;
			struct mstripe *st = mhead_stripe(m, s);
			pthread_mutex_lock(&st->lock);
			mex_add(m, s, &e, t);
			pthread_mutex_unlock(&st->lock);
		}
		return !r->bad;
	case MWAL_META: {
		struct series_meta sm;
		ob_arena_reset(a);
		sm.family = rd_str(r, a);
		sm.type = rd_u8(r);
		sm.help = rd_str(r, a);
		sm.unit = rd_str(r, a);
		if (r->bad)
			return false;
		mhead_meta_set(m, &sm, false);
		return r->p == r->end;
	}
	case MWAL_SEAL: {
		int64_t floor = rd_varint(r);
		uint64_t n = rd_uvarint(r);
		if (r->bad || n > (uint64_t)(r->end - r->p) / 29)
			return false;
		char (*ulids)[27] = ob_xcalloc(n + 1, sizeof *ulids);
		int64_t *mint = ob_xcalloc(n + 1, sizeof *mint), *mx = ob_xcalloc(n + 1, sizeof *mx);
		uint8_t *fl = ob_xcalloc(n + 1, 1);
		for (size_t i = 0; i < n && !r->bad; i++) {
			if (r->end - r->p < 26) {
				r->bad = true;
				break;
			}
			memcpy(ulids[i], r->p, 26);
			r->p += 26;
			mint[i] = rd_varint(r);
			mx[i] = rd_varint(r);
			fl[i] = rd_u8(r);
		}
		if (!r->bad)
			mseal_replay_marker(m, floor, ulids, mint, mx, fl, n);
		free(ulids);
		free(mint);
		free(mx);
		free(fl);
		return !r->bad && r->p == r->end;
	}
	default:
		return false;
	}
}

/*
 * Replay a segment's bytes (header included).  Returns how many bytes hold
 * whole, valid records; *corrupt says a record failed (CRC, type or
 * contents) rather than ran past the end.
 */
size_t
mwal_replay_buf(struct mstore *m, const uint8_t *p, size_t len, int64_t skip_below,
		bool *corrupt, int64_t *maxt)
{
	struct ob_arena a;
	struct ob_buf raw;
	size_t off = WAL_HDR;

	*corrupt = false;
	if (len < WAL_HDR || memcmp(p, WAL_MAGIC, WAL_HDR) != 0) {
		*corrupt = len >= WAL_HDR;
		return 0;
	}
	ob_arena_init(&a, 64u << 20);
	ob_buf_init(&raw, REC_MAX);
	while (off + REC_HDR + 1 <= len) {
		uint32_t n = ob_get_le32(p + off);
		struct rd r;
		if (n == 0 || n > REC_MAX) {
			*corrupt = true;
			break;
		}
		if (off + REC_HDR + n > len)
			break;
		if (ob_crc32c(0, p + off + REC_HDR, n) != ob_get_le32(p + off + 4)) {
			*corrupt = true;
			break;
		}
		r.p = p + off + REC_HDR + 1;
		r.end = p + off + REC_HDR + n;
		r.bad = false;
		uint8_t type = p[off + REC_HDR];
		if (type & MWAL_ZSTD) {
			if (!unzstd(&r, &raw)) {
				*corrupt = true;
				break;
			}
			type &= (uint8_t)~MWAL_ZSTD;
		}
		if (!replay_record(m, type, &r, skip_below, maxt, &a)) {
			*corrupt = true;
			break;
		}
		off += REC_HDR + n;
	}
	ob_arena_release(&a);
	ob_buf_release(&raw);
	return off;
}

/* --- open / close --- */

static int
cmp_u32(const void *a, const void *b)
{
	uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
	return x < y ? -1 : x > y;
}

static enum ob_err
replay_file(struct mstore *m, const char *path, int64_t skip_below, bool *torn, size_t *good,
	    bool *corrupt, int64_t *maxt, uint64_t *size, char *errbuf)
{
	int fd = open(path, O_RDONLY | O_CLOEXEC);
	struct stat stt;
	void *map = NULL;

	*good = 0;
	*size = 0;
	*corrupt = false;
	if (fd < 0 || fstat(fd, &stt) != 0) {
		int e = errno;
		if (fd >= 0)
			close(fd);
		/* a read-only open racing the writer's truncation: mstore_open retries */
		return ob_errf(errbuf, e == ENOENT ? OB_ENOTFOUND : OB_EIO, "%s: %s", path,
			       strerror(e));
	}
	*size = (uint64_t)stt.st_size;
	if (stt.st_size > 0) {
		map = mmap(NULL, (size_t)stt.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
		if (map == MAP_FAILED) {
			close(fd);
			return ob_errf(errbuf, OB_EIO, "mmap %s: %s", path, strerror(errno));
		}
		*good = mwal_replay_buf(m, map, (size_t)stt.st_size, skip_below, corrupt, maxt);
		/* a record cut short, or a bad CRC in the file's very last record: torn */
		*torn = !*corrupt ||
			(*good + REC_HDR <= (size_t)stt.st_size &&
			 *good + REC_HDR + ob_get_le32((const uint8_t *)map + *good) ==
				 (size_t)stt.st_size);
		munmap(map, (size_t)stt.st_size);
	}
	close(fd);
	if (*good < WAL_HDR && stt.st_size < WAL_HDR)
		*good = (size_t)stt.st_size;    /* an empty or headerless new segment */
	return OB_OK;
}

enum ob_err
mwal_open(struct mstore *m, char *errbuf)
{
	struct mwal *w = &m->wal;
	uint32_t *segs = NULL, ckpt = 0;
	size_t nsegs = 0, asegs = 0;
	int64_t ckpt_floor = INT64_MIN;
	enum ob_err err = OB_OK;
	DIR *d;
	struct dirent *de;
	bool stop = false;

	w->dir = ob_xasprintf("%s/obwal", m->dir);
	w->fd = -1;
	w->fsync = m->opt.fsync;
	w->seg_max = m->opt.wal_segment_bytes;
	w->pending_maxt = w->seg_maxt = INT64_MIN;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->cond, NULL);
	ob_buf_init(&w->pending, 0);
	ob_buf_init(&w->spare, 0);
	if (!m->opt.read_only && (err = ob_mkdirs(w->dir, errbuf)))
		return err;
	if (!(d = opendir(w->dir)))
		return m->opt.read_only ? OB_OK
					: ob_errf(errbuf, OB_EIO, "%s: %s", w->dir, strerror(errno));
	while ((de = readdir(d))) {
		unsigned n;
		size_t len = strlen(de->d_name);
		if (len == 8 && strspn(de->d_name, "0123456789") == 8) {
			if (nsegs == asegs) {
				asegs = asegs ? asegs * 2 : 16;
				segs = ob_xrealloc(segs, asegs * sizeof *segs);
			}
			segs[nsegs++] = (uint32_t)strtoul(de->d_name, NULL, 10);
		} else if (len == 19 && sscanf(de->d_name, "checkpoint.%8u", &n) == 1) {
			if (n > ckpt)
				ckpt = n;
		}
	}
	closedir(d);
	if (nsegs)
		qsort(segs, nsegs, sizeof *segs, cmp_u32);
	if (ckpt) {
		char *path = ob_xasprintf("%s/checkpoint.%08u", w->dir, ckpt);
		size_t good;
		bool corrupt, torn;
		int64_t mx = INT64_MIN;
		uint64_t size;
		if ((err = replay_file(m, path, INT64_MIN, &torn, &good, &corrupt, &mx, &size,
				       errbuf)) == OB_OK &&
		    (corrupt || good != size))
			ob_error("metrics wal: checkpoint %s is damaged at byte %zu; series may be "
				 "missing", path, good);
		free(path);
		if (err == OB_ENOTFOUND)
			goto out;
		err = OB_OK;
		ckpt_floor = m->floor;
	}
	for (size_t i = 0; i < nsegs; i++) {
		char *path = mwal_seg_path(w, segs[i]);
		size_t good;
		bool corrupt, torn = false, last = i + 1 == nsegs;
		int64_t mx = INT64_MIN;
		uint64_t size;
		if (stop) {
			if (!m->opt.read_only) {
				char *aside = ob_xasprintf("%s.corrupt", path);
				rename(path, aside);
				free(aside);
			}
			free(path);
			continue;
		}
		w->replay_seg = segs[i];
		err = replay_file(m, path, segs[i] < ckpt ? ckpt_floor : INT64_MIN, &torn, &good,
				  &corrupt, &mx, &size, errbuf);
		if (err) {
			free(path);
			goto out;
		}
		if (good < size) {
			if (last && torn) {
				ob_warn("metrics wal: torn record at the end of %s (byte %zu of %llu) "
					"cut", path, good, (unsigned long long)size);
			} else {
				ob_error("metrics wal: CORRUPT record in %s at byte %zu of %llu: replay "
					 "stops here; later records and segments are not loaded%s",
					 path, good, (unsigned long long)size,
					 m->opt.read_only ? "" : " (moved aside as *.corrupt)");
				stop = true;
			}
			if (!m->opt.read_only && truncate(path, (off_t)good) != 0)
				ob_error("metrics wal: cannot cut %s: %s", path, strerror(errno));
			size = good;
		}
		free(path);
		if (!m->opt.read_only) {
			if (w->nclosed == w->aclosed) {
				w->aclosed = w->aclosed ? w->aclosed * 2 : 16;
				w->closed = ob_xrealloc(w->closed, w->aclosed * sizeof *w->closed);
			}
			w->closed[w->nclosed++] =
				(struct mwal_seg){.n = segs[i], .maxt = mx, .bytes = size};
		}
	}
	/* writers always start a fresh segment */
	w->seg = nsegs ? segs[nsegs - 1] : (ckpt ? ckpt - 1 : 0);
	if (!m->opt.read_only && !mwal_cut_locked(w)) {
		err = ob_errf(errbuf, OB_EIO, "cannot start a metrics WAL segment in %s", w->dir);
		goto out;
	}
	/* a seal that wrote its blocks but not its checkpoint: finish it */
	if (!m->opt.read_only && w->marker_seg > ckpt &&
	    mwal_truncate(m, w->marker_seg, w->marker_floor, errbuf) != OB_OK)
		ob_error("metrics wal: checkpoint after replay failed: %s", errbuf);
out:
	free(segs);
	return err;
}

void
mwal_close(struct mwal *w)
{
	if (w->fd >= 0) {
		if (w->fsync)
			fdatasync(w->fd);
		close(w->fd);
	}
	w->fd = -1;
	free(w->closed);
	ob_buf_release(&w->pending);
	ob_buf_release(&w->spare);
	pthread_mutex_destroy(&w->lock);
	pthread_cond_destroy(&w->cond);
	free(w->dir);
}
