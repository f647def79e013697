/*
 * metrics_append.c - mstore_append: the per-sample rules of metrics.h, the
 * head insert and the WAL record of one write.
 *
 * One call holds m->rw shared while it decides and inserts (so a seal's
 * switch never falls in the middle of a write) and queues its WAL records
 * before releasing it (so the WAL order agrees with the head's with
 * respect to seals); it then waits for the group commit without any lock.
 * Each series is handled under its stripe's lock: lookup (or creation,
 * which logs the series record first), then every sample of that series.
 * No allocation per sample: samples are encoded straight into the call's
 * record buffer.
 */
#include <stdio.h>
#include <string.h>

#include "core/log.h"
#include "core/mem.h"
#include "core/clock.h"
#include "store/metrics_int.h"

#define REC_SPLIT (16u << 20)

const char *
mstore_reject_str(enum mstore_reject r)
{
	switch (r) {
	case MSTORE_REJECT_NONE:
		return "none";
	case MSTORE_REJECT_LABELS:
		return "invalid labels";
	case MSTORE_REJECT_TOO_OLD:
		return "out of bounds";
	case MSTORE_REJECT_DUPLICATE:
		return "duplicate sample for timestamp";
	case MSTORE_REJECT_HISTOGRAM:
		return "invalid or out-of-order histogram";
	case MSTORE_REJECT_FUTURE:
		return "too far in the future";
	}
	return "?";
}

struct app {
	struct mstore *m;
	struct ob_buf rec, hrec, erec;
	size_t rec_start, hrec_start, erec_start;
	bool rec_open, hrec_open, erec_open;
	int64_t base, prev_ref, maxt;
	struct mstore_append_result *res;
	bool series_rejected;
};

static void
reject(struct app *a, const struct series_labels *ls, int64_t t, enum mstore_reject why,
       size_t n)
{
	struct mstore_append_result *res = a->res;

	res->rejected += n;
	if (!a->series_rejected) {
		res->rejected_series++;
		a->series_rejected = true;
	}
	if (res->first_reason == MSTORE_REJECT_NONE) {
		res->first_reason = why;
		res->first_t = t;
		mhead_labels_string(ls, res->first_series, sizeof res->first_series);
	}
}

static void
log_float(struct app *a, uint32_t ref, int64_t t, double v)
{
	if (a->rec_open && a->rec.len - a->rec_start > REC_SPLIT) {
		mwal_end(&a->rec, a->rec_start);
		mwal_compress(&a->rec, a->rec_start);
		a->rec_open = false;
	}
	if (!a->rec_open) {
		a->rec_start = mwal_begin(&a->rec, MWAL_SAMPLES);
		a->base = t;
		a->prev_ref = 0;
		mwal_put_varint(&a->rec, t);
		a->rec_open = true;
	}
	mwal_put_varint(&a->rec, (int64_t)ref - a->prev_ref);
	mwal_put_varint(&a->rec, t - a->base);
	mwal_put_f64(&a->rec, v);
	a->prev_ref = ref;
	if (t > a->maxt)
		a->maxt = t;
}

static void
log_hist(struct app *a, uint32_t ref, const struct series_histogram *h)
{
	if (a->hrec_open && a->hrec.len > REC_SPLIT) {
		mwal_end(&a->hrec, a->hrec_start);
		a->hrec_open = false;
	}
	if (!a->hrec_open) {
		a->hrec_start = mwal_begin(&a->hrec, MWAL_HISTS);
		a->hrec_open = true;
	}
	mwal_encode_hist(&a->hrec, ref, h);
	if (h->t > a->maxt)
		a->maxt = h->t;
}

static bool
same_bits(double a, double b)
{
	return memcmp(&a, &b, sizeof a) == 0;
}

static void
bump_max(atomic_llong *x, int64_t t)
{
	long long cur = atomic_load(x);

	while (t > cur && !atomic_compare_exchange_weak(x, &cur, t))
		;
}

static void
bump_min(atomic_llong *x, int64_t t)
{
	long long cur = atomic_load(x);

	while (t < cur && !atomic_compare_exchange_weak(x, &cur, t))
		;
}

/* One series' samples (stripe lock held). */
static void
append_series(struct app *a, struct mseries *s, const struct series_in *in, int64_t floor,
	      int64_t ooo_min, int64_t future, unsigned flags)
{
	struct mstore *m = a->m;
	struct mstore_append_result *res = a->res;

	for (size_t i = 0; i < in->nsamples; i++) {
		int64_t t = in->samples[i].t;
		double v = in->samples[i].v, old;
		if (t > future && !(flags & MSTORE_APPEND_HISTORICAL)) {
			reject(a, &in->labels, t, MSTORE_REJECT_FUTURE, 1);
			continue;
		} else if (t > s->maxt && t >= floor) {
			mhead_append_float(m, s, t, v);
			bump_max(&m->head_maxt, t);
			bump_min(&m->head_mint, t);
		} else if (t == s->maxt && s->last_kind == 1) {
			if (same_bits(v, s->last_v))
				res->duplicates++;
			else
				reject(a, &in->labels, t, MSTORE_REJECT_DUPLICATE, 1);
			continue;
		} else if ((flags & MSTORE_APPEND_HISTORICAL) || t >= ooo_min) {
			if (mhead_ooo_find(s, t, &old)) {
				if (same_bits(v, old))
					res->duplicates++;
				else
					reject(a, &in->labels, t, MSTORE_REJECT_DUPLICATE, 1);
				continue;
			}
			mhead_insert_ooo(m, s, t, v);
			res->out_of_order++;
		} else {
			reject(a, &in->labels, t, MSTORE_REJECT_TOO_OLD, 1);
			continue;
		}
		res->accepted++;
		log_float(a, s->ref, t, v);
	}
	for (size_t i = 0; i < in->nhists; i++) {
		const struct series_histogram *h = &in->hists[i];
		if (h->t > future && !(flags & MSTORE_APPEND_HISTORICAL)) {
			reject(a, &in->labels, h->t, MSTORE_REJECT_FUTURE, 1);
			continue;
		} else if (h->t > s->maxt && h->t >= floor) {
			if (!mhead_append_hist(m, s, h)) {
				reject(a, &in->labels, h->t, MSTORE_REJECT_HISTOGRAM, 1);
				continue;
			}
			bump_max(&m->head_maxt, h->t);
			bump_min(&m->head_mint, h->t);
		} else if (h->t == s->maxt && s->last_kind == 2) {
			if (same_bits(h->count, s->last_hcount) && same_bits(h->sum, s->last_hsum))
				res->duplicates++;
			else
				reject(a, &in->labels, h->t, MSTORE_REJECT_DUPLICATE, 1);
			continue;
		} else {
			reject(a, &in->labels, h->t,
			       h->t == s->maxt ? MSTORE_REJECT_DUPLICATE : MSTORE_REJECT_TOO_OLD, 1);
			continue;
		}
		res->accepted++;
		log_hist(a, s->ref, h);
	}
	for (size_t i = 0; i < in->nexemplars; i++) {
		const struct series_exemplar *e = &in->exemplars[i];
		int64_t t = e->t;
		/* no time given: the series' newest sample of this write */
		for (size_t k = 0; t == 0 && k < in->nsamples; k++)
			if (in->samples[k].t > t)
				t = in->samples[k].t;
		if (t == 0 || !mex_add(m, s, e, t)) {
			res->exemplars_dropped++;
			continue;
		}
		res->exemplars++;
		if (!a->erec_open) {
			a->erec_start = mwal_begin(&a->erec, MWAL_EXEMPLARS);
			a->erec_open = true;
		}
		mex_encode(&a->erec, s->ref, e, t);
	}
}

enum ob_err
mstore_append(struct mstore *m, const struct series_write *w, unsigned flags,
	      struct mstore_append_result *res, char *errbuf)
{
	struct app a = {.m = m, .res = res, .maxt = INT64_MIN};
	enum ob_err err = OB_OK;
	uint64_t seq = 0;
	int64_t floor, hmax, ooo_min, future = (int64_t)(ob_now_ns() / 1000000) + MSTORE_MAX_FUTURE_MS;
	long long bytes;

	memset(res, 0, sizeof *res);
	if (m->opt.read_only)
		return ob_errf(errbuf, OB_EINVAL, "the metrics store is open read-only");
	if (atomic_load(&m->closing))
		return ob_errf(errbuf, OB_ESHUTDOWN, "the metrics store is closing");
	bytes = atomic_load(&m->head_bytes);
	if (m->opt.head_max_bytes && (uint64_t)bytes > m->opt.head_max_bytes / 4 * 3)
		mstore_wake_sealer(m);
	if (m->opt.head_max_bytes && (uint64_t)bytes > m->opt.head_max_bytes)
		return ob_errf(errbuf, OB_EBUSY,
			       "metrics head is full (%lld bytes, bound %llu): sealing, retry later",
			       bytes, (unsigned long long)m->opt.head_max_bytes);
	ob_buf_init(&a.rec, 0);
	ob_buf_init(&a.hrec, 0);
	ob_buf_init(&a.erec, 0);
	for (size_t i = 0; i < w->nmeta; i++)
		mhead_meta_set(m, &w->meta[i], true);

	pthread_rwlock_rdlock(&m->rw);
	floor = m->floor;
	hmax = atomic_load(&m->head_maxt);
	/*
	 * In order means newer than the series' newest and not older than half
	 * a block range behind the head's newest sample (Prometheus's
	 * minValidTime): a new series does not open the head to any age.
	 */
	if (hmax != INT64_MIN && hmax - m->opt.block_ms / 2 > floor)
		floor = hmax - m->opt.block_ms / 2;
	if (hmax == INT64_MIN)
		hmax = floor;
	ooo_min = m->opt.ooo_window_ms > 0 && hmax > INT64_MIN + m->opt.ooo_window_ms
			  ? hmax - m->opt.ooo_window_ms
			  : INT64_MAX;
	for (size_t i = 0; i < w->nseries; i++) {
		const struct series_in *in = &w->series[i];
		uint64_t hash;
		struct mstripe *st;
		struct mseries *s;
		const char *why = NULL;

		if (in->nsamples == 0 && in->nhists == 0 && in->nexemplars == 0)
			continue;
		a.series_rejected = false;
		hash = mhead_labels_hash(&in->labels);
		st = &m->stripes[hash >> 58];
		pthread_mutex_lock(&st->lock);
		s = mhead_lookup_locked(m, st, &in->labels, hash);
		if (!s)
			s = mhead_create_locked(m, st, &in->labels, hash, &why);
		if (s)
			append_series(&a, s, in, floor, ooo_min, future, flags);
		pthread_mutex_unlock(&st->lock);
		if (!s) {
			res->exemplars_dropped += in->nexemplars;
			reject(&a, &in->labels,
			       in->nsamples ? in->samples[0].t : in->nhists ? in->hists[0].t : 0,
			       MSTORE_REJECT_LABELS, in->nsamples + in->nhists);
			if (res->first_reason == MSTORE_REJECT_LABELS &&
			    res->rejected == in->nsamples + in->nhists) {
				size_t l = strlen(res->first_series);
				snprintf(res->first_series + l, sizeof res->first_series - l, ": %s",
					 why);
			}
		}
	}
	if (a.rec_open) {
		mwal_end(&a.rec, a.rec_start);
		mwal_compress(&a.rec, a.rec_start);
	}
	if (a.hrec_open)
		mwal_end(&a.hrec, a.hrec_start);
	if (a.erec_open)
		mwal_end(&a.erec, a.erec_start);
	if (a.rec.len)
		mwal_enqueue(&m->wal, a.rec.data, a.rec.len, a.maxt, &seq);
	if (a.hrec.len)
		mwal_enqueue(&m->wal, a.hrec.data, a.hrec.len, a.maxt, &seq);
	if (a.erec.len)
		mwal_enqueue(&m->wal, a.erec.data, a.erec.len, INT64_MIN, &seq);
	pthread_rwlock_unlock(&m->rw);
	ob_buf_release(&a.rec);
	ob_buf_release(&a.hrec);
	ob_buf_release(&a.erec);

	/* series and metadata records are queued too: wait for everything queued */
	if (seq == 0 && (w->nmeta || w->nseries))
		mwal_enqueue(&m->wal, NULL, 0, INT64_MIN, &seq);
	if (seq)
		err = mwal_wait(&m->wal, seq, errbuf);
	atomic_fetch_add(&m->appended, res->accepted);
	atomic_fetch_add(&m->rejected, res->rejected);
	atomic_fetch_add(&m->duplicates, res->duplicates);
	atomic_fetch_add(&m->out_of_order, res->out_of_order);
	return err;
}
